package client

import (
	"context"
	"maps"
	"time"
)

// Scope is the fluent form of Immutable's SDKs: who acts, in which
// session and tenant, for which patient and why; then Track what they
// did:
//
//	c.Actor("dr_m4k8p2", "Dr. Emily Nakamura", "physician").
//		Session("sess_e4a2c8f1").Tenant("clinic_bayview").Patient("pt_1").Purpose("TREAT").
//		Track(ctx, "patient_record.viewed", client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d"})
//
// A Scope is a value: every method returns a changed copy, so a scope can
// be built once per request or session and shared between goroutines.
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

// Tenant sets the tenant (the clinic or organisation whose trail it is).
func (s Scope) Tenant(id string) Scope { s.base.TenantID = id; return s }

// Patient sets the surrogate id of the patient whose PHI is touched.
func (s Scope) Patient(id string) Scope { s.base.PatientID = id; return s }

// Purpose sets the purpose of use (HL7 codes such as TREAT, HPAYMT,
// HOPERAT, or ETREAT for break-glass access).
func (s Scope) Purpose(p string) Scope { s.base.PurposeOfUse = p; return s }

// Source names the reporting system or module.
func (s Scope) Source(src string) Scope { s.base.Source = src; return s }

// From sets the end user's IP address and user agent. Without an IP
// address the server records the address the event came from, which for
// an SDK is the application's own.
func (s Scope) From(ip, userAgent string) Scope {
	s.base.IPAddress, s.base.UserAgent = ip, userAgent
	return s
}

// Event returns the event the scope would track, for Guard, TrackBatch or
// Middleware extractors.
func (s Scope) Event(action string, r Resource, opts ...TrackOption) Event {
	e := s.base
	e.Action, e.Resource = action, r
	for _, o := range opts {
		o.apply(&e)
	}
	return e
}

// Track records action on r in this scope; see Client.Track.
func (s Scope) Track(ctx context.Context, action string, r Resource, opts ...TrackOption) (Receipt, error) {
	return s.c.Track(ctx, s.Event(action, r, opts...))
}

// TrackOption adds to one event tracked through a Scope: Metadata,
// Targets, an Outcome (client.Failure or client.Outcome("failure")), At,
// Key or Category.
type TrackOption interface{ apply(*Event) }

type optionFunc func(*Event)

func (f optionFunc) apply(e *Event) { f(e) }

func (o Outcome) apply(e *Event) { e.Outcome = o }

// Metadata adds keys to the event's metadata (surrogate identifiers
// only: never PHI). The map is copied.
func Metadata(m map[string]any) TrackOption {
	return optionFunc(func(e *Event) {
		out := make(map[string]any, len(e.Metadata)+len(m))
		maps.Copy(out, e.Metadata)
		maps.Copy(out, m)
		e.Metadata = out
	})
}

// Targets adds further objects the event touched.
func Targets(ts ...Target) TrackOption {
	return optionFunc(func(e *Event) {
		e.Targets = append(e.Targets[:len(e.Targets):len(e.Targets)], ts...)
	})
}

// At sets when the access happened (default: when Track is called).
func At(t time.Time) TrackOption { return optionFunc(func(e *Event) { e.OccurredAt = t }) }

// Key sets the idempotency key (default: a new UUIDv7). Give one derived
// from the application's own id for the access when the same access may
// be tracked again, by a retried job say.
func Key(k string) TrackOption { return optionFunc(func(e *Event) { e.IdempotencyKey = k }) }

// Category sets the action category.
func Category(cat string) TrackOption { return optionFunc(func(e *Event) { e.ActionCategory = cat }) }
