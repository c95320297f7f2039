package vigil

import (
	"encoding/json"
	"time"
)

// Rule types. Tamper is always on and raised by the ledger's verifier.
const (
	RuleOffHours        = "off_hours"
	RuleNewCountry      = "new_country"
	RuleHighVolume      = "high_volume"
	RuleRepeatedFailure = "repeated_failure"
	RuleWatchlist       = "watchlist"
	RuleTamper          = "tamper"
)

// Alert statuses, set by investigators.
const (
	AlertOpen          = "open"
	AlertInvestigating = "investigating"
	AlertResolved      = "resolved"
	AlertFalsePositive = "false_positive"
)

// AlertRule is a workspace's rule. Conditions hold the type's parameters
// as JSON (see package alert for each type's shape).
type AlertRule struct {
	ID         string
	Workspace  string
	Name       string
	Type       string
	Conditions json.RawMessage
	Channels   []string // channel names: "email", "webhook" or configured names
	Enabled    bool
	// Version counts the rule's definitions: 1 when created, one more on
	// every update, so an alert can be traced to the definition that raised it.
	Version int
	// Throttle is the least time between two notifications of this rule
	// for one subject; alerts inside it are counted, not re-sent.
	Throttle  time.Duration
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Alert is one firing of a rule.
type Alert struct {
	ID          string
	Workspace   string
	RuleID      string
	RuleName    string
	RuleType    string
	Reason      string
	Subject     string // what the alert is about (actor, session, patient): the throttling key
	EventID     string
	EventAction string
	ActorID     string
	Sequence    int64 // of the event that triggered it; -1 for scans not tied to one event
	TriggeredAt time.Time
	NotifiedAt  time.Time // zero until a notification went out
	Suppressed  int       // notifications throttled into this one
	Status      string
	Notes       string
	TenantID    string
	RuleVersion int       // the rule's version that raised it; 0 for tamper alerts
	UpdatedAt   time.Time // of the status or notes; zero if never changed
}
