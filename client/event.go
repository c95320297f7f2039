package client

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil/api"
)

// Outcome of the recorded access.
type Outcome string

// The four outcomes (FHIR AuditEvent 0, 4, 8, 12).
const (
	Success        Outcome = "success"
	MinorFailure   Outcome = "minor_failure"
	Failure        Outcome = "failure"
	SeriousFailure Outcome = "serious_failure"
)

// Resource is what an event touched.
type Resource struct {
	Type, ID, Name string
}

// Target is one further object an event touched.
type Target struct {
	Type, ID, Name string
	Metadata       map[string]any
}

// Event is one access to record. ActorID and Action are required. An
// event without an IdempotencyKey gets one when it is first sent, so
// retries and spool redelivery never store it twice.
type Event struct {
	ActorID, ActorName, ActorType string
	Action, ActionCategory        string
	Resource                      Resource
	Targets                       []Target
	Metadata                      map[string]any
	TenantID, SessionID           string
	IdempotencyKey                string
	Version                       string
	OccurredAt                    time.Time // zero: the server's time
	Outcome                       Outcome   // zero: success
	PatientID, PurposeOfUse       string
	IPAddress, UserAgent, Source  string
}

// Receipt answers a recorded event. Status is "stored" or "duplicate"
// (acknowledged by the server, ID set) or "spooled" (fsync'd in the local
// spool, to be delivered).
type Receipt struct {
	ID             string
	Status         string
	IdempotencyKey string
}

// withKey gives the event an idempotency key if it has none.
func (e Event) withKey() Event {
	if e.IdempotencyKey == "" {
		id, err := uuid.NewV7()
		if err != nil {
			id = uuid.New()
		}
		e.IdempotencyKey = id.String()
	}
	return e
}

// wire converts to the API's input shape.
func (e Event) wire() (api.EventInput, error) {
	in := api.EventInput{
		ActorID: e.ActorID, ActorName: e.ActorName, ActorType: e.ActorType,
		Action: e.Action, ActionCategory: e.ActionCategory,
		Resource: e.Resource.Type, ResourceID: e.Resource.ID, ResourceName: e.Resource.Name,
		TenantID: e.TenantID, SessionID: e.SessionID, IdempotencyKey: e.IdempotencyKey, Version: api.Version(e.Version),
		Outcome: string(e.Outcome), PatientID: e.PatientID, PurposeOfUse: e.PurposeOfUse,
		IPAddress: e.IPAddress, UserAgent: e.UserAgent, Source: e.Source,
	}
	if !e.OccurredAt.IsZero() {
		in.OccurredAt = e.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	if len(e.Metadata) > 0 {
		b, err := json.Marshal(e.Metadata)
		if err != nil {
			return in, fmt.Errorf("client: metadata: %w", err)
		}
		in.Metadata = b
	}
	for _, t := range e.Targets {
		wt := api.Target{Type: t.Type, ID: t.ID, Name: t.Name}
		if len(t.Metadata) > 0 {
			b, err := json.Marshal(t.Metadata)
			if err != nil {
				return in, fmt.Errorf("client: target metadata: %w", err)
			}
			wt.Metadata = b
		}
		in.Targets = append(in.Targets, wt)
	}
	return in, nil
}
