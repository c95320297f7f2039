package client

import (
	"context"
	"time"
)

// Scope is the fluent form of Immutable's SDKs: who acts, in which
// session, tenant and for which patient, then Track what they did:
//
//	c.Actor("dr_m4k8p2", "Dr. Emily Nakamura", "physician").
//		Session("sess_e4a2c8f1").Tenant("clinic_bayview").Patient("pt_1").Purpose("TREAT").
//		Track(ctx, "patient_record.viewed", client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d"})
//
// A Scope is a value: each method returns a copy, so scopes can be kept
// and shared between goroutines.
type Scope struct {
	c    *Client
	base Event
}

// Actor starts a scope for an actor; name and type may be empty.
func (c *Client) Actor(id, name, typ string) Scope {
	return Scope{c: c, base: Event{ActorID: id, ActorName: name, ActorType: typ}}
}

// Session sets the session id.
func (s Scope) Session(id string) Scope { s.base.SessionID = id; return s }

// Tenant sets the tenant id.
func (s Scope) Tenant(id string) Scope { s.base.TenantID = id; return s }

// Patient sets the surrogate id of the patient whose PHI is touched.
func (s Scope) Patient(id string) Scope { s.base.PatientID = id; return s }

// Purpose sets the purpose of use (TREAT, HOPERAT, ETREAT for break-glass...).
func (s Scope) Purpose(p string) Scope { s.base.PurposeOfUse = p; return s }

// Source names the reporting system.
func (s Scope) Source(src string) Scope { s.base.Source = src; return s }

// From sets the end user's IP address and user agent.
func (s Scope) From(ip, userAgent string) Scope {
	s.base.IPAddress, s.base.UserAgent = ip, userAgent
	return s
}

// TrackOption adds to one tracked event.
type TrackOption func(*Event)

// Metadata sets the event's metadata (surrogate ids only: never PHI).
func Metadata(m map[string]any) TrackOption { return func(e *Event) { e.Metadata = m } }

// Targets adds further objects the event touched.
func Targets(ts ...Target) TrackOption {
	return func(e *Event) { e.Targets = append(e.Targets, ts...) }
}

// WithOutcome sets the outcome (default success).
func WithOutcome(o Outcome) TrackOption { return func(e *Event) { e.Outcome = o } }

// At sets when the access happened (default: when the server stores it).
func At(t time.Time) TrackOption { return func(e *Event) { e.OccurredAt = t } }

// Key sets the idempotency key (default: a new UUIDv7).
func Key(k string) TrackOption { return func(e *Event) { e.IdempotencyKey = k } }

// Category sets the action category.
func Category(cat string) TrackOption { return func(e *Event) { e.ActionCategory = cat } }

// Event returns the event the scope would track, for Guard and batches.
func (s Scope) Event(action string, r Resource, opts ...TrackOption) Event {
	e := s.base
	e.Action, e.Resource = action, r
	e.Targets = append([]Target(nil), s.base.Targets...)
	for _, o := range opts {
		o(&e)
	}
	return e
}

// Track records action on r in this scope.
func (s Scope) Track(ctx context.Context, action string, r Resource, opts ...TrackOption) (Receipt, error) {
	return s.c.Track(ctx, s.Event(action, r, opts...))
}
