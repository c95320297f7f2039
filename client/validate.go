package client

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigilhq/vigil/api"
)

// The server's limits and time range, repeated here because the SDK shares
// only wire types with the server (a test checks they agree).
const (
	MaxIDLength   = 255  // identifiers: ids, actions, types, tenants
	MaxTextLength = 1024 // names, user agents, sources
	MaxTargets    = 100
	MinYear       = 1970 // occurred_at lies in the years MinYear to MaxYear, UTC
	MaxYear       = 2200
)

// validate repeats the server's cheap checks, so that an event the server
// would refuse fails at Track instead of sitting in the spool until the
// sender sets it aside. The server stays the authority: what passes here
// may still be refused there (an invalid IP address, metadata that cannot
// be put in canonical form).
func (e Event) validate() error {
	var ds []api.ErrorDetail
	check := func(field, s string, required, id bool) {
		max := MaxTextLength
		if id {
			max = MaxIDLength
		}
		switch {
		case required && strings.TrimSpace(s) == "":
			ds = append(ds, api.ErrorDetail{Field: field, Message: "is required"})
		case len(s) > max:
			ds = append(ds, api.ErrorDetail{Field: field, Message: "must be at most " + strconv.Itoa(max) + " bytes"})
		case !utf8.ValidString(s):
			ds = append(ds, api.ErrorDetail{Field: field, Message: "must be valid UTF-8"})
		default:
			if r, at, ok := refusedChar(s, id); ok {
				ds = append(ds, api.ErrorDetail{Field: field, Message: fmt.Sprintf("must not contain U+%04X (at byte %d)", r, at)})
			}
		}
	}
	for _, f := range []struct {
		name, v      string
		required, id bool
	}{
		{"actor_id", e.ActorID, true, true}, {"action", e.Action, true, true}, {"actor_name", e.ActorName, false, false},
		{"actor_type", e.ActorType, false, true}, {"action_category", e.ActionCategory, false, true},
		{"resource", e.Resource.Type, false, true}, {"resource_id", e.Resource.ID, false, true},
		{"resource_name", e.Resource.Name, false, false}, {"tenant_id", e.TenantID, false, true},
		{"session_id", e.SessionID, false, true}, {"idempotency_key", e.IdempotencyKey, false, true},
		{"version", e.Version, false, true}, {"patient_id", e.PatientID, false, true},
		{"purpose_of_use", e.PurposeOfUse, false, true}, {"ip_address", e.IPAddress, false, true},
		{"user_agent", e.UserAgent, false, false}, {"source", e.Source, false, false},
	} {
		check(f.name, f.v, f.required, f.id)
	}
	if len(e.Targets) > MaxTargets {
		ds = append(ds, api.ErrorDetail{Field: "targets", Message: "must hold at most " + strconv.Itoa(MaxTargets) + " targets"})
	}
	for i, t := range e.Targets {
		p := "targets[" + strconv.Itoa(i) + "]."
		check(p+"type", t.Type, true, true)
		check(p+"id", t.ID, true, true)
		check(p+"name", t.Name, false, false)
	}
	if !e.Outcome.valid() {
		ds = append(ds, api.ErrorDetail{Field: "outcome", Message: "must be one of success, minor_failure, failure, serious_failure"})
	}
	if y := e.OccurredAt.UTC().Year(); !e.OccurredAt.IsZero() && (y < MinYear || y > MaxYear) {
		ds = append(ds, api.ErrorDetail{Field: "occurred_at", Message: "must lie in the years " + strconv.Itoa(MinYear) + " to " + strconv.Itoa(MaxYear) + " (UTC)"})
	}
	if len(ds) == 0 {
		return nil
	}
	return &Error{Code: "validation_failed", Message: "the event is invalid (checked by the client; not sent)", Details: ds}
}

// refusedChar finds the first character the server refuses in an
// identifier (id) or a name: control characters, line and paragraph
// separators, and in identifiers every invisible format character, in
// names the bidirectional embeddings, overrides and isolates.
func refusedChar(s string, id bool) (rune, int, bool) {
	for i, r := range s {
		switch {
		case r < 0x20 || r >= 0x7f && r <= 0x9f, r == '\u2028', r == '\u2029':
			return r, i, true
		case id && unicode.Is(unicode.Cf, r):
			return r, i, true
		case !id && (r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'):
			return r, i, true
		}
	}
	return 0, 0, false
}
