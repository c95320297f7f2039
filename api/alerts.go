package api

import "encoding/json"

// AlertRuleInput is the body of POST /api/v1/alert-rules and of
// PUT /api/v1/alert-rules/{id} (Immutable's shape plus throttle and
// enabled). Unknown fields are refused.
type AlertRuleInput struct {
	Name       string          `json:"name"`
	RuleType   string          `json:"rule_type"`
	Conditions json.RawMessage `json:"conditions,omitempty"`
	Channels   []string        `json:"channels,omitempty"`
	// Throttle is a duration ("15m", "1h", "0s"); absent means the
	// server's default period.
	Throttle *string `json:"throttle,omitempty"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
}

// AlertRule is the read shape of a rule; conditions are in normalised
// form.
type AlertRule struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	RuleType   string          `json:"rule_type"`
	Conditions json.RawMessage `json:"conditions"`
	Channels   []string        `json:"channels"`
	Throttle   string          `json:"throttle"`
	Enabled    bool            `json:"enabled"`
	Version    int             `json:"version"`
	CreatedAt  string          `json:"created_at"`
	UpdatedAt  string          `json:"updated_at"`
}

// Alert is the read shape of an alert: Immutable's (id, rule_name,
// rule_type, reason, event{id, action, actor_id}, notified_at,
// triggered_at) plus the investigation's status and notes.
type Alert struct {
	ID          string      `json:"id"`
	RuleID      *string     `json:"rule_id"`
	RuleVersion int         `json:"rule_version"`
	RuleName    string      `json:"rule_name"`
	RuleType    string      `json:"rule_type"`
	Reason      string      `json:"reason"`
	Subject     *string     `json:"subject"`
	Event       *AlertEvent `json:"event"`
	TenantID    *string     `json:"tenant_id"`
	Status      string      `json:"status"`
	Notes       *string     `json:"notes"`
	Suppressed  int         `json:"suppressed"`
	TriggeredAt string      `json:"triggered_at"`
	NotifiedAt  *string     `json:"notified_at"`
	UpdatedAt   *string     `json:"updated_at"`
}

// AlertEvent is the event that triggered an alert.
type AlertEvent struct {
	ID       *string `json:"id"`
	Action   *string `json:"action"`
	ActorID  *string `json:"actor_id"`
	Sequence int64   `json:"sequence"`
}

// AlertList answers GET /api/v1/alerts.
type AlertList struct {
	Data       []Alert    `json:"data"`
	Pagination Pagination `json:"pagination"`
}

// AlertPatch is the body of PATCH /api/v1/alerts/{id}: at least one of
// status and notes.
type AlertPatch struct {
	Status *string `json:"status,omitempty"`
	Notes  *string `json:"notes,omitempty"`
}
