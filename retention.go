package vigil

import (
	"context"
	"strconv"
	"time"
)

// Retention: how long a workspace's events are kept before a disposal may
// destroy them (by destroying the data keys of their periods). HIPAA asks
// that the documentation it requires be kept six years (45 CFR
// 164.316(b)(2)); seed 000 recommends seven, the default. A policy is
// only a record of intent so far: nothing is destroyed by it yet.

// Retention periods, in days, as the policy states them: six and seven
// years with their leap days.
const (
	DefaultRetentionDays  = 2557   // seven years
	MinHIPAARetentionDays = 2192   // six years: the HIPAA minimum
	MaxRetentionDays      = 36_525 // a hundred years: beyond it a number is a mistake
)

// RetentionPolicy is a workspace's retention policy.
type RetentionPolicy struct {
	Workspace string
	Days      int
	// HIPAA says the workspace is subject to HIPAA, so its retention may
	// not be shorter than six years. Only a policy that says false (the
	// workspace is explicitly not subject to HIPAA) may be shorter.
	HIPAA bool
	// Set says the policy was set, not the default; UpdatedAt and
	// UpdatedBy (the admin key) say when and by whom.
	Set       bool
	UpdatedAt time.Time
	UpdatedBy string
}

// DefaultRetentionPolicy is the policy of a workspace that never set one.
func DefaultRetentionPolicy(workspace string) RetentionPolicy {
	return RetentionPolicy{Workspace: workspace, Days: DefaultRetentionDays, HIPAA: true}
}

// Check refuses a policy out of bounds, naming the field.
func (p RetentionPolicy) Check() error {
	switch {
	case p.Days < 1 || p.Days > MaxRetentionDays:
		return Invalid(ErrorDetail{Field: "retention_days", Message: "must be between 1 and " + strconv.Itoa(MaxRetentionDays) + " days"})
	case p.HIPAA && p.Days < MinHIPAARetentionDays:
		return Invalid(ErrorDetail{Field: "retention_days", Message: "must be at least " + strconv.Itoa(MinHIPAARetentionDays) +
			" days (six years, 45 CFR 164.316(b)(2)) for a workspace subject to HIPAA; a workspace that is not says \"hipaa\": false"})
	}
	return nil
}

// RetentionStore keeps the retention policy of each workspace.
type RetentionStore interface {
	// RetentionPolicy returns the workspace's policy, the default when
	// none was set; ENOTFOUND for an unknown workspace.
	RetentionPolicy(ctx context.Context, workspace string) (RetentionPolicy, error)
	// SetRetentionPolicy checks and stores p durably, replacing the
	// workspace's policy, and returns it as stored.
	SetRetentionPolicy(ctx context.Context, p RetentionPolicy) (RetentionPolicy, error)
}

// LegalHold blocks every destruction of what it covers (disposal past
// retention, erasure on request) until it is released: the events of a
// tenant, of a patient, of a time range, or of what several of these
// narrow down together.
type LegalHold struct {
	ID        string // UUIDv7
	Workspace string
	TenantID  string // "" for every tenant
	PatientID string // "" for every patient
	// From, To: the events recorded (created_at) in [From, To); a zero
	// bound is open. Recorded time, not the client's occurred_at, because
	// what a destruction destroys are the data keys of recorded periods.
	From, To  time.Time
	Reason    string
	CreatedBy string // the admin key's id
	CreatedAt time.Time

	// Set when it is released, by whom and why.
	ReleasedAt    time.Time
	ReleasedBy    string
	ReleaseReason string
}

// Active reports whether the hold still blocks destruction.
func (h LegalHold) Active() bool { return h.ReleasedAt.IsZero() }

// Check refuses a hold that names nothing or holds an empty range, naming
// the fields.
func (h LegalHold) Check() error {
	var v fieldCheck
	v.str("reason", h.Reason, Line, MaxTextLength, true)
	v.str("tenant_id", h.TenantID, Identifier, MaxIDLength, false)
	v.str("patient_id", h.PatientID, Identifier, MaxIDLength, false)
	if h.TenantID == "" && h.PatientID == "" && h.From.IsZero() && h.To.IsZero() {
		v.add("tenant_id", "a legal hold covers a tenant, a patient or a time range (from, to): give at least one")
	}
	if !h.From.IsZero() && !h.To.IsZero() && !h.From.Before(h.To) {
		v.add("to", "must be after from")
	}
	if len(v.details) > 0 {
		return Invalid(v.details...)
	}
	return nil
}

// HoldSubject is what a destruction would destroy: the events of a
// tenant, of a patient ("" for every one) recorded in [From, To) (a zero
// bound is open).
type HoldSubject struct {
	TenantID  string
	PatientID string
	From, To  time.Time
}

// Covers reports whether the hold, if active, covers some of what s
// names: each criterion the hold has meets s's (a subject of every
// tenant meets a hold of one), and the time ranges overlap.
func (h LegalHold) Covers(s HoldSubject) bool {
	meets := func(held, asked string) bool { return held == "" || asked == "" || held == asked }
	if !h.Active() || !meets(h.TenantID, s.TenantID) || !meets(h.PatientID, s.PatientID) {
		return false
	}
	if !h.To.IsZero() && !s.From.IsZero() && !s.From.Before(h.To) {
		return false
	}
	if !h.From.IsZero() && !s.To.IsZero() && !h.From.Before(s.To) {
		return false
	}
	return true
}

// LegalHolds keeps the legal holds of each workspace. A later disposal
// and erasure ask Covers before destroying anything, and destroy nothing
// it returns a hold for.
type LegalHolds interface {
	// CreateLegalHold checks and stores h durably under an id it
	// assigns (CreatedAt and CreatedBy are the caller's) and returns it
	// as stored.
	CreateLegalHold(ctx context.Context, h LegalHold) (LegalHold, error)
	// LegalHold returns one hold; ENOTFOUND when the workspace has none
	// of that id.
	LegalHold(ctx context.Context, workspace, id string) (LegalHold, error)
	// LegalHoldsOf returns every hold of the workspace, released ones
	// too, oldest first.
	LegalHoldsOf(ctx context.Context, workspace string) ([]LegalHold, error)
	// ReleaseLegalHold releases an active hold, recording who and why;
	// ECONFLICT when it was released before, ENOTFOUND when there is no
	// such hold.
	ReleaseLegalHold(ctx context.Context, workspace, id, by, reason string, at time.Time) (LegalHold, error)
	// Covers returns the active holds of the workspace that cover some of
	// what s names; none means a destruction of it is not on hold.
	Covers(ctx context.Context, workspace string, s HoldSubject) ([]LegalHold, error)
}
