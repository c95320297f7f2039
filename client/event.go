package client

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil/api"
)

// Outcome says whether the recorded access succeeded: FHIR AuditEvent's
// outcome codes 0, 4, 8 and 12, named as the server names them. An Outcome
// is also a TrackOption, so client.Failure (or client.Outcome("failure"))
// can be passed to Track.
type Outcome string

// The four outcomes.
const (
	Success        Outcome = "success"         // FHIR 0
	MinorFailure   Outcome = "minor_failure"   // FHIR 4, e.g. a malformed request
	Failure        Outcome = "failure"         // FHIR 8, e.g. access denied
	SeriousFailure Outcome = "serious_failure" // FHIR 12, the system itself failed
)

func (o Outcome) valid() bool {
	switch o {
	case "", Success, MinorFailure, Failure, SeriousFailure:
		return true
	}
	return false
}

// Resource is the object an event touched (Immutable's resource,
// resource_id and resource_name).
type Resource struct {
	Type, ID, Name string
}

// Target is one further object an event touched.
type Target struct {
	Type, ID, Name string
	Metadata       map[string]any
}

// Event is one access to record. It is a friendlier form of the wire type
// api.EventInput (a Resource instead of three strings, a map for metadata,
// time.Time for occurred_at); Track converts it. ActorID and Action are
// required.
//
// Track fills two fields the caller leaves empty, once, before the first
// attempt, so that every retry and every redelivery from the spool sends
// the same bytes: IdempotencyKey gets a new UUIDv7, and OccurredAt gets the
// time of the Track call (an event delivered from the spool an hour later
// still says when the access happened).
//
// The server keeps one event per idempotency key and tenant: the same
// event sent again is answered as a duplicate of the first (success, with
// the first one's id), and other content under a key it holds is refused
// with a 409 conflict (an *Error with Code "conflict" naming the first
// event's sequence), which no retry changes. A key names one event: give
// each event its own.
type Event struct {
	ActorID, ActorName, ActorType string
	Action, ActionCategory        string
	Resource                      Resource
	Targets                       []Target
	Metadata                      map[string]any // surrogate identifiers only: never PHI
	TenantID, SessionID           string
	PatientID, PurposeOfUse       string
	Outcome                       Outcome // empty: success
	IPAddress, UserAgent, Source  string  // the end user's address and agent; the reporting system
	IdempotencyKey                string
	Version                       string
	OccurredAt                    time.Time
}

// Receipt answers a recorded event. Status is "stored" or "duplicate"
// (acknowledged by the server; ID is the stored event's id; a duplicate is
// an event the server already held under the same idempotency key with
// the same content, and ID is that first one's), or "spooled" (fsync'd in
// the local spool, to be delivered; ID is empty). Both "stored" and
// "duplicate" mean the event is on record.
type Receipt struct {
	ID             string
	Status         string
	IdempotencyKey string
}

// newKey returns a fresh idempotency key: a UUIDv7, so keys sort by
// creation time like the server's own ids.
func newKey() string {
	// NewV7 fails only when the system's randomness does, and since Go
	// 1.24 crypto/rand crashes the program then rather than returning.
	return uuid.Must(uuid.NewV7()).String()
}

// prepare fills the key and time, checks what the server would refuse
// for certain, and converts to the wire shape.
func (e Event) prepare(now time.Time) (api.EventInput, error) {
	if e.IdempotencyKey == "" {
		e.IdempotencyKey = newKey()
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = now
	}
	if err := e.validate(); err != nil {
		return api.EventInput{}, err
	}
	return e.wire()
}

// wire converts to the API's input shape.
func (e Event) wire() (api.EventInput, error) {
	in := api.EventInput{
		ActorID: e.ActorID, ActorName: e.ActorName, ActorType: e.ActorType,
		Action: e.Action, ActionCategory: e.ActionCategory,
		Resource: e.Resource.Type, ResourceID: e.Resource.ID, ResourceName: e.Resource.Name,
		TenantID: e.TenantID, SessionID: e.SessionID, IdempotencyKey: e.IdempotencyKey,
		Version: api.Version(e.Version), Outcome: string(e.Outcome),
		PatientID: e.PatientID, PurposeOfUse: e.PurposeOfUse,
		IPAddress: e.IPAddress, UserAgent: e.UserAgent, Source: e.Source,
	}
	if !e.OccurredAt.IsZero() {
		in.OccurredAt = e.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	var err error
	if in.Metadata, err = marshalMeta(e.Metadata); err != nil {
		return in, fmt.Errorf("client: metadata: %w", err)
	}
	for i, t := range e.Targets {
		wt := api.Target{Type: t.Type, ID: t.ID, Name: t.Name}
		if wt.Metadata, err = marshalMeta(t.Metadata); err != nil {
			return in, fmt.Errorf("client: targets[%d].metadata: %w", i, err)
		}
		in.Targets = append(in.Targets, wt)
	}
	return in, nil
}

func marshalMeta(m map[string]any) (json.RawMessage, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}
