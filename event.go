package vigil

import (
	"encoding/json"
	"strings"
	"time"
)

// Outcome says whether the recorded access succeeded. The four values are
// FHIR AuditEvent's outcome codes 0, 4, 8 and 12.
type Outcome string

const (
	OutcomeSuccess        Outcome = "success"         // FHIR 0
	OutcomeMinorFailure   Outcome = "minor_failure"   // FHIR 4
	OutcomeFailure        Outcome = "failure"         // FHIR 8 (serious failure in FHIR's words, the usual "denied")
	OutcomeSeriousFailure Outcome = "serious_failure" // FHIR 12 (major failure)
)

// OutcomeMessage refuses any other outcome.
var OutcomeMessage = "must be one of " + strings.Join([]string{string(OutcomeSuccess), string(OutcomeMinorFailure),
	string(OutcomeFailure), string(OutcomeSeriousFailure)}, ", ")

// Valid reports whether o is one of the four outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeSuccess, OutcomeMinorFailure, OutcomeFailure, OutcomeSeriousFailure:
		return true
	}
	return false
}

// Event is one recorded access to patient data: who, which patient and
// record, what they did, when, from where, with what outcome and for what
// purpose. Once stored it never changes.
//
// Empty strings mean "absent": the API never stores an empty optional field.
type Event struct {
	// Assigned by the store.
	ID        string    // UUIDv7, time-ordered
	Workspace string    // unit of isolation
	Sequence  int64     // gap-free per workspace, from 0; the Merkle leaf index
	CreatedAt time.Time // server time, UTC, nanoseconds

	ActorID   string
	ActorName string
	ActorType string

	Action         string
	ActionCategory string

	Resource     string // resource type
	ResourceID   string
	ResourceName string

	Targets  []Target
	Metadata json.RawMessage // a JSON object in canonical form, or nil

	TenantID       string
	SessionID      string
	IdempotencyKey string
	Version        string

	Outcome      Outcome
	PatientID    string // surrogate identifier of the patient whose PHI was touched
	PurposeOfUse string // e.g. TREAT, HOPERAT, ETREAT (break-glass)
	IPAddress    string
	UserAgent    string
	Source       string // the reporting system

	// Enrichment at ingest (geolocation); covered by the ledger.
	IPCountry string
	IPCity    string
	IPRegion  string

	// IPFromConnection says IPAddress is the address the event arrived
	// from, filled in by the server because the client sent none. The
	// address is stored and covered by the ledger like any other; it is
	// not part of what the client sent, so a retry from another address
	// is still the same event (ledger.AppendContent).
	IPFromConnection bool

	OccurredAt time.Time // client's time, UTC

	// Seal, when set, says the event is sealed (encryption at rest): its
	// leaf is a version 2 leaf, which holds the identifying fields only as
	// the commitments below (ledger.SealedFields), and their values
	// travel encrypted beside it. A sealed event read back decrypted has
	// both its values and its Seal, so its leaf is written again exactly.
	Seal *Seal
}

// Seal is what a version 2 leaf holds of an event's identifying fields.
type Seal struct {
	// KeyID names the data key the values are encrypted under.
	KeyID string
	// Commitments are SHA-256(salt || value) of each present identifying
	// field, in the order of the field names; the salts are encrypted
	// with the values.
	Commitments []Commitment
}

// Commitment binds one sealed field's value without revealing it.
type Commitment struct {
	Field string
	Hash  Hash
}

// Target is one further object the event touched.
type Target struct {
	Type     string
	ID       string
	Name     string
	Metadata json.RawMessage // a JSON object in canonical form, or nil
}

// Integrity is the ledger's view of one event: its leaf hash and the leaf
// hash of the event before it (empty for the first event).
type Integrity struct {
	EventHash         string
	PreviousEventHash string
}

// AppendResult answers one appended event.
type AppendResult struct {
	ID        string
	Sequence  int64
	Duplicate bool // the idempotency key was seen before with the same content; ID is the first event's
}

// Time returns t normalised the way events store time: UTC with nanoseconds.
func Time(t time.Time) time.Time { return t.UTC().Round(0) }
