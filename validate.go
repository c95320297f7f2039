package vigil

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Validate checks the fields a client supplied. It reports every problem
// at once, each naming its field, so a client can fix a request in one go.
// Server-assigned fields are not checked.
func (e *Event) Validate() error {
	var v validator
	v.required("actor_id", e.ActorID, MaxIDLength)
	v.required("action", e.Action, MaxIDLength)
	v.optional("actor_name", e.ActorName, MaxTextLength)
	v.optional("actor_type", e.ActorType, MaxIDLength)
	v.optional("action_category", e.ActionCategory, MaxIDLength)
	v.optional("resource", e.Resource, MaxIDLength)
	v.optional("resource_id", e.ResourceID, MaxIDLength)
	v.optional("resource_name", e.ResourceName, MaxTextLength)
	v.optional("tenant_id", e.TenantID, MaxIDLength)
	v.optional("session_id", e.SessionID, MaxIDLength)
	v.optional("idempotency_key", e.IdempotencyKey, MaxIDLength)
	v.optional("version", e.Version, MaxIDLength)
	v.optional("patient_id", e.PatientID, MaxIDLength)
	v.optional("purpose_of_use", e.PurposeOfUse, MaxIDLength)
	v.optional("ip_address", e.IPAddress, MaxIDLength)
	v.optional("user_agent", e.UserAgent, MaxTextLength)
	v.optional("source", e.Source, MaxTextLength)
	if e.Outcome != "" && !e.Outcome.Valid() {
		v.add("outcome", "must be one of success, minor_failure, failure, serious_failure")
	}
	if len(e.Metadata) > MaxMetadataBytes {
		v.add("metadata", "must be at most 65536 bytes")
	}
	if len(e.Targets) > MaxTargets {
		v.add("targets", "must hold at most 100 targets")
	}
	for i, t := range e.Targets {
		p := "targets[" + strconv.Itoa(i) + "]."
		v.required(p+"type", t.Type, MaxIDLength)
		v.required(p+"id", t.ID, MaxIDLength)
		v.optional(p+"name", t.Name, MaxTextLength)
		if len(t.Metadata) > MaxMetadataBytes {
			v.add(p+"metadata", "must be at most 65536 bytes")
		}
	}
	if !e.OccurredAt.IsZero() && (e.OccurredAt.Year() < 1970 || e.OccurredAt.Year() > 9999) {
		v.add("occurred_at", "must be between 1970 and 9999")
	}
	return v.err()
}

type validator struct{ details []ErrorDetail }

func (v *validator) add(field, msg string) {
	v.details = append(v.details, ErrorDetail{Field: field, Message: msg})
}

func (v *validator) required(field, s string, max int) {
	if strings.TrimSpace(s) == "" {
		v.add(field, "is required")
		return
	}
	v.optional(field, s, max)
}

func (v *validator) optional(field, s string, max int) {
	switch {
	case len(s) > max:
		v.add(field, "must be at most "+strconv.Itoa(max)+" bytes")
	case !utf8.ValidString(s):
		v.add(field, "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		v.add(field, "must not contain NUL bytes")
	}
}

func (v *validator) err() error {
	if len(v.details) == 0 {
		return nil
	}
	return Invalid(v.details...)
}

// ValidText reports whether s is acceptable as a stored string: valid
// UTF-8 without NUL bytes.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
