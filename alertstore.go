package vigil

import (
	"context"
	"time"
)

// AlertStore keeps alert rules and the alerts they raised.
type AlertStore interface {
	// CreateRule stores a new rule of r.Workspace, assigning ID, Version 1
	// and the times; the caller has validated it (package alert's Compile).
	CreateRule(ctx context.Context, r AlertRule) (AlertRule, error)
	// Rules lists a workspace's rules, oldest first.
	Rules(ctx context.Context, workspace string) ([]AlertRule, error)
	// Rule returns one rule; ENOTFOUND if the workspace has none by that id.
	Rule(ctx context.Context, workspace, id string) (AlertRule, error)
	// UpdateRule replaces the definition of an existing rule (name, type,
	// conditions, channels, throttle, enabled) and increments its Version;
	// ENOTFOUND if none.
	UpdateRule(ctx context.Context, r AlertRule) (AlertRule, error)
	// RuleVersions returns every definition the rule has had, oldest
	// first, each with the time it was written as UpdatedAt; ENOTFOUND if
	// none.
	RuleVersions(ctx context.Context, workspace, id string) ([]AlertRule, error)

	// Alerts answers a query, newest first.
	Alerts(ctx context.Context, q AlertQuery) (AlertPage, error)
	// Alert returns one alert; ENOTFOUND if it does not exist in the
	// workspace or lies outside tenantScope (when set).
	Alert(ctx context.Context, workspace, tenantScope, id string) (Alert, error)
	// UpdateAlert sets an alert's status and notes (nil leaves one as it
	// is); ENOTFOUND as for Alert.
	UpdateAlert(ctx context.Context, workspace, tenantScope, id string, status, notes *string) (Alert, error)
}

// AlertQuery filters GET /api/v1/alerts.
type AlertQuery struct {
	Workspace   string
	TenantScope string // when set, only alerts of this tenant
	RuleType    string
	Status      string
	From, To    time.Time // on triggered_at: from inclusive, to exclusive
	Before      string    // the cursor: alerts with an id before this one
	Limit       int
}

// AlertPage is one page of alerts. Next is the cursor of the next page
// when HasMore.
type AlertPage struct {
	Alerts  []Alert
	Total   int64 // alerts matching the filters
	HasMore bool
	Next    string
}

// Delivery is one notification waiting in the outbox: an alert for one
// channel. Alert is read when the delivery is, so it carries the count of
// alerts suppressed into it so far.
type Delivery struct {
	ID       int64
	Channel  string
	Attempts int // failed attempts so far
	Alert    Alert
}

// Outbox is the durable queue of notifications. Alerts and their
// deliveries are written in one transaction, so a stored alert is never
// without its notification and a crash loses neither.
type Outbox interface {
	// DueDeliveries returns up to limit deliveries neither delivered nor
	// given up whose next attempt is due at now, oldest first.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// Delivered marks a delivery done and its alert notified (the first
	// delivery of an alert sets its NotifiedAt).
	Delivered(ctx context.Context, id int64, at time.Time) error
	// DeliveryFailed records a failed attempt: the attempts made so far
	// and the next attempt's time, or a zero next when the delivery is
	// given up. The message must carry no secret.
	DeliveryFailed(ctx context.Context, id int64, attempts int, next time.Time, message string) error
}
