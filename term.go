package vigil

// Term is one search term an index derives from an event, so that views of
// the event (FHIR AuditEvent) can be searched by elements Vigil has no
// column for. Name is the search parameter; System is a code system, or
// the resource type of a reference, or empty; Value is the code, id or
// (lower-cased) text.
type Term struct {
	Name, System, Value string
	Text                bool // Value is text searchable by prefix (TermValue.Prefix)
}

// TermFilter keeps events that have a term called Name matching any of
// Values. Several filters of one query must all hold.
type TermFilter struct {
	Name   string
	Values []TermValue
}

// TermValue is one acceptable value of a TermFilter.
type TermValue struct {
	System    string // required system, when AnySystem is false ("" means none)
	AnySystem bool   // match whatever the system
	Value     string // required value; empty with AnySystem false matches any value of System
	Prefix    bool   // Value is a prefix (string search)
}

// Order is the order of a query's answer.
type Order int

const (
	OrderSequence     Order = iota // newest recorded first (sequence descending)
	OrderOccurredDesc              // occurred_at descending, sequence breaking ties
	OrderOccurredAsc               // occurred_at ascending, sequence breaking ties
)

// Position marks the last event of a page in an occurred_at order; the
// next page starts after it.
type Position struct {
	Occurred int64 // occurred_at, Unix nanoseconds
	Sequence int64
}
