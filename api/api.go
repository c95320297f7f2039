// Package api holds the JSON shapes of Vigil's REST API, shared by the
// server and the Go client so the two cannot drift apart.
package api

import (
	"encoding/json"
	"reflect"
)

// EventInput is the body of POST /api/v1/events: Immutable's EventPayload
// plus Vigil's fields. Unknown fields are refused.
type EventInput struct {
	ActorID        string          `json:"actor_id"`
	ActorName      string          `json:"actor_name,omitempty"`
	ActorType      string          `json:"actor_type,omitempty"`
	Action         string          `json:"action"`
	ActionCategory string          `json:"action_category,omitempty"`
	Resource       string          `json:"resource,omitempty"`
	ResourceID     string          `json:"resource_id,omitempty"`
	ResourceName   string          `json:"resource_name,omitempty"`
	Targets        []Target        `json:"targets,omitempty"`
	Metadata       json.RawMessage `json:"metadata,omitempty"`
	TenantID       string          `json:"tenant_id,omitempty"`
	SessionID      string          `json:"session_id,omitempty"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	Version        Version         `json:"version,omitempty"`
	OccurredAt     string          `json:"occurred_at,omitempty"` // RFC 3339

	Outcome      string `json:"outcome,omitempty"` // success, failure, minor_failure, serious_failure
	PatientID    string `json:"patient_id,omitempty"`
	PurposeOfUse string `json:"purpose_of_use,omitempty"`
	IPAddress    string `json:"ip_address,omitempty"`
	UserAgent    string `json:"user_agent,omitempty"`
	Source       string `json:"source,omitempty"`
}

// Version accepts a JSON string or number (clients send either) and keeps
// its text.
type Version string

// UnmarshalJSON implements json.Unmarshaler.
func (v *Version) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = Version(s)
		return nil
	}
	if string(b) == "null" {
		*v = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: versionType, Field: "version"}
	}
	*v = Version(n)
	return nil
}

// Target is one further object an event touched.
type Target struct {
	Type     string          `json:"type"`
	ID       string          `json:"id"`
	Name     string          `json:"name,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// BatchInput is the body of POST /api/v1/events/batch.
type BatchInput struct {
	Events []EventInput `json:"events"`
}

// Stored answers one accepted event: status "stored" or "duplicate".
type Stored struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// BatchStored answers a batch, in the order of its events.
type BatchStored struct {
	Events []Stored `json:"events"`
}

// Event is the read shape of an event (Immutable's, plus Vigil's fields).
// Absent optional fields are null.
type Event struct {
	ID             string          `json:"id"`
	Sequence       int64           `json:"sequence"`
	Actor          Actor           `json:"actor"`
	ActorID        string          `json:"actor_id"`
	ActorName      *string         `json:"actor_name"`
	ActorType      *string         `json:"actor_type"`
	Action         string          `json:"action"`
	ActionCategory *string         `json:"action_category"`
	Resource       *Resource       `json:"resource"`
	Targets        []Target        `json:"targets"`
	Metadata       json.RawMessage `json:"metadata"`
	TenantID       *string         `json:"tenant_id"`
	SessionID      *string         `json:"session_id"`
	IPAddress      *string         `json:"ip_address"`
	IPCountry      *string         `json:"ip_country"`
	IPCity         *string         `json:"ip_city"`
	IPRegion       *string         `json:"ip_region"`
	UserAgent      *string         `json:"user_agent"`
	IdempotencyKey *string         `json:"idempotency_key"`
	Version        *string         `json:"version"`
	Outcome        string          `json:"outcome"`
	PatientID      *string         `json:"patient_id"`
	PurposeOfUse   *string         `json:"purpose_of_use"`
	Source         *string         `json:"source"`
	Integrity      *Integrity      `json:"integrity"`
	// Seal is present for a sealed event (encryption at rest): its leaf
	// is a version 2 leaf, written from the event's clear fields and
	// these (docs/ledger.md).
	Seal       *Seal  `json:"seal,omitempty"`
	OccurredAt string `json:"occurred_at"`
	CreatedAt  string `json:"created_at"`
}

// Seal is what a version 2 leaf holds of a sealed event's identifying
// fields: the data key's id and each present field's salted commitment
// (SHA-256, lower-case hex).
type Seal struct {
	KeyID       string            `json:"key_id"`
	Commitments map[string]string `json:"commitments"`
}

// Actor is who acted.
type Actor struct {
	ID   string  `json:"id"`
	Name *string `json:"name"`
	Type *string `json:"type"`
}

// Resource is what was acted on.
type Resource struct {
	Type *string `json:"type"`
	ID   *string `json:"id"`
	Name *string `json:"name"`
}

// Integrity links an event into the ledger.
type Integrity struct {
	EventHash         string  `json:"event_hash"`
	PreviousEventHash *string `json:"previous_event_hash"`
}

// Pagination follows a listing.
type Pagination struct {
	HasMore    bool    `json:"has_more"`
	NextCursor *string `json:"next_cursor"`
	Total      int64   `json:"total"`
}

// EventList answers GET /api/v1/events.
type EventList struct {
	Data       []Event    `json:"data"`
	Pagination Pagination `json:"pagination"`
}

// Data wraps a single resource.
type Data[T any] struct {
	Data T `json:"data"`
}

// Error is every error body.
type Error struct {
	Error   string        `json:"error"`
	Message string        `json:"message"`
	Details []ErrorDetail `json:"details"`
}

// ErrorDetail names one problem with one field; Index is the item's
// position in a batch.
type ErrorDetail struct {
	Field   string `json:"field,omitempty"`
	Index   *int   `json:"index,omitempty"`
	Message string `json:"message"`
}

// KeyInput is the body of POST /api/v1/keys.
type KeyInput struct {
	Role     string  `json:"role"`
	TenantID *string `json:"tenant_id,omitempty"` // absent or null: every tenant; "" is refused
	Name     string  `json:"name,omitempty"`
}

// Key describes an API key. Secret is present only in the answer that
// created it.
type Key struct {
	ID        string  `json:"id"`
	Workspace string  `json:"workspace"`
	Role      string  `json:"role"`
	TenantID  *string `json:"tenant_id"`
	Name      *string `json:"name"`
	Hint      string  `json:"hint"`
	CreatedAt string  `json:"created_at"`
	RevokedAt *string `json:"revoked_at"`
	Secret    string  `json:"secret,omitempty"`
}

// Proof answers GET /api/v1/events/{id}/proof.
type Proof struct {
	LeafIndex int64    `json:"leaf_index"`
	TreeSize  int64    `json:"tree_size"`
	LeafHash  string   `json:"leaf_hash"`
	Hashes    []string `json:"hashes"`
}

// Consistency answers GET /api/v1/ledger/consistency.
type Consistency struct {
	First  int64    `json:"first"`
	Second int64    `json:"second"`
	Hashes []string `json:"hashes"`
}

// Leaves answers GET /api/v1/ledger/leaves: the events [from, to) of the
// log as stored, in sequence order, in the read shape of GET /events, and
// the stored roots of the complete subtrees that tile [0, from) and
// [to, tree_size), left to right. A verifier derives each event's leaf,
// recomputes the root of the tree of tree_size leaves from them and the
// subtrees, and compares it with a signed checkpoint of that size.
type Leaves struct {
	TreeSize int64     `json:"tree_size"`
	From     int64     `json:"from"`
	To       int64     `json:"to"`
	Events   []Event   `json:"events"`
	Subtrees []Subtree `json:"subtrees"`
}

// Subtree is the stored root of the complete subtree of 2^level leaves
// starting at leaf index<<level.
type Subtree struct {
	Level int    `json:"level"`
	Index int64  `json:"index"`
	Hash  string `json:"hash"`
}

// Verification answers GET /api/v1/verify (Immutable's shape).
type Verification struct {
	Valid         bool    `json:"valid"`
	EventsChecked int64   `json:"events_checked"`
	TreeSize      int64   `json:"tree_size"`
	Breaks        []Break `json:"breaks"`
}

// Break is one thing verification found wrong.
type Break struct {
	EventID      *string `json:"event_id"`
	Sequence     *int64  `json:"sequence"`
	Type         string  `json:"type"`
	ExpectedHash *string `json:"expected_hash"`
	ActualHash   *string `json:"actual_hash"`
	Detail       string  `json:"detail,omitempty"`
}

var versionType = reflect.TypeFor[string]()
