package alert

import (
	"context"
	"time"
)

// Scope bounds a History look-up to the earlier events of one workspace.
// Every look-up counts events with Since <= created_at and sequence <=
// Through. Because created_at increases strictly along the sequence, the
// two bounds together are one contiguous sequence range.
type Scope struct {
	Workspace string
	// Action filters on the event's action with a '*' pattern (the query
	// filter's syntax); empty means every action.
	Action  string
	Since   time.Time // inclusive, on created_at
	Through int64     // inclusive, on sequence
}

// By names what a volume is counted per.
type By string

const (
	ByActor   By = "actor"   // actor_id
	BySession By = "session" // session_id
)

// Measure names what a volume counts.
type Measure string

const (
	Patients Measure = "patients" // distinct non-empty patient_id
	Records  Measure = "records"  // distinct (resource, resource_id) with a non-empty resource_id
	Events   Measure = "events"   // events
)

// History answers the questions the stateful rules ask about earlier
// events. The store implements it with indexed queries over stored events
// (alerttest.Memory is the reference implementation, and
// alerttest.TestHistory the conformance test for others). Errors are
// returned as they are; an evaluation that fails is retried by the caller.
type History interface {
	// Countries returns the distinct non-empty ip_country values of the
	// actor's events in scope, in any order.
	Countries(ctx context.Context, s Scope, actorID string) ([]string, error)

	// Volume counts m among the events in scope whose by-field equals key.
	Volume(ctx context.Context, s Scope, by By, key string, m Measure) (int, error)

	// Failures counts the actor's events in scope whose outcome is set and
	// is not success.
	Failures(ctx context.Context, s Scope, actorID string) (int, error)
}
