package http_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/sqlite"
)

// ev writes one event's JSON from an actor, an action and further fields.
func ev(actor, action string, fields ...string) string {
	s := fmt.Sprintf(`{"actor_id":%q,"action":%q`, actor, action)
	for i := 0; i+1 < len(fields); i += 2 {
		s += fmt.Sprintf(`,%q:%q`, fields[i], fields[i+1])
	}
	return s + "}"
}

func wantEvents(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: alerts on events %v, want %v", what, got, want)
	}
}

func TestOffHoursAcrossDSTAndMidnight(t *testing.T) {
	a := newAlertEnv(t)
	a.rule(t, `{"name":"Off-Hours PHI Access","rule_type":"off_hours","conditions":{"action_pattern":"patient_record.*",
		"timezone":"America/Los_Angeles","start_hour":20,"end_hour":6},"channels":["email","webhook"]}`)
	at := func(actor, ts string) string {
		return ev(actor, "patient_record.viewed", "occurred_at", ts, "patient_id", "pat_1")
	}
	ids := a.send(t,
		at("dr_1", "2026-03-08T09:30:00Z"),                                   // 0: 01:30 PST on the spring-forward day: off hours
		at("dr_1", "2026-03-08T10:30:00Z"),                                   // 1: 03:30 PDT: off hours
		at("dr_1", "2026-03-08T13:30:00Z"),                                   // 2: 06:30 PDT: open (05:30 had the offset not changed)
		at("dr_1", "2026-11-01T13:30:00Z"),                                   // 3: 05:30 PST after falling back: off (06:30 under PDT)
		at("dr_1", "2026-06-10T02:59:00Z"),                                   // 4: 19:59 PDT: open
		at("dr_1", "2026-06-10T03:00:00Z"),                                   // 5: 20:00 PDT: off, the window starts
		at("dr_1", "2026-06-10T06:59:00Z"),                                   // 6: 23:59 PDT: off, before midnight
		at("dr_1", "2026-06-10T07:00:00Z"),                                   // 7: 00:00 PDT: off, after midnight
		at("dr_1", "2026-06-10T13:00:00Z"),                                   // 8: 06:00 PDT: open, the window ended
		ev("dr_1", "login.succeeded", "occurred_at", "2026-06-10T07:00:00Z"), // 9: another action
	)
	if n := a.pass(t); n != 6 {
		t.Fatalf("%d alerts, want 6", n)
	}
	alerts := a.alerts(t, a.auditor, "?rule_type=off_hours")
	wantEvents(t, "off_hours", eventIDs(alerts), []string{ids[0], ids[1], ids[3], ids[5], ids[6], ids[7]})
	al := alerts[len(alerts)-1]
	if al.RuleName != "Off-Hours PHI Access" || al.Status != "open" || *al.Event.Action != "patient_record.viewed" ||
		*al.Event.ActorID != "dr_1" || al.NotifiedAt != nil || !strings.Contains(al.Reason, "01:30 PST") {
		t.Fatalf("alert %+v", al)
	}

	// Every alert goes out once by email and once by webhook.
	if n := a.deliverDue(t); n != 12 {
		t.Fatalf("%d deliveries, want 12", n)
	}
	if n := a.deliverDue(t); n != 0 {
		t.Fatalf("%d deliveries again", n)
	}
	msgs := a.mail.messages()
	if len(msgs) != 6 {
		t.Fatalf("%d emails", len(msgs))
	}
	m := msgs[0]
	if m.from != "vigil@clinic.test" || !slices.Equal(m.to, []string{"privacy@clinic.test", "security@clinic.test"}) {
		t.Fatalf("envelope %s -> %v", m.from, m.to)
	}
	if !strings.Contains(m.data, "Subject: [Vigil] off_hours: Off-Hours PHI Access - dr_1") ||
		!strings.Contains(m.data, "Alert:         "+al.ID) || !strings.Contains(m.data, "Event:         "+ids[0]) {
		t.Fatalf("message:\n%s", m.data)
	}
	hooks := a.hooks.received()
	if len(hooks) != 6 || a.hooks.bad != 0 {
		t.Fatalf("%d webhooks, %d badly signed", len(hooks), a.hooks.bad)
	}
	if hooks[0].ID != al.ID || hooks[0].RuleType != "off_hours" || *hooks[0].Event.ID != ids[0] {
		t.Fatalf("webhook %+v", hooks[0])
	}
	if got := a.alerts(t, a.auditor, "?rule_type=off_hours&limit=1"); got[0].NotifiedAt == nil {
		t.Fatalf("notified_at not set: %+v", got[0])
	}
}

func TestNewCountryIPv6AndFirstSeen(t *testing.T) {
	a := newAlertEnv(t)
	a.rule(t, `{"name":"Foreign Country Access","rule_type":"new_country","conditions":{"action_pattern":"*.accessed"},"channels":["webhook"]}`)
	a.rule(t, `{"name":"First country","rule_type":"new_country","conditions":{"action_pattern":"lab_results.accessed","alert_on_first":true},"channels":["webhook"]}`)
	ids := a.send(t,
		ev("dr_a", "patient_record.accessed", "ip_address", "81.2.69.10"),   // 0: GB, the first country: the baseline
		ev("dr_a", "patient_record.accessed", "ip_address", "2a02:8100::1"), // 1: DE over IPv6: new
		ev("dr_a", "patient_record.accessed", "ip_address", "2a02:8100::2"), // 2: DE again: familiar
		ev("dr_a", "patient_record.accessed", "ip_address", "10.0.0.1"),     // 3: private: no country
		ev("dr_a", "login.succeeded", "ip_address", "2600:1700::9"),         // 4: US, but not an access
		ev("dr_b", "lab_results.accessed", "ip_address", "2600:1700::5"),    // 5: US, first seen: the second rule alerts
	)
	if n := a.pass(t); n != 2 {
		t.Fatalf("%d alerts, want 2", n)
	}
	alerts := a.alerts(t, a.auditor, "?rule_type=new_country")
	wantEvents(t, "new_country", eventIDs(alerts), []string{ids[1], ids[5]})
	if alerts[1].RuleName != "Foreign Country Access" || !strings.Contains(alerts[1].Reason, "DE") {
		t.Fatalf("alert %+v", alerts[1])
	}
	if alerts[0].RuleName != "First country" || !strings.Contains(alerts[0].Reason, "US") {
		t.Fatalf("alert %+v", alerts[0])
	}
}

func TestHighVolumeRepeatedFailureWatchlist(t *testing.T) {
	a := newAlertEnv(t)
	a.rule(t, `{"name":"Bulk access","rule_type":"high_volume","conditions":{"by":"session","count":"patients","threshold":3,
		"window":"1h","destructive_patterns":["*.deleted","*.exported"]},"channels":["email"]}`)
	a.rule(t, `{"name":"Brute force","rule_type":"repeated_failure","conditions":{"threshold":3,"window":"10m"},"channels":["email"]}`)
	a.rule(t, `{"name":"VIP","rule_type":"watchlist","conditions":{"patients":["pat_vip"],"actors":["emp_42"]},"channels":["email"]}`)
	view := func(actor, session, patient string) string {
		return ev(actor, "patient_record.viewed", "session_id", session, "patient_id", patient)
	}
	ids := a.send(t,
		view("dr_c", "s1", "p1"), view("dr_c", "s1", "p2"), view("dr_c", "s1", "p3"), // 0-2: three patients
		view("dr_c", "s1", "p4"),                              // 3: the fourth: more than 3
		view("dr_c", "s1", "p5"),                              // 4: still above: no new alert
		view("dr_d", "s2", "p1"),                              // 5: another session
		ev("dr_d", "report.exported", "session_id", "s2"),     // 6: destructive
		ev("x", "login.failed", "outcome", "failure"),         // 7
		ev("x", "login.failed", "outcome", "failure"),         // 8
		ev("x", "login.succeeded"),                            // 9: a success does not reset
		ev("x", "login.failed", "outcome", "serious_failure"), // 10: the third failure
		ev("x", "login.failed", "outcome", "failure"),         // 11: still above
		view("dr_e", "s3", "pat_vip"),                         // 12: a watched patient
		view("emp_42", "s4", "p9"),                            // 13: a watched actor
	)
	if n := a.pass(t); n != 5 {
		t.Fatalf("%d alerts, want 5", n)
	}
	wantEvents(t, "high_volume", eventIDs(a.alerts(t, a.auditor, "?rule_type=high_volume")), []string{ids[3], ids[6]})
	wantEvents(t, "repeated_failure", eventIDs(a.alerts(t, a.auditor, "?rule_type=repeated_failure")), []string{ids[10]})
	wantEvents(t, "watchlist", eventIDs(a.alerts(t, a.auditor, "?rule_type=watchlist")), []string{ids[12], ids[13]})
	if n := a.deliverDue(t); n != 5 || len(a.mail.messages()) != 5 {
		t.Fatalf("%d deliveries, %d emails", n, len(a.mail.messages()))
	}
}

func TestTamperAlert(t *testing.T) {
	a := newAlertEnv(t)
	a.send(t, ev("a", "x.viewed"), ev("b", "x.viewed"), ev("c", "x.viewed"))
	a.pass(t)
	raw, err := sql.Open("sqlite", sqlite.DSN(a.dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, stmt := range []string{"DROP TRIGGER events_no_update", "UPDATE events SET actor_id = 'intruder' WHERE seq = 1"} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.db.VerifyPass(context.Background(), 0, nil); err != nil {
		t.Fatal(err)
	}
	if n := a.pass(t); n != 1 {
		t.Fatalf("%d tamper alerts", n)
	}
	// The next verification finds the same break: no second alert.
	if err := a.db.VerifyPass(context.Background(), 0, nil); err != nil {
		t.Fatal(err)
	}
	if n := a.pass(t); n != 0 {
		t.Fatalf("%d more tamper alerts", n)
	}
	alerts := a.alerts(t, a.auditor, "?rule_type=tamper")
	if len(alerts) != 1 || alerts[0].RuleID != nil || alerts[0].Event == nil || alerts[0].Event.Sequence != 1 ||
		!strings.Contains(alerts[0].Reason, "sequence 1") {
		t.Fatalf("tamper alerts %+v", alerts)
	}
	// Always on, to every channel.
	if n := a.deliverDue(t); n != 2 {
		t.Fatalf("%d deliveries", n)
	}
	if m := a.mail.messages(); len(m) != 1 || !strings.Contains(m[0].data, "Subject: [Vigil] tamper: Ledger tampering") {
		t.Fatalf("emails %+v", m)
	}
}

// A restart between the alert and its delivery: the alert is delivered
// once, after the restart, with its id.
func TestRestartBetweenTriggerAndDelivery(t *testing.T) {
	a := newAlertEnv(t)
	a.rule(t, `{"name":"VIP","rule_type":"watchlist","conditions":{"patients":["pat_vip"]},"channels":["webhook"]}`)
	a.send(t, ev("dr_x", "patient_record.viewed", "patient_id", "pat_vip"))
	if n := a.pass(t); n != 1 {
		t.Fatalf("%d alerts", n)
	}
	id := a.alerts(t, a.auditor, "")[0].ID
	a.reopen(t)
	if n := a.pass(t); n != 0 {
		t.Fatalf("%d alerts after the restart", n)
	}
	if n := a.deliverDue(t); n != 1 {
		t.Fatalf("%d deliveries after the restart", n)
	}
	a.reopen(t)
	if n := a.deliverDue(t); n != 0 {
		t.Fatalf("%d deliveries after a second restart", n)
	}
	got := a.hooks.received()
	if len(got) != 1 || got[0].ID != id {
		t.Fatalf("deliveries %+v, want one of %s", got, id)
	}
	if al := a.alerts(t, a.auditor, ""); al[0].NotifiedAt == nil {
		t.Fatal("notified_at not set")
	}
}

// Retries: a receiver failing twice gets the same alert a third time.
func TestDeliveryRetriesSameAlert(t *testing.T) {
	a := newAlertEnv(t)
	a.rule(t, `{"name":"VIP","rule_type":"watchlist","conditions":{"actors":["emp_1"]},"channels":["webhook"]}`)
	a.send(t, ev("emp_1", "patient_record.viewed"))
	a.pass(t)
	a.hooks.fail = 2
	for range 3 {
		a.deliverDue(t)
		// The next attempt is due only after its backoff: make it due now.
		raw, err := sql.Open("sqlite", sqlite.DSN(a.dbPath))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec("UPDATE alert_deliveries SET next_attempt_at = 0 WHERE next_attempt_at IS NOT NULL"); err != nil {
			t.Fatal(err)
		}
		raw.Close()
	}
	got := a.hooks.received()
	if len(got) != 1 || a.hooks.fail != 0 {
		t.Fatalf("%d deliveries, %d failures left", len(got), a.hooks.fail)
	}
	raw, _ := sql.Open("sqlite", sqlite.DSN(a.dbPath))
	defer raw.Close()
	var attempts int
	var delivered sql.NullInt64
	if err := raw.QueryRow("SELECT attempts, delivered_at FROM alert_deliveries").Scan(&attempts, &delivered); err != nil {
		t.Fatal(err)
	}
	if attempts != 3 || !delivered.Valid {
		t.Fatalf("attempts %d delivered %v", attempts, delivered)
	}
}

// The system's own events are evaluated like any other, and cannot loop:
// a rule watching an auditor's key fires once per read of theirs, and
// evaluating, storing and delivering alerts write no event.
func TestMetaAuditEventsDoNotLoop(t *testing.T) {
	a := newAlertEnv(t)
	k, err := a.db.KeyByHash(context.Background(), vigil.HashKey(a.auditor))
	if err != nil {
		t.Fatal(err)
	}
	a.rule(t, `{"name":"Watch the watcher","rule_type":"watchlist","conditions":{"actors":["`+k.ID+`"]},"channels":["webhook"]}`)
	a.get("/api/v1/alerts", a.auditor) // one read: one meta-audit event
	if n := a.pass(t); n != 1 {
		t.Fatalf("%d alerts for one read", n)
	}
	for range 3 {
		a.deliverDue(t)
		if n := a.pass(t); n != 0 {
			t.Fatalf("%d alerts without any read", n)
		}
	}
	if got := a.hooks.received(); len(got) != 1 || got[0].Event == nil || *got[0].Event.Action != "vigil.alerts.query" {
		t.Fatalf("deliveries %+v", got)
	}
}

// A receiver's 4xx is final: the delivery is given up, not retried.
func TestPermanentFailureGivesUp(t *testing.T) {
	a := newAlertEnv(t)
	a.rule(t, `{"name":"VIP","rule_type":"watchlist","conditions":{"actors":["emp_1"]},"channels":["webhook"]}`)
	a.send(t, ev("emp_1", "patient_record.viewed"))
	a.pass(t)
	a.hooks.reject = true
	if n := a.deliverDue(t); n != 0 {
		t.Fatalf("%d delivered", n)
	}
	raw, err := sql.Open("sqlite", sqlite.DSN(a.dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var attempts int
	var next sql.NullInt64
	var lastErr string
	if err := raw.QueryRow("SELECT attempts, next_attempt_at, last_error FROM alert_deliveries").Scan(&attempts, &next, &lastErr); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || next.Valid || !strings.Contains(lastErr, "400") {
		t.Fatalf("attempts %d, next %v, error %q", attempts, next, lastErr)
	}
	a.deliverDue(t)
	if a.hooks.seen != 1 {
		t.Fatalf("%d attempts reached the receiver", a.hooks.seen)
	}
	if al := a.alerts(t, a.auditor, ""); al[0].NotifiedAt != nil {
		t.Fatal("an alert never delivered shows notified_at")
	}
}

// The cursor and the alerts commit together, and alerts are unique per
// rule and event: evaluating again, even from the start, adds nothing.
func TestCursorIsCrashSafe(t *testing.T) {
	a := newAlertEnv(t)
	a.rule(t, `{"name":"Watch","rule_type":"watchlist","conditions":{"actors":["emp_1"]},"channels":["email"]}`)
	for range 3 {
		a.send(t, ev("emp_1", "x.viewed"), ev("other", "x.viewed"))
	}
	if n := a.pass(t); n != 3 {
		t.Fatalf("%d alerts", n)
	}
	a.reopen(t)
	if n := a.pass(t); n != 0 {
		t.Fatalf("%d alerts after reopening", n)
	}
	raw, err := sql.Open("sqlite", sqlite.DSN(a.dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("UPDATE cursors SET next_seq = 0 WHERE consumer = 'alerts'"); err != nil {
		t.Fatal(err)
	}
	if n := a.pass(t); n != 0 {
		t.Fatalf("%d alerts re-evaluating from the start", n)
	}
	var deliveries int
	if err := raw.QueryRow("SELECT count(*) FROM alert_deliveries").Scan(&deliveries); err != nil || deliveries != 3 {
		t.Fatalf("%d deliveries (%v)", deliveries, err)
	}
	// Events after the restart are evaluated.
	a.send(t, ev("emp_1", "x.viewed"))
	if n := a.pass(t); n != 1 {
		t.Fatalf("%d alerts for a new event", n)
	}
}

// A scan over stored events raises what a rule created later would have
// raised, once.
func TestScanAtRest(t *testing.T) {
	a := newAlertEnv(t)
	ids := a.send(t, ev("emp_7", "x.viewed"), ev("other", "x.viewed"), ev("emp_7", "y.viewed"))
	a.pass(t) // no rules yet: the cursor moves past the events
	a.rule(t, `{"name":"Watch","rule_type":"watchlist","conditions":{"actors":["emp_7"]},"channels":["email"]}`)
	if n := a.pass(t); n != 0 {
		t.Fatalf("%d alerts in motion for old events", n)
	}
	n, err := a.eval.Scan(context.Background(), time.Now().Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("scan: %d alerts, %v", n, err)
	}
	if n, _ := a.eval.Scan(context.Background(), time.Now().Add(-time.Hour)); n != 0 {
		t.Fatalf("a second scan raised %d", n)
	}
	wantEvents(t, "scan", eventIDs(a.alerts(t, a.auditor, "")), []string{ids[0], ids[2]})
}

// Throttling: one notification per rule and subject per period; the rest
// are stored and counted.
func TestThrottle(t *testing.T) {
	a := newAlertEnv(t)
	a.rule(t, `{"name":"Watch","rule_type":"watchlist","conditions":{"actors":["emp_1","emp_2"]},"channels":["webhook"],"throttle":"1h"}`)
	a.send(t, ev("emp_1", "x.viewed"), ev("emp_1", "x.viewed"), ev("emp_2", "x.viewed"), ev("emp_1", "x.viewed"))
	if n := a.pass(t); n != 4 {
		t.Fatalf("%d alerts", n)
	}
	if n := a.deliverDue(t); n != 2 {
		t.Fatalf("%d notifications, want 2 (one per subject)", n)
	}
	alerts := a.alerts(t, a.auditor, "")
	first := alerts[len(alerts)-1]
	if first.Suppressed != 2 || first.NotifiedAt == nil || *first.Subject != "emp_1" {
		t.Fatalf("first alert %+v", first)
	}
	if got := a.hooks.received(); got[0].Suppressed != 2 {
		t.Fatalf("payload suppressed %d", got[0].Suppressed)
	}
}

func TestAlertRulesAPI(t *testing.T) {
	a := newAlertEnv(t)
	r := a.post("/api/v1/alert-rules", a.admin, `{"name":"Foreign","rule_type":"new_country","conditions":{"action_pattern":"*.accessed"},"channels":["email","webhook"]}`)
	wantStatus(t, r, 201)
	var created struct {
		Data struct {
			ID         string          `json:"id"`
			Conditions json.RawMessage `json:"conditions"`
			Enabled    bool            `json:"enabled"`
			Version    int             `json:"version"`
			Throttle   string          `json:"throttle"`
		} `json:"data"`
	}
	r.json(t, &created)
	id := created.Data.ID
	if !created.Data.Enabled || created.Data.Version != 1 || !strings.Contains(string(created.Data.Conditions), `"lookback":"90d"`) {
		t.Fatalf("created %s", r.body)
	}
	wantStatus(t, a.get("/api/v1/alert-rules/"+id, a.admin), 200)
	r = a.get("/api/v1/alert-rules", a.admin)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), id) {
		t.Fatalf("list %s", r.body)
	}
	r = a.do("PUT", "/api/v1/alert-rules/"+id, a.admin, `{"name":"Foreign 2","rule_type":"new_country","conditions":{"lookback":"30d"},"throttle":"15m"}`)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), `"version":2`) || !strings.Contains(string(r.body), `"throttle":"15m"`) {
		t.Fatalf("updated %s", r.body)
	}
	r = a.post("/api/v1/alert-rules/"+id+"/disable", a.admin, nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), `"enabled":false`) {
		t.Fatalf("disabled %s", r.body)
	}
	// A disabled rule raises nothing.
	a.send(t, ev("dr_a", "x.accessed", "ip_address", "81.2.69.1"), ev("dr_a", "x.accessed", "ip_address", "2a02:8100::1"))
	if n := a.pass(t); n != 0 {
		t.Fatalf("a disabled rule raised %d", n)
	}
	wantStatus(t, a.post("/api/v1/alert-rules/"+id+"/enable", a.admin, nil), 200)
	wantStatus(t, a.get("/api/v1/alert-rules/nope", a.admin), 404)
	// Every definition is kept: an alert's rule_version can be read back.
	r = a.get("/api/v1/alert-rules/"+id+"/versions", a.admin)
	wantStatus(t, r, 200)
	var versions struct {
		Data []struct {
			Name       string          `json:"name"`
			Version    int             `json:"version"`
			Enabled    bool            `json:"enabled"`
			Conditions json.RawMessage `json:"conditions"`
		} `json:"data"`
	}
	r.json(t, &versions)
	if len(versions.Data) != 4 || versions.Data[0].Name != "Foreign" || versions.Data[1].Name != "Foreign 2" ||
		versions.Data[2].Enabled || !versions.Data[3].Enabled || versions.Data[3].Version != 4 ||
		!strings.Contains(string(versions.Data[1].Conditions), `"lookback":"30d"`) {
		t.Fatalf("versions %s", r.body)
	}
	wantStatus(t, a.get("/api/v1/alert-rules/nope/versions", a.admin), 404)
	wantStatus(t, a.get("/api/v1/alert-rules/"+id+"/versions", a.auditor), 403)

	// Roles: only an admin of the whole workspace manages rules.
	for _, k := range []string{a.auditor, a.ingest, a.key("default", vigil.RoleAdmin, "clinic_1")} {
		wantStatus(t, a.get("/api/v1/alert-rules", k), 403)
		wantStatus(t, a.post("/api/v1/alert-rules", k, `{"name":"x","rule_type":"watchlist","conditions":{"actors":["a"]}}`), 403)
	}
	// The changes are in the audit trail.
	r = a.get("/api/v1/events?action=vigil.alert_rules.*", a.auditor)
	var list struct {
		Data []struct {
			Action string `json:"action"`
		} `json:"data"`
	}
	r.json(t, &list)
	if len(list.Data) != 4 {
		t.Fatalf("%d rule changes recorded: %s", len(list.Data), r.body)
	}
}

func TestBadRuleDefinitions(t *testing.T) {
	a := newAlertEnv(t)
	for _, c := range []struct {
		body   string
		fields []string
	}{
		{`{"name":"x","rule_type":"off_hours","conditions":{"action_pattern":"a.*","timezone":"Mars/Olympus","start_hour":24,"end_hour":6}}`,
			[]string{"conditions.timezone", "conditions.start_hour"}},
		{`{"name":"x","rule_type":"off_hours","conditions":{"action_pattern":"a.*","timezone":"UTC","start_hour":6,"end_hour":6}}`, []string{"conditions.end_hour"}},
		{`{"name":"x","rule_type":"new_country","conditions":{"lookbak":"3d"}}`, []string{"conditions.lookbak"}},
		{`{"name":"x","rule_type":"high_volume","conditions":{"threshold":0,"window":"1h"}}`, []string{"conditions.threshold"}},
		{`{"name":"x","rule_type":"repeated_failure","conditions":{"threshold":3}}`, []string{"conditions.window"}},
		{`{"name":"x","rule_type":"watchlist","conditions":{}}`, []string{"conditions.patients"}},
		{`{"name":"x","rule_type":"brute_force"}`, []string{"rule_type"}},
		{`{"name":"x","rule_type":"tamper"}`, []string{"rule_type"}},
		{`{"name":"","rule_type":"watchlist","conditions":{"actors":["a"]}}`, []string{"name"}},
		{`{"name":"x","rule_type":"watchlist","conditions":{"actors":["a"]},"channels":["pager"]}`, []string{"channels[0]"}},
		{`{"name":"x","rule_type":"watchlist","conditions":{"actors":["a"]},"throttle":"soon"}`, []string{"throttle"}},
		{`{"name":"x","rule_type":"watchlist","conditions":{"actors":["a"]},"colour":"red"}`, []string{"colour"}},
		{`{"name":"x","rule_type":"watchlist","conditions":"actors"}`, []string{"conditions"}},
	} {
		r := a.post("/api/v1/alert-rules", a.admin, c.body)
		if r.status != 422 || r.errorCode(t) != "validation_failed" {
			t.Fatalf("%s: %d %s", c.body, r.status, r.body)
		}
		var e struct {
			Details []struct {
				Field string `json:"field"`
			} `json:"details"`
		}
		r.json(t, &e)
		var fields []string
		for _, d := range e.Details {
			fields = append(fields, d.Field)
		}
		for _, f := range c.fields {
			if !slices.Contains(fields, f) {
				t.Errorf("%s: fields %v lack %s", c.body, fields, f)
			}
		}
	}
	wantStatus(t, a.post("/api/v1/alert-rules", a.admin, `{"name":`), 400)
	r := a.get("/api/v1/alert-rules", a.admin)
	if !strings.Contains(string(r.body), `"data":[]`) {
		t.Fatalf("a refused rule was stored: %s", r.body)
	}
}

func TestAlertsAPI(t *testing.T) {
	a := newAlertEnv(t)
	a.rule(t, `{"name":"Watch","rule_type":"watchlist","conditions":{"actors":["emp_1"]},"channels":["email"]}`)
	a.send(t, ev("emp_1", "x.viewed", "tenant_id", "clinic_a"), ev("emp_1", "x.viewed", "tenant_id", "clinic_b"), ev("emp_1", "x.viewed", "tenant_id", "clinic_b"))
	a.pass(t)

	// Paging with the cursor, newest first.
	r := a.get("/api/v1/alerts?limit=2", a.auditor)
	wantStatus(t, r, 200)
	var page struct {
		Data       []apiAlert `json:"data"`
		Pagination struct {
			HasMore    bool    `json:"has_more"`
			NextCursor *string `json:"next_cursor"`
			Total      int     `json:"total"`
		} `json:"pagination"`
	}
	r.json(t, &page)
	if len(page.Data) != 2 || !page.Pagination.HasMore || page.Pagination.Total != 3 {
		t.Fatalf("page 1: %s", r.body)
	}
	r = a.get("/api/v1/alerts?limit=2&cursor="+*page.Pagination.NextCursor, a.auditor)
	var page2 struct {
		Data []apiAlert `json:"data"`
	}
	r.json(t, &page2)
	if len(page2.Data) != 1 || page2.Data[0].ID >= page.Data[1].ID {
		t.Fatalf("page 2: %s", r.body)
	}
	// Filters.
	if got := a.alerts(t, a.auditor, "?status=open&rule_type=watchlist&from=2000-01-01&to=2200-01-01"); len(got) != 3 {
		t.Fatalf("%d alerts with filters", len(got))
	}
	if got := a.alerts(t, a.auditor, "?from="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)); len(got) != 0 {
		t.Fatalf("%d alerts from the future", len(got))
	}
	for _, q := range []string{"?status=closed", "?rule_type=x", "?from=yesterday", "?cursor=zzz", "?limit=0", "?colour=red", "?status=open&status=resolved"} {
		if r := a.get("/api/v1/alerts"+q, a.auditor); r.status != 422 {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
	}
	// Tenant keys see their tenant's alerts only.
	tenantB := a.key("default", vigil.RoleAuditor, "clinic_b")
	got := a.alerts(t, tenantB, "")
	if len(got) != 2 || *got[0].TenantID != "clinic_b" {
		t.Fatalf("tenant view %+v", got)
	}
	other := a.alerts(t, a.auditor, "?limit=1&cursor="+*page.Pagination.NextCursor)[0] // clinic_a's
	wantStatus(t, a.get("/api/v1/alerts/"+other.ID, tenantB), 404)
	wantStatus(t, a.do("PATCH", "/api/v1/alerts/"+other.ID, tenantB, `{"status":"resolved"}`), 404)

	// Roles: auditors read and investigate; admins and ingest keys do not.
	for _, k := range []string{a.admin, a.ingest} {
		wantStatus(t, a.get("/api/v1/alerts", k), 403)
		wantStatus(t, a.do("PATCH", "/api/v1/alerts/"+other.ID, k, `{"status":"resolved"}`), 403)
	}

	// PATCH: status and notes, each change recorded.
	r = a.do("PATCH", "/api/v1/alerts/"+other.ID, a.auditor, `{"status":"investigating","notes":"Called the clinic."}`)
	wantStatus(t, r, 200)
	var one struct {
		Data apiAlert `json:"data"`
	}
	r.json(t, &one)
	if one.Data.Status != "investigating" || *one.Data.Notes != "Called the clinic." {
		t.Fatalf("patched %s", r.body)
	}
	wantStatus(t, a.do("PATCH", "/api/v1/alerts/"+other.ID, a.auditor, `{"status":"false_positive"}`), 200)
	for _, body := range []string{`{"status":"closed"}`, `{}`, `{"status":"resolved","owner":"me"}`, `{"notes":7}`} {
		if r := a.do("PATCH", "/api/v1/alerts/"+other.ID, a.auditor, body); r.status != 422 {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
	}
	wantStatus(t, a.do("PATCH", "/api/v1/alerts/nope", a.auditor, `{"status":"resolved"}`), 404)
	r = a.get("/api/v1/alerts/"+other.ID, a.auditor)
	r.json(t, &one)
	if one.Data.Status != "false_positive" || *one.Data.Notes != "Called the clinic." {
		t.Fatalf("read back %s", r.body)
	}

	// Every read and change of alerts is in the audit trail.
	count := func(action string) int {
		var l struct {
			Data []json.RawMessage `json:"data"`
		}
		a.get("/api/v1/events?action="+action+"&limit=100", a.auditor).json(t, &l)
		return len(l.Data)
	}
	if n := count("vigil.alerts.updated"); n != 2 {
		t.Fatalf("%d changes recorded, want 2", n)
	}
	if n := count("vigil.alerts.read"); n != 2 { // the tenant key's 404 counts too
		t.Fatalf("%d reads recorded", n)
	}
	if n := count("vigil.alerts.query"); n < 5 {
		t.Fatalf("%d queries recorded", n)
	}
}
