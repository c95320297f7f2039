package http_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/fhir"
)

// A badField is a request right in every way but one value a client gave
// outside the rules: the answer is 422 naming that value's field (on the
// FHIR routes, an OperationOutcome whose expression starts with it), and
// nothing is written. TestBadInputMatrix runs every case; the tests below
// run them by rule.
type badField struct {
	rule         string // timeRange, offset, fraction, control, empty, limit
	name         string
	method, path string
	role         vigil.Role
	body         string
	field        string
}

// Values outside the time rule, in each form a client may write them.
var (
	farFuture     = []string{"2262-04-12T00:00:00Z", "2300-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2201-01-01T00:00:00Z"}
	farPast       = []string{"1969-12-31T23:59:59Z", "1677-09-21T00:00:00Z", "0001-01-01T00:00:00Z"}
	farDates      = []string{"2999-01-01", "9999-12-31", "2262-04-12", "2201-01-01", "1969-12-31", "1600-01-01"}
	badOffsets    = []string{"2024-06-15T08:30:00+24:00", "2024-06-15T08:30:00+15:00", "2024-06-15T08:30:00-14:01", "2024-06-15T08:30:00+23:59", "2024-06-15T08:30:00+05:60"}
	subNanosecond = []string{"2024-06-15T08:30:00.1234567891Z", "2024-06-15T08:30:00.0000000001Z", "2024-06-15T08:30:00.1234567890Z"}
)

// Characters no identifier may hold: C0 controls, DEL, C1 controls, the
// Unicode line and paragraph separators, and invisible format characters
// (zero-width, bidirectional overrides) that let one id pass for another.
var badIDChars = map[string]string{
	"tab": "\t", "newline": "\n", "carriage return": "\r", "bell": "\a", "escape": "\x1b", "DEL": "\x7f",
	"C1 NEL": "\u0085", "C1 CSI": "\u009b", "line separator": "\u2028", "paragraph separator": "\u2029",
	"zero width space": "\u200b", "right-to-left override": "\u202e", "left-to-right isolate": "\u2066",
	"byte order mark": "\ufeff",
}

// badNameChars are refused in names (one line of text): controls and
// separators, and the bidirectional overrides that reorder what a reader
// sees.
var badNameChars = map[string]string{
	"tab": "\t", "newline": "\n", "bell": "\a", "DEL": "\x7f", "C1 NEL": "\u0085", "line separator": "\u2028",
	"right-to-left override": "\u202e",
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// restEvent is a valid REST event with fields set (a nil value removes
// the field).
func restEvent(fields map[string]any) string {
	m := map[string]any{"actor_id": "dr_a", "action": "record.read", "occurred_at": "2024-06-15T08:30:00Z"}
	for k, v := range fields {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return jsonText(m)
}

// fhirEvent is a valid FHIR R4 AuditEvent changed by mod.
func fhirEvent(mod func(m map[string]any)) string {
	m := map[string]any{
		"resourceType": "AuditEvent",
		"type":         map[string]any{"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
		"action":       "R",
		"recorded":     "2024-06-15T08:30:00Z",
		"agent":        []any{map[string]any{"requestor": true, "who": map[string]any{"identifier": map[string]any{"value": "dr_a"}}}},
		"source":       map[string]any{"observer": map[string]any{"display": "EHR"}},
		"entity":       []any{map[string]any{"what": map[string]any{"reference": "Patient/pt_1"}}},
	}
	if mod != nil {
		mod(m)
	}
	return jsonText(m)
}

// seedEvent is a valid AuditEvent in seed 001's shape changed by mod.
func seedEvent(mod func(m map[string]any)) string {
	m := map[string]any{
		"type": "login", "action": "E", "recorded": "2024-06-15T08:30:00Z", "outcome": "0",
		"agent":  []any{map[string]any{"who": "user_1", "requestor": true}},
		"source": map[string]any{"observer": "Authentication Service"},
	}
	if mod != nil {
		mod(m)
	}
	return jsonText(m)
}

func agentWho(id string) func(map[string]any) {
	return func(m map[string]any) {
		m["agent"] = []any{map[string]any{"requestor": true, "who": map[string]any{"identifier": map[string]any{"value": id}}}}
	}
}

func badFields() []badField {
	var cs []badField
	add := func(c badField) { cs = append(cs, c) }
	q := url.QueryEscape

	// Times: the one representable range, in every form, on every route.
	outOfRange := append(append([]string{}, farFuture...), farPast...)
	for _, v := range outOfRange {
		add(badField{"timeRange", "occurred_at " + v, "POST", "/api/v1/events", vigil.RoleIngest, restEvent(map[string]any{"occurred_at": v}), "occurred_at"})
		add(badField{"timeRange", "batch occurred_at " + v, "POST", "/api/v1/events/batch", vigil.RoleIngest,
			`{"events":[` + restEvent(nil) + `,` + restEvent(map[string]any{"occurred_at": v}) + `]}`, "occurred_at"})
		add(badField{"timeRange", "FHIR recorded " + v, "POST", "/fhir/R4/AuditEvent", vigil.RoleIngest,
			fhirEvent(func(m map[string]any) { m["recorded"] = v }), "AuditEvent.recorded"})
		add(badField{"timeRange", "FHIR period.end " + v, "POST", "/fhir/R4/AuditEvent", vigil.RoleIngest,
			fhirEvent(func(m map[string]any) { m["period"] = map[string]any{"start": "2024-06-15T08:00:00Z", "end": v} }), "AuditEvent.period.end"})
		add(badField{"timeRange", "seed-001 recorded " + v, "POST", "/api/v1/audit-events", vigil.RoleIngest,
			seedEvent(func(m map[string]any) { m["recorded"] = v }), "recorded"})
	}
	for _, v := range append(append([]string{}, outOfRange...), farDates...) {
		add(badField{"timeRange", "query to " + v, "GET", "/api/v1/events?to=" + q(v), vigil.RoleAuditor, "", "to"})
		add(badField{"timeRange", "query from " + v, "GET", "/api/v1/events?from=" + q(v), vigil.RoleAuditor, "", "from"})
		add(badField{"timeRange", "alerts to " + v, "GET", "/api/v1/alerts?to=" + q(v), vigil.RoleAuditor, "", "to"})
		add(badField{"timeRange", "report to " + v, "POST", "/api/v1/reports", vigil.RoleAuditor,
			`{"type":"access_by_interval","params":{"from":"2024-01-01","to":"` + v + `"}}`, "params.to"})
		add(badField{"timeRange", "report from " + v, "POST", "/api/v1/reports", vigil.RoleAuditor,
			`{"type":"user_activity","params":{"actor_id":"a","from":"` + v + `","to":"2024-01-01"}}`, "params.from"})
		add(badField{"timeRange", "disclosures to " + v, "POST", "/api/v1/reports", vigil.RoleAuditor,
			`{"type":"disclosures","params":{"patient_id":"p","to":"` + v + `"}}`, "params.to"})
		add(badField{"timeRange", "export to " + v, "POST", "/api/v1/exports", vigil.RoleAuditor, `{"to":"` + v + `"}`, "to"})
		add(badField{"timeRange", "export from " + v, "POST", "/api/v1/exports", vigil.RoleAuditor, `{"from":"` + v + `"}`, "from"})
		add(badField{"timeRange", "seed-001 dateTo " + v, "GET", "/api/v1/audit-events?dateTo=" + q(v), vigil.RoleAuditor, "", "dateTo"})
		add(badField{"timeRange", "seed-001 dateFrom " + v, "GET", "/api/v1/audit-events?dateFrom=" + q(v), vigil.RoleAuditor, "", "dateFrom"})
		for _, prefix := range []string{"", "le", "ge", "lt", "gt"} {
			add(badField{"timeRange", "FHIR date " + prefix + v, "GET", "/fhir/R4/AuditEvent?date=" + prefix + q(v), vigil.RoleAuditor, "", "date"})
		}
	}
	for _, v := range []string{"2999", "9999", "1969", "2999-01", "1969-12", "9999-12-31T23:59", "2262-04-12T00:00"} {
		add(badField{"timeRange", "FHIR partial date " + v, "GET", "/fhir/R4/AuditEvent?date=le" + q(v), vigil.RoleAuditor, "", "date"})
		add(badField{"timeRange", "FHIR period.start " + v, "POST", "/fhir/R4/AuditEvent", vigil.RoleIngest,
			fhirEvent(func(m map[string]any) { m["period"] = map[string]any{"start": v} }), "AuditEvent.period.start"})
	}

	// Offsets: one rule (at most 14 hours either way) on every route.
	for _, v := range badOffsets {
		add(badField{"offset", "occurred_at " + v, "POST", "/api/v1/events", vigil.RoleIngest, restEvent(map[string]any{"occurred_at": v}), "occurred_at"})
		add(badField{"offset", "FHIR recorded " + v, "POST", "/fhir/R4/AuditEvent", vigil.RoleIngest, fhirEvent(func(m map[string]any) { m["recorded"] = v }), "AuditEvent.recorded"})
		add(badField{"offset", "seed-001 recorded " + v, "POST", "/api/v1/audit-events", vigil.RoleIngest, seedEvent(func(m map[string]any) { m["recorded"] = v }), "recorded"})
		add(badField{"offset", "query from " + v, "GET", "/api/v1/events?from=" + q(v), vigil.RoleAuditor, "", "from"})
		add(badField{"offset", "alerts from " + v, "GET", "/api/v1/alerts?from=" + q(v), vigil.RoleAuditor, "", "from"})
		add(badField{"offset", "FHIR date " + v, "GET", "/fhir/R4/AuditEvent?date=ge" + q(v), vigil.RoleAuditor, "", "date"})
		add(badField{"offset", "seed-001 dateFrom " + v, "GET", "/api/v1/audit-events?dateFrom=" + q(v), vigil.RoleAuditor, "", "dateFrom"})
		add(badField{"offset", "export from " + v, "POST", "/api/v1/exports", vigil.RoleAuditor, `{"from":"` + v + `"}`, "from"})
		add(badField{"offset", "report from " + v, "POST", "/api/v1/reports", vigil.RoleAuditor,
			`{"type":"access_by_interval","params":{"from":"` + v + `","to":"2025-01-01"}}`, "params.from"})
	}

	// Fractions beyond nanoseconds are refused, never cut.
	for _, v := range subNanosecond {
		add(badField{"fraction", "occurred_at " + v, "POST", "/api/v1/events", vigil.RoleIngest, restEvent(map[string]any{"occurred_at": v}), "occurred_at"})
		add(badField{"fraction", "FHIR recorded " + v, "POST", "/fhir/R4/AuditEvent", vigil.RoleIngest, fhirEvent(func(m map[string]any) { m["recorded"] = v }), "AuditEvent.recorded"})
		add(badField{"fraction", "seed-001 recorded " + v, "POST", "/api/v1/audit-events", vigil.RoleIngest, seedEvent(func(m map[string]any) { m["recorded"] = v }), "recorded"})
		add(badField{"fraction", "query to " + v, "GET", "/api/v1/events?to=" + q(v), vigil.RoleAuditor, "", "to"})
		add(badField{"fraction", "alerts to " + v, "GET", "/api/v1/alerts?to=" + q(v), vigil.RoleAuditor, "", "to"})
		add(badField{"fraction", "FHIR date " + v, "GET", "/fhir/R4/AuditEvent?date=lt" + q(v), vigil.RoleAuditor, "", "date"})
		add(badField{"fraction", "seed-001 dateTo " + v, "GET", "/api/v1/audit-events?dateTo=" + q(v), vigil.RoleAuditor, "", "dateTo"})
		add(badField{"fraction", "export to " + v, "POST", "/api/v1/exports", vigil.RoleAuditor, `{"to":"` + v + `"}`, "to"})
		add(badField{"fraction", "report to " + v, "POST", "/api/v1/reports", vigil.RoleAuditor,
			`{"type":"access_by_interval","params":{"from":"2024-01-01","to":"` + v + `"}}`, "params.to"})
	}

	// Control and invisible characters in every identifier.
	for cname, c := range badIDChars {
		id := "id" + c + "x"
		for _, f := range []string{"actor_id", "action", "actor_type", "action_category", "resource", "resource_id", "tenant_id",
			"session_id", "idempotency_key", "version", "patient_id", "purpose_of_use"} {
			add(badField{"control", f + " " + cname, "POST", "/api/v1/events", vigil.RoleIngest, restEvent(map[string]any{f: id}), f})
		}
		for _, f := range []string{"type", "id"} {
			add(badField{"control", "targets[0]." + f + " " + cname, "POST", "/api/v1/events", vigil.RoleIngest,
				restEvent(map[string]any{"targets": []any{map[string]any{"type": "t", "id": "i", f: id}}}), "targets[0]." + f})
		}
		add(badField{"control", "FHIR agent who " + cname, "POST", "/fhir/R4/AuditEvent", vigil.RoleIngest, fhirEvent(agentWho(id)), "AuditEvent.agent[0].who"})
		add(badField{"control", "FHIR patient " + cname, "POST", "/fhir/R4/AuditEvent", vigil.RoleIngest,
			fhirEvent(func(m map[string]any) {
				m["entity"] = []any{map[string]any{"what": map[string]any{"reference": "Patient/" + id}}}
			}), "AuditEvent.entity[0].what"})
		add(badField{"control", "FHIR type code " + cname, "POST", "/fhir/R4/AuditEvent", vigil.RoleIngest,
			fhirEvent(func(m map[string]any) { delete(m, "action"); m["type"] = map[string]any{"code": id} }), "AuditEvent.type.code"})
		add(badField{"control", "seed-001 agent who " + cname, "POST", "/api/v1/audit-events", vigil.RoleIngest,
			seedEvent(func(m map[string]any) { m["agent"] = []any{map[string]any{"who": id, "requestor": true}} }), "agent[0].who"})
		add(badField{"control", "key tenant_id " + cname, "POST", "/api/v1/keys", vigil.RoleAdmin, jsonText(map[string]any{"role": "auditor", "tenant_id": id}), "tenant_id"})
		add(badField{"control", "rule channel " + cname, "POST", "/api/v1/alert-rules", vigil.RoleAdmin,
			jsonText(map[string]any{"name": "r", "rule_type": "watchlist", "conditions": map[string]any{"patients": []string{"p"}}, "channels": []string{id}}), "channels[0]"})
		add(badField{"control", "rule watchlist " + cname, "POST", "/api/v1/alert-rules", vigil.RoleAdmin,
			jsonText(map[string]any{"name": "r", "rule_type": "watchlist", "conditions": map[string]any{"patients": []string{id}}}), "conditions.patients[0]"})
		add(badField{"control", "rule action pattern " + cname, "POST", "/api/v1/alert-rules", vigil.RoleAdmin,
			jsonText(map[string]any{"name": "r", "rule_type": "high_volume", "conditions": map[string]any{"action_pattern": "a." + id, "threshold": 5, "window": "1h"}}), "conditions.action_pattern"})
		add(badField{"control", "report patient_id " + cname, "POST", "/api/v1/reports", vigil.RoleAuditor,
			jsonText(map[string]any{"type": "patient_access", "params": map[string]any{"patient_id": id}}), "params.patient_id"})
		add(badField{"control", "report session_id " + cname, "POST", "/api/v1/reports", vigil.RoleAuditor,
			jsonText(map[string]any{"type": "session", "params": map[string]any{"session_id": id}}), "params.session_id"})
		add(badField{"control", "export actor_id " + cname, "POST", "/api/v1/exports", vigil.RoleAuditor, jsonText(map[string]any{"actor_id": id}), "actor_id"})
		for _, p := range []string{"actor_id", "patient_id", "resource_id", "tenant_id", "target_id"} {
			add(badField{"control", "query " + p + " " + cname, "GET", "/api/v1/events?" + p + "=" + q(id), vigil.RoleAuditor, "", p})
		}
		add(badField{"control", "FHIR search agent " + cname, "GET", "/fhir/R4/AuditEvent?agent=" + q(id), vigil.RoleAuditor, "", "agent"})
		add(badField{"control", "seed-001 search action " + cname, "GET", "/api/v1/audit-events?action=" + q(id), vigil.RoleAuditor, "", "action"})
	}
	for cname, c := range badNameChars {
		name := "Dr." + c + "Who"
		for _, f := range []string{"actor_name", "resource_name", "user_agent", "source"} {
			add(badField{"control", f + " " + cname, "POST", "/api/v1/events", vigil.RoleIngest, restEvent(map[string]any{f: name}), f})
		}
		add(badField{"control", "targets[0].name " + cname, "POST", "/api/v1/events", vigil.RoleIngest,
			restEvent(map[string]any{"targets": []any{map[string]any{"type": "t", "id": "i", "name": name}}}), "targets[0].name"})
		add(badField{"control", "key name " + cname, "POST", "/api/v1/keys", vigil.RoleAdmin, jsonText(map[string]any{"role": "auditor", "name": name}), "name"})
		add(badField{"control", "rule name " + cname, "POST", "/api/v1/alert-rules", vigil.RoleAdmin,
			jsonText(map[string]any{"name": name, "rule_type": "watchlist", "conditions": map[string]any{"patients": []string{"p"}}}), "name"})
		add(badField{"control", "query search " + cname, "GET", "/api/v1/events?search=" + q(name), vigil.RoleAuditor, "", "search"})
		add(badField{"control", "export search " + cname, "POST", "/api/v1/exports", vigil.RoleAuditor, jsonText(map[string]any{"search": name}), "search"})
	}

	// A key's tenant given empty is refused, not read as "every tenant".
	for _, v := range []string{`""`, `" "`, `"\t"`} {
		add(badField{"empty", "key tenant_id " + v, "POST", "/api/v1/keys", vigil.RoleAdmin, `{"role":"auditor","tenant_id":` + v + `}`, "tenant_id"})
	}

	// Limits: one rule per field, whatever the route.
	long := strings.Repeat("a", vigil.MaxIDLength+1)
	add(badField{"limit", "actor_id too long", "POST", "/api/v1/events", vigil.RoleIngest, restEvent(map[string]any{"actor_id": long}), "actor_id"})
	add(badField{"limit", "FHIR agent who too long", "POST", "/fhir/R4/AuditEvent", vigil.RoleIngest, fhirEvent(agentWho(long)), "AuditEvent.agent[0].who"})
	add(badField{"limit", "seed-001 agent who too long", "POST", "/api/v1/audit-events", vigil.RoleIngest,
		seedEvent(func(m map[string]any) { m["agent"] = []any{map[string]any{"who": long, "requestor": true}} }), "agent[0].who"})
	add(badField{"limit", "key tenant_id too long", "POST", "/api/v1/keys", vigil.RoleAdmin, jsonText(map[string]any{"role": "auditor", "tenant_id": long}), "tenant_id"})
	add(badField{"limit", "report actor_id too long", "POST", "/api/v1/reports", vigil.RoleAuditor,
		jsonText(map[string]any{"type": "user_activity", "params": map[string]any{"actor_id": long, "from": "2024-01-01", "to": "2024-02-01"}}), "params.actor_id"})
	add(badField{"limit", "export actor_id too long", "POST", "/api/v1/exports", vigil.RoleAuditor, jsonText(map[string]any{"actor_id": long}), "actor_id"})
	add(badField{"limit", "rule watchlist id too long", "POST", "/api/v1/alert-rules", vigil.RoleAdmin,
		jsonText(map[string]any{"name": "r", "rule_type": "watchlist", "conditions": map[string]any{"patients": []string{long}}}), "conditions.patients[0]"})
	add(badField{"limit", "query actor_id too long", "GET", "/api/v1/events?actor_id=" + long, vigil.RoleAuditor, "", "actor_id"})
	return cs
}

// check sends c and checks the answer: 422 naming c.field.
func (c badField) check(t *testing.T, e *env, keys map[vigil.Role]string) response {
	t.Helper()
	var body any
	var headers []string
	if c.body != "" {
		body = c.body
	}
	if strings.HasPrefix(c.path, "/fhir/") {
		headers = append(headers, "Prefer", "handling=strict")
	}
	r := e.do(c.method, c.path, keys[c.role], body, headers...)
	if r.status != 422 {
		t.Fatalf("status %d, want 422 naming %s: %.400s", r.status, c.field, r.body)
	}
	if !c.names(t, r) {
		t.Fatalf("the answer does not name %s: %.600s", c.field, r.body)
	}
	return r
}

// names reports whether the error answer names the case's field.
func (c badField) names(t *testing.T, r response) bool {
	t.Helper()
	if strings.HasPrefix(c.path, "/fhir/") {
		for _, x := range expressions(r.outcome(t)) {
			if x == c.field || strings.HasPrefix(x, c.field+".") {
				return true
			}
		}
		return false
	}
	var eb api.Error
	r.json(t, &eb)
	for _, d := range eb.Details {
		if d.Field == c.field || strings.HasPrefix(d.Field, c.field+".") {
			return true
		}
	}
	return false
}

// runBadFields runs the cases of one rule against one server, checking
// that none writes anything.
func runBadFields(t *testing.T, rule string) {
	e := newEnv(t)
	keys := map[vigil.Role]string{vigil.RoleIngest: e.ingest, vigil.RoleAuditor: e.auditor, vigil.RoleAdmin: e.admin}
	e.quiesce()
	before := e.dbDigest()
	n := 0
	for _, c := range badFields() {
		if c.rule != rule {
			continue
		}
		n++
		t.Run(c.name, func(t *testing.T) {
			c.check(t, e, keys)
			if after := e.dbDigest(); after != before {
				before = after
				t.Fatal("the database changed")
			}
		})
	}
	if n == 0 {
		t.Fatalf("no cases of rule %s", rule)
	}
}

// TestTimesOutOfRange: a time the store cannot keep exactly (before 1970,
// after 2200, where int64 nanoseconds would wrap from 2262 on) is refused
// on every route and in every form, date-only and RFC 3339 alike.
func TestTimesOutOfRange(t *testing.T) { runBadFields(t, "timeRange") }

// TestTimeOffsets: offsets beyond ±14:00 are refused on every route.
func TestTimeOffsets(t *testing.T) { runBadFields(t, "offset") }

// TestSubNanosecondFractions: more than nine fractional digits are
// refused, not cut.
func TestSubNanosecondFractions(t *testing.T) { runBadFields(t, "fraction") }

// TestControlCharacters: control, separator and invisible format
// characters are refused in every identifier, controls and separators in
// every name.
func TestControlCharacters(t *testing.T) { runBadFields(t, "control") }

// TestEmptyKeyTenant: "tenant_id": "" does not create an unrestricted key.
func TestEmptyKeyTenant(t *testing.T) { runBadFields(t, "empty") }

// TestLimitsOneRule: a value over its limit is refused on every route
// with the same message, built from the limit.
func TestLimitsOneRule(t *testing.T) {
	e := newEnv(t)
	keys := map[vigil.Role]string{vigil.RoleIngest: e.ingest, vigil.RoleAuditor: e.auditor, vigil.RoleAdmin: e.admin}
	want := "must be at most " + strconv.Itoa(vigil.MaxIDLength) + " bytes"
	for _, c := range badFields() {
		if c.rule != "limit" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			r := c.check(t, e, keys)
			if !strings.Contains(string(r.body), `: `+want+`"`) && !strings.Contains(string(r.body), `"message":"`+want+`"`) {
				t.Fatalf("the message is not %q: %s", want, r.body)
			}
		})
	}
}

// TestTimesAtTheEdges: what the rule accepts is kept exactly. The last
// instant of 2200 and the first of 1970, offsets of ±14:00 and nine
// fractional digits go in on every ingest route, read back as the same
// UTC instant to the nanosecond, and the ledger verifies them.
func TestTimesAtTheEdges(t *testing.T) {
	e := newEnv(t)
	cases := []struct{ in, want string }{
		{"2200-12-31T23:59:59.999999999Z", "2200-12-31T23:59:59.999999999Z"},
		{"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
		{"2024-06-15T08:30:00.123456789+14:00", "2024-06-14T18:30:00.123456789Z"},
		{"2024-06-15T08:30:00-14:00", "2024-06-15T22:30:00Z"},
		{"2024-06-15T08:30:00.5-00:00", "2024-06-15T08:30:00.5Z"},
	}
	for _, c := range cases {
		var ids []string
		var s api.Stored
		r := e.post("/api/v1/events", e.ingest, restEvent(map[string]any{"occurred_at": c.in}))
		wantStatus(t, r, 201)
		r.json(t, &s)
		ids = append(ids, s.ID)
		var a fhir.AuditEvent
		r = e.fhirPost(e.ingest, []byte(fhirEvent(func(m map[string]any) { m["recorded"] = c.in })))
		wantStatus(t, r, 201)
		r.json(t, &a)
		ids = append(ids, a.ID)
		var sd api.Data[fhir.SimpleAuditEvent]
		r = e.post("/api/v1/audit-events", e.ingest, seedEvent(func(m map[string]any) { m["recorded"] = c.in }))
		wantStatus(t, r, 201)
		r.json(t, &sd)
		ids = append(ids, sd.Data.ID)
		for _, id := range ids {
			var got api.Data[api.Event]
			e.get("/api/v1/events/"+id, e.auditor).json(t, &got)
			if got.Data.OccurredAt != c.want {
				t.Errorf("%s read back as %s, want %s", c.in, got.Data.OccurredAt, c.want)
			}
		}
		// A bound at the edge answers, in each form.
		for _, path := range []string{"/api/v1/events?from=" + url.QueryEscape(c.in), "/fhir/R4/AuditEvent?date=ge" + url.QueryEscape(c.in),
			"/api/v1/audit-events?dateFrom=" + url.QueryEscape(c.in)} {
			if r := e.get(path, e.auditor); r.status != 200 {
				t.Errorf("%s: %d %s", path, r.status, r.body)
			}
		}
	}
	for _, path := range []string{"/api/v1/events?to=2200-12-31", "/api/v1/events?from=1970-01-01", "/fhir/R4/AuditEvent?date=le2200",
		"/fhir/R4/AuditEvent?date=ge1970", "/api/v1/audit-events?dateTo=2200-12-31", "/api/v1/alerts?to=2200-12-31"} {
		if r := e.get(path, e.auditor); r.status != 200 {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	var v api.Data[api.Verification]
	r := e.get("/api/v1/verify", e.auditor)
	wantStatus(t, r, 200)
	r.json(t, &v)
	if !v.Data.Valid || len(v.Data.Breaks) > 0 {
		t.Fatalf("verification after edge times: %s", r.body)
	}
}

// TestTextKeepsLineBreaks: free text (an alert's notes) keeps tabs and
// line breaks; other controls are refused there too.
func TestTextKeepsLineBreaks(t *testing.T) {
	a := newAlertEnv(t)
	a.rule(t, `{"name":"Watch","rule_type":"watchlist","conditions":{"actors":["emp_1"]},"channels":["email"]}`)
	a.send(t, ev("emp_1", "x.viewed"))
	a.pass(t)
	alerts := a.alerts(t, a.auditor, "")
	if len(alerts) != 1 {
		t.Fatalf("%d alerts", len(alerts))
	}
	path := "/api/v1/alerts/" + alerts[0].ID
	notes := "Called the clinic.\n\tNo reply; retry tomorrow.\r\n"
	r := a.do("PATCH", path, a.auditor, jsonText(map[string]any{"notes": notes}))
	wantStatus(t, r, 200)
	var got struct{ Data apiAlert }
	r.json(t, &got)
	if got.Data.Notes == nil || *got.Data.Notes != notes {
		t.Fatalf("notes %s", r.body)
	}
	for _, c := range []string{"\a", "\x7f", "\u0085", "\x1b[31m"} {
		r = a.do("PATCH", path, a.auditor, jsonText(map[string]any{"notes": "x" + c}))
		if r.status != 422 || !strings.Contains(string(r.body), `"field":"notes"`) {
			t.Errorf("notes with %q: %d %s", c, r.status, r.body)
		}
	}
}

// TestMetaAuditHostileHeaders: a read whose User-Agent holds what no name
// may (a tab, a C1 control, a bidirectional override, invalid UTF-8) is
// answered and recorded, the header's refused characters replaced: the
// record of a read never fails on what the reader sent.
func TestMetaAuditHostileHeaders(t *testing.T) {
	e := newEnv(t)
	for _, ua := range []string{"curl\t8.0", "agent\xc2\x85x", "a\u202eb", "bad\xffutf8", strings.Repeat("u", 2*vigil.MaxTextLength)} {
		r := e.do("GET", "/api/v1/events?limit=1", e.auditor, nil, "User-Agent", ua)
		wantStatus(t, r, 200)
		page, err := e.db.Events(context.Background(), vigil.Query{Workspace: "default", Action: "vigil.events.query", Before: -1, Limit: 1})
		if err != nil || len(page.Events) != 1 {
			t.Fatalf("the read with User-Agent %q was not recorded: %v", ua, err)
		}
		got := page.Events[0].UserAgent
		if msg := vigil.CheckString(got, vigil.Line, vigil.MaxTextLength); msg != "" || got == ua {
			t.Errorf("User-Agent %q recorded as %q (%s)", ua, got, msg)
		}
	}
}
