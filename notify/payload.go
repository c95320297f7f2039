package notify

import (
	"time"

	"github.com/vigilhq/vigil"
)

// Payload is the JSON body of a webhook delivery, the alert in the shape
// GET /api/v1/alerts uses (Immutable's: id, rule_name, rule_type, reason,
// event{id, action, actor_id}, triggered_at) plus what a receiver needs to
// route and dedupe it. Absent values are null, as in the API.
//
//	{
//	  "id": "0195...",                  the alert's id: the same on every retry
//	  "workspace": "clinic",
//	  "tenant_id": "clinic_bayview_medical",
//	  "rule_id": "0194...",             null for the built-in tamper alerts
//	  "rule_name": "Off-Hours PHI Access",
//	  "rule_type": "off_hours",
//	  "reason": "Actor dr_m4k8p2 performed ...",
//	  "subject": "dr_m4k8p2",           actor, session or patient id the alert is about
//	  "status": "open",
//	  "suppressed": 0,                  alerts throttled into this one
//	  "event": {"id": "0195...", "action": "patient_record.viewed", "actor_id": "dr_m4k8p2", "sequence": 42},
//	  "triggered_at": "2026-03-04T10:15:00.123456789Z"
//	}
//
// event is null for alerts not tied to one event (some tamper findings).
type Payload struct {
	ID          string        `json:"id"`
	Workspace   string        `json:"workspace"`
	TenantID    *string       `json:"tenant_id"`
	RuleID      *string       `json:"rule_id"`
	RuleName    string        `json:"rule_name"`
	RuleType    string        `json:"rule_type"`
	Reason      string        `json:"reason"`
	Subject     *string       `json:"subject"`
	Status      string        `json:"status"`
	Suppressed  int           `json:"suppressed"`
	Event       *PayloadEvent `json:"event"`
	TriggeredAt time.Time     `json:"triggered_at"`
}

// PayloadEvent is the event that triggered an alert.
type PayloadEvent struct {
	ID       *string `json:"id"`
	Action   *string `json:"action"`
	ActorID  *string `json:"actor_id"`
	Sequence int64   `json:"sequence"`
}

// NewPayload returns the webhook body of a.
func NewPayload(a vigil.Alert) Payload {
	p := Payload{
		ID:          a.ID,
		Workspace:   a.Workspace,
		TenantID:    optional(a.TenantID),
		RuleID:      optional(a.RuleID),
		RuleName:    a.RuleName,
		RuleType:    a.RuleType,
		Reason:      a.Reason,
		Subject:     optional(a.Subject),
		Status:      a.Status,
		Suppressed:  a.Suppressed,
		TriggeredAt: a.TriggeredAt.UTC(),
	}
	if p.Status == "" {
		p.Status = vigil.AlertOpen
	}
	if a.EventID != "" || a.Sequence >= 0 {
		p.Event = &PayloadEvent{ID: optional(a.EventID), Action: optional(a.EventAction), ActorID: optional(a.ActorID), Sequence: a.Sequence}
	}
	return p
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
