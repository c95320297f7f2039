package vigil

import "time"

// Query selects events of one workspace, newest first. Empty fields do not
// filter. TenantScope is set from the caller's key, never from the request:
// a tenant-restricted key sees only its tenant whatever TenantID asks for.
type Query struct {
	Workspace   string
	TenantScope string

	ActorID      string
	Action       string // exact, or a pattern with '*' wildcards ("patient.*")
	Resource     string
	ResourceID   string
	TenantID     string
	SessionID    string
	TargetType   string
	TargetID     string
	Search       string // substring of names, action and resource
	PatientID    string
	Outcome      Outcome
	PurposeOfUse string
	From, To     time.Time // on occurred_at; From inclusive, To exclusive

	// IDs filter on event ids: for each list, the event's id is one of
	// it (the lists are ANDed, the ids of one list ORed).
	IDs [][]string
	// CreatedFrom and CreatedTo filter on created_at, the server's time
	// of recording (FHIR's meta.lastUpdated): From inclusive, To exclusive.
	CreatedFrom, CreatedTo time.Time

	// Terms filter on the search terms an index derived from each event
	// (see Term); every filter must hold.
	Terms []TermFilter

	// Order sorts the answer; in the occurred_at orders, After continues
	// a listing after the given position, and Before is not used.
	Order Order
	After *Position

	// Before continues a listing: only events with a sequence below it.
	// Negative means "from the newest".
	Before int64
	Limit  int
}

// Page is one page of a query's answer.
type Page struct {
	Events  []Event
	HasMore bool
	Next    int64 // the Before of the next page, when HasMore
	Total   int64 // events matching the query in all pages
}
