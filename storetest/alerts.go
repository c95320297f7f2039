package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// AlertBackend is what RunAlerts exercises: alert rules and the alerts
// they raised, in workspaces.
type AlertBackend interface {
	vigil.KeyStore
	vigil.AlertStore
	Close() error
}

// RaiseFunc stores an alert as the backend's evaluator does: the alert and
// one outbox delivery per channel, in one transaction, the store assigning
// the alert's ID. An alert of a rule and event that raised one before (the
// same RuleID and a Sequence >= 0) is not stored again and isNew is false;
// the returned alert is then not a stored one. The AlertStore interface
// has no write of alerts (the evaluator owns it), so each backend hands
// the suite its own.
type RaiseFunc func(ctx context.Context, workspace string, a vigil.Alert, channels []string) (stored vigil.Alert, isNew bool, err error)

// AlertOpener opens a fresh, empty store whose clock is now, and the way
// alerts are raised in it; the suite closes it.
type AlertOpener func(t *testing.T, now func() time.Time) (AlertBackend, RaiseFunc)

// RunAlerts is the conformance suite of vigil.AlertStore.
func RunAlerts(t *testing.T, open AlertOpener) {
	t.Run("RuleCreateAndRead", func(t *testing.T) { testRuleCreateAndRead(t, open) })
	t.Run("RuleUpdateAndVersions", func(t *testing.T) { testRuleUpdateAndVersions(t, open) })
	t.Run("RuleIsolation", func(t *testing.T) { testRuleIsolation(t, open) })
	t.Run("AlertRead", func(t *testing.T) { testAlertRead(t, open) })
	t.Run("AlertOnce", func(t *testing.T) { testAlertOnce(t, open) })
	t.Run("AlertList", func(t *testing.T) { testAlertList(t, open) })
	t.Run("AlertFilters", func(t *testing.T) { testAlertFilters(t, open) })
	t.Run("AlertPages", func(t *testing.T) { testAlertPages(t, open) })
	t.Run("AlertUpdate", func(t *testing.T) { testAlertUpdate(t, open) })
	t.Run("AlertBadUpdate", func(t *testing.T) { testAlertBadUpdate(t, open) })
	t.Run("AlertScope", func(t *testing.T) { testAlertScope(t, open) })
}

func openAlerts(t *testing.T, open AlertOpener) (AlertBackend, RaiseFunc, *Clock) {
	t.Helper()
	c := NewClock()
	s, raise := open(t, c.Now)
	t.Cleanup(func() { s.Close() })
	ensure(t, s, "ws", "other")
	return s, raise, c
}

func watchlist(ws, name string, actors ...string) vigil.AlertRule {
	cond, _ := json.Marshal(map[string]any{"actors": actors})
	return vigil.AlertRule{Workspace: ws, Name: name, Type: vigil.RuleWatchlist, Conditions: cond,
		Channels: []string{"email", "ops-webhook"}, Enabled: true, Throttle: 90 * time.Second}
}

// sameJSON reports whether two JSON texts hold the same value (a backend
// may keep JSON normalised, as PostgreSQL's jsonb does).
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

func sameRule(t *testing.T, what string, got, want vigil.AlertRule) {
	t.Helper()
	if got.ID != want.ID || got.Workspace != want.Workspace || got.Name != want.Name || got.Type != want.Type ||
		!sameJSON(got.Conditions, want.Conditions) || !slices.Equal(got.Channels, want.Channels) || got.Enabled != want.Enabled ||
		got.Version != want.Version || got.Throttle != want.Throttle ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("%s =\n %+v, want\n %+v", what, got, want)
	}
}

func testRuleCreateAndRead(t *testing.T, open AlertOpener) {
	s, _, c := openAlerts(t, open)
	created := c.Now()
	in := watchlist("ws", "watch", "dr_1", "dr_2")
	r, err := s.CreateRule(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == "" {
		t.Fatal("CreateRule assigned no id")
	}
	want := in
	want.ID, want.Version, want.CreatedAt, want.UpdatedAt = r.ID, 1, created, created
	sameRule(t, "CreateRule", r, want)
	got, err := s.Rule(ctx(t), "ws", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRule(t, "Rule", got, want)

	// No channels and disabled read back as such.
	c.Advance(time.Second)
	quiet := vigil.AlertRule{Workspace: "ws", Name: "quiet", Type: vigil.RuleOffHours, Conditions: json.RawMessage(`{"start":"20:00","end":"07:00"}`)}
	q, err := s.CreateRule(ctx(t), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if q.ID == r.ID {
		t.Fatal("two rules share an id")
	}
	got, err = s.Rule(ctx(t), "ws", q.ID)
	if err != nil || got.Enabled || len(got.Channels) != 0 || got.Throttle != 0 || got.Version != 1 {
		t.Fatalf("quiet rule = %+v %v", got, err)
	}
	if _, err := s.Rule(ctx(t), "ws", "no-such-rule"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("Rule of no rule: %v, want %s", err, vigil.ENOTFOUND)
	}
	in.Workspace = "never-made"
	if _, err := s.CreateRule(ctx(t), in); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("CreateRule in no workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testRuleUpdateAndVersions: every update is a new version; the history
// keeps each definition as written, with the time it was.
func testRuleUpdateAndVersions(t *testing.T, open AlertOpener) {
	s, _, c := openAlerts(t, open)
	t0 := c.Now()
	v1, err := s.CreateRule(ctx(t), watchlist("ws", "watch", "dr_1"))
	if err != nil {
		t.Fatal(err)
	}
	t1 := c.Advance(time.Minute)
	v2 := v1
	v2.Name, v2.Enabled, v2.Throttle, v2.Channels = "watch closely", false, time.Hour, []string{"pager"}
	v2.Conditions = json.RawMessage(`{"actors":["dr_1","dr_9"]}`)
	got, err := s.UpdateRule(ctx(t), v2)
	if err != nil {
		t.Fatal(err)
	}
	v2.Version, v2.UpdatedAt = 2, t1
	sameRule(t, "UpdateRule", got, v2)
	t2 := c.Advance(time.Minute)
	v3 := v2
	v3.Type, v3.Conditions, v3.Enabled = vigil.RuleHighVolume, json.RawMessage(`{"threshold":50,"window":"1h"}`), true
	if got, err = s.UpdateRule(ctx(t), v3); err != nil {
		t.Fatal(err)
	}
	v3.Version, v3.UpdatedAt = 3, t2
	sameRule(t, "second UpdateRule", got, v3)
	cur, err := s.Rule(ctx(t), "ws", v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRule(t, "Rule after updates", cur, v3)

	vs, err := s.RuleVersions(ctx(t), "ws", v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 {
		t.Fatalf("RuleVersions has %d versions, want 3: %+v", len(vs), vs)
	}
	for i, want := range []vigil.AlertRule{v1, v2, v3} {
		want.CreatedAt = t0
		sameRule(t, fmt.Sprintf("RuleVersions[%d]", i), vs[i], want)
	}
	if _, err := s.RuleVersions(ctx(t), "ws", "no-such-rule"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("RuleVersions of no rule: %v, want %s", err, vigil.ENOTFOUND)
	}
	missing := v3
	missing.ID = "no-such-rule"
	if _, err := s.UpdateRule(ctx(t), missing); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("UpdateRule of no rule: %v, want %s", err, vigil.ENOTFOUND)
	}
	if vs, _ := s.RuleVersions(ctx(t), "ws", v1.ID); len(vs) != 3 {
		t.Fatalf("a refused update added a version: %d", len(vs))
	}
}

// testRuleIsolation: a workspace's rules are invisible to, and cannot be
// changed through, another workspace; Rules lists oldest first.
func testRuleIsolation(t *testing.T, open AlertOpener) {
	s, _, c := openAlerts(t, open)
	var mine []vigil.AlertRule
	for i := range 3 {
		r, err := s.CreateRule(ctx(t), watchlist("ws", fmt.Sprintf("rule %d", i), "dr_1"))
		if err != nil {
			t.Fatal(err)
		}
		mine = append(mine, r)
		c.Advance(time.Second)
	}
	theirs, err := s.CreateRule(ctx(t), watchlist("other", "theirs", "dr_2"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := s.Rules(ctx(t), "ws")
	if err != nil || len(rules) != 3 {
		t.Fatalf("Rules(ws) = %+v %v", rules, err)
	}
	for i := range mine {
		sameRule(t, fmt.Sprintf("Rules(ws)[%d]", i), rules[i], mine[i])
	}
	rules, err = s.Rules(ctx(t), "other")
	if err != nil || len(rules) != 1 {
		t.Fatalf("Rules(other) = %+v %v", rules, err)
	}
	sameRule(t, "Rules(other)[0]", rules[0], theirs)
	if _, err := s.Rule(ctx(t), "ws", theirs.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("ws read other's rule: %v, want %s", err, vigil.ENOTFOUND)
	}
	if _, err := s.RuleVersions(ctx(t), "ws", theirs.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("ws read other's rule versions: %v, want %s", err, vigil.ENOTFOUND)
	}
	hijack := theirs
	hijack.Workspace, hijack.Name, hijack.Enabled = "ws", "hijacked", false
	if _, err := s.UpdateRule(ctx(t), hijack); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("ws updated other's rule: %v, want %s", err, vigil.ENOTFOUND)
	}
	got, err := s.Rule(ctx(t), "other", theirs.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRule(t, "other's rule after ws's attempt", got, theirs)
	if _, err := s.Rules(ctx(t), "never-made"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("Rules of no workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// sampleAlert is an alert of rule on an event, as an evaluator raises it.
func sampleAlert(rule vigil.AlertRule, seq int64, tenant string, at time.Time) vigil.Alert {
	return vigil.Alert{RuleID: rule.ID, RuleName: rule.Name, RuleType: rule.Type, RuleVersion: rule.Version,
		Reason: fmt.Sprintf("dr_%d is on the watchlist", seq), Subject: fmt.Sprintf("dr_%d", seq),
		EventID: fmt.Sprintf("0190a000-0000-7000-8000-%012d", seq), EventAction: "patient.record.viewed",
		ActorID: fmt.Sprintf("dr_%d", seq), Sequence: seq, TriggeredAt: at, Status: vigil.AlertOpen, TenantID: tenant}
}

func mustRaise(t *testing.T, raise RaiseFunc, ws string, a vigil.Alert, channels ...string) vigil.Alert {
	t.Helper()
	got, isNew, err := raise(ctx(t), ws, a, channels)
	if err != nil || !isNew {
		t.Fatalf("raise %+v: new %v, %v", a, isNew, err)
	}
	if got.ID == "" {
		t.Fatal("a raised alert has no id")
	}
	return got
}

func sameAlert(t *testing.T, what string, got, want vigil.Alert) {
	t.Helper()
	g, w := got, want
	// Times compare as instants: == on time.Time also compares locations.
	g.TriggeredAt, g.NotifiedAt, g.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
	w.TriggeredAt, w.NotifiedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
	if g != w || !got.TriggeredAt.Equal(want.TriggeredAt) || !got.NotifiedAt.Equal(want.NotifiedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("%s =\n %+v, want\n %+v", what, got, want)
	}
}

// stored is what reading a raised alert must give: what was raised, with
// the store's id and the workspace.
func stored(raised vigil.Alert, id, ws string) vigil.Alert {
	raised.ID, raised.Workspace = id, ws
	return raised
}

func mustRule(t *testing.T, s vigil.AlertStore, ws string) vigil.AlertRule {
	t.Helper()
	r, err := s.CreateRule(ctx(t), watchlist(ws, "watch", "dr_1"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testAlertRead: a raised alert reads back exactly as raised.
func testAlertRead(t *testing.T, open AlertOpener) {
	s, raise, c := openAlerts(t, open)
	rule := mustRule(t, s, "ws")
	in := sampleAlert(rule, 7, "tenant-1", c.Now())
	a := mustRaise(t, raise, "ws", in, "email")
	got, err := s.Alert(ctx(t), "ws", "", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameAlert(t, "Alert", got, stored(in, a.ID, "ws"))

	// A scan's alert is tied to no event: its sequence is -1.
	scan := vigil.Alert{RuleID: rule.ID, RuleName: rule.Name, RuleType: vigil.RuleHighVolume, RuleVersion: 1, Reason: "120 reads in an hour",
		Subject: "dr_3", ActorID: "dr_3", Sequence: -1, TriggeredAt: c.Advance(time.Second), Status: vigil.AlertOpen}
	b := mustRaise(t, raise, "ws", scan)
	if got, err = s.Alert(ctx(t), "ws", "", b.ID); err != nil {
		t.Fatal(err)
	}
	sameAlert(t, "scan alert", got, stored(scan, b.ID, "ws"))
	if _, err := s.Alert(ctx(t), "ws", "", "no-such-alert"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("Alert of no alert: %v, want %s", err, vigil.ENOTFOUND)
	}
	if _, err := s.Alert(ctx(t), "other", "", a.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("other read ws's alert: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testAlertOnce: a rule alerts once per event, however often the event is
// evaluated (re-evaluation after a crash, overlapping scans).
func testAlertOnce(t *testing.T, open AlertOpener) {
	s, raise, c := openAlerts(t, open)
	rule := mustRule(t, s, "ws")
	first := mustRaise(t, raise, "ws", sampleAlert(rule, 3, "", c.Now()), "email")
	again := sampleAlert(rule, 3, "", c.Advance(time.Minute))
	again.Reason = "evaluated again"
	if _, isNew, err := raise(ctx(t), "ws", again, []string{"email"}); err != nil || isNew {
		t.Fatalf("raising the rule's alert of event 3 again: new %v, %v", isNew, err)
	}
	// Another event, or another rule on the same event, alerts.
	mustRaise(t, raise, "ws", sampleAlert(rule, 4, "", c.Now()))
	other := mustRule(t, s, "ws")
	mustRaise(t, raise, "ws", sampleAlert(other, 3, "", c.Now()))
	page, err := s.Alerts(ctx(t), vigil.AlertQuery{Workspace: "ws"})
	if err != nil || page.Total != 3 || len(page.Alerts) != 3 {
		t.Fatalf("Alerts = %d of %d, %v; want 3", len(page.Alerts), page.Total, err)
	}
	got, err := s.Alert(ctx(t), "ws", "", first.ID)
	if err != nil || got.Reason != first.Reason || !got.TriggeredAt.Equal(first.TriggeredAt) {
		t.Fatalf("the first alert changed: %+v %v", got, err)
	}
}

func alertIDs(as []vigil.Alert) string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return strings.Join(ids, ",")
}

func idsOf(as ...vigil.Alert) string { return alertIDs(as) }

// testAlertList: Alerts lists a workspace's alerts newest first, each as
// stored, and counts them.
func testAlertList(t *testing.T, open AlertOpener) {
	s, raise, c := openAlerts(t, open)
	rule := mustRule(t, s, "ws")
	var want []vigil.Alert
	for i := range 4 {
		in := sampleAlert(rule, int64(i), "", c.Advance(time.Second))
		a := mustRaise(t, raise, "ws", in)
		want = append(want, stored(in, a.ID, "ws"))
	}
	theirRule := mustRule(t, s, "other")
	theirs := mustRaise(t, raise, "other", sampleAlert(theirRule, 0, "", c.Advance(time.Second)))
	page, err := s.Alerts(ctx(t), vigil.AlertQuery{Workspace: "ws"})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 4 || page.HasMore || page.Next != "" || len(page.Alerts) != 4 {
		t.Fatalf("Alerts(ws) = %d alerts, total %d, more %v, next %q", len(page.Alerts), page.Total, page.HasMore, page.Next)
	}
	for i := range page.Alerts {
		sameAlert(t, fmt.Sprintf("Alerts[%d]", i), page.Alerts[i], want[3-i])
	}
	page, err = s.Alerts(ctx(t), vigil.AlertQuery{Workspace: "other"})
	if err != nil || page.Total != 1 || alertIDs(page.Alerts) != theirs.ID {
		t.Fatalf("Alerts(other) = %s (total %d) %v, want %s", alertIDs(page.Alerts), page.Total, err, theirs.ID)
	}
	if _, err := s.Alerts(ctx(t), vigil.AlertQuery{Workspace: "never-made"}); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("Alerts of no workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testAlertFilters: each filter, and filters together, select exactly
// the matching alerts, and Total counts them; the time range includes
// From and excludes To.
func testAlertFilters(t *testing.T, open AlertOpener) {
	s, raise, c := openAlerts(t, open)
	rule := mustRule(t, s, "ws")
	base := c.Now()
	mk := func(seq int64, typ, tenant string, at time.Duration) vigil.Alert {
		in := sampleAlert(rule, seq, tenant, base.Add(at))
		in.RuleType = typ
		return mustRaise(t, raise, "ws", in)
	}
	a0 := mk(0, vigil.RuleWatchlist, "t1", 0)
	a1 := mk(1, vigil.RuleOffHours, "t1", time.Minute)
	a2 := mk(2, vigil.RuleWatchlist, "t2", 2*time.Minute)
	a3 := mk(3, vigil.RuleWatchlist, "", 3*time.Minute)
	a4 := mk(4, vigil.RuleOffHours, "t2", 4*time.Minute)
	resolved := vigil.AlertResolved
	for _, a := range []vigil.Alert{a1, a2} {
		if _, err := s.UpdateAlert(ctx(t), "ws", "", a.ID, &resolved, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		q    vigil.AlertQuery
		want []vigil.Alert
	}{
		{"all", vigil.AlertQuery{}, []vigil.Alert{a4, a3, a2, a1, a0}},
		{"type", vigil.AlertQuery{RuleType: vigil.RuleWatchlist}, []vigil.Alert{a3, a2, a0}},
		{"status", vigil.AlertQuery{Status: vigil.AlertResolved}, []vigil.Alert{a2, a1}},
		{"open", vigil.AlertQuery{Status: vigil.AlertOpen}, []vigil.Alert{a4, a3, a0}},
		{"tenant", vigil.AlertQuery{TenantScope: "t1"}, []vigil.Alert{a1, a0}},
		{"tenant none", vigil.AlertQuery{TenantScope: "t9"}, nil},
		{"from", vigil.AlertQuery{From: base.Add(2 * time.Minute)}, []vigil.Alert{a4, a3, a2}},
		{"to", vigil.AlertQuery{To: base.Add(2 * time.Minute)}, []vigil.Alert{a1, a0}},
		{"range", vigil.AlertQuery{From: base.Add(time.Minute), To: base.Add(3 * time.Minute)}, []vigil.Alert{a2, a1}},
		{"together", vigil.AlertQuery{TenantScope: "t2", RuleType: vigil.RuleWatchlist, Status: vigil.AlertResolved}, []vigil.Alert{a2}},
		{"empty range", vigil.AlertQuery{From: base.Add(time.Second), To: base.Add(time.Minute)}, nil},
	} {
		tc.q.Workspace = "ws"
		page, err := s.Alerts(ctx(t), tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got, want := alertIDs(page.Alerts), idsOf(tc.want...); got != want || page.Total != int64(len(tc.want)) || page.HasMore {
			t.Fatalf("%s: Alerts = [%s] total %d more %v, want [%s] total %d", tc.name, got, page.Total, page.HasMore, want, len(tc.want))
		}
	}
}

// testAlertPages: pages follow one another by the cursor without repeats
// or gaps, and Total counts every match on every page.
func testAlertPages(t *testing.T, open AlertOpener) {
	s, raise, c := openAlerts(t, open)
	rule := mustRule(t, s, "ws")
	var all []vigil.Alert
	for i := range 7 {
		all = append(all, mustRaise(t, raise, "ws", sampleAlert(rule, int64(i), "", c.Advance(time.Second))))
	}
	slices.Reverse(all)
	q := vigil.AlertQuery{Workspace: "ws", Limit: 3}
	var pages []string
	for n := 0; ; n++ {
		if n > 5 {
			t.Fatal("paging does not end")
		}
		page, err := s.Alerts(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 7 {
			t.Fatalf("page %d total %d, want 7", n, page.Total)
		}
		pages = append(pages, alertIDs(page.Alerts))
		if !page.HasMore {
			if page.Next != "" {
				t.Fatalf("last page has a next cursor %q", page.Next)
			}
			break
		}
		if page.Next == "" {
			t.Fatal("a page with more has no next cursor")
		}
		q.Before = page.Next
	}
	want := []string{idsOf(all[0:3]...), idsOf(all[3:6]...), idsOf(all[6:]...)}
	if !slices.Equal(pages, want) {
		t.Fatalf("pages\n %q, want\n %q", pages, want)
	}
}

// testAlertUpdate: status and notes change independently, the store
// stamps the time, and the rest of the alert is kept.
func testAlertUpdate(t *testing.T, open AlertOpener) {
	s, raise, c := openAlerts(t, open)
	rule := mustRule(t, s, "ws")
	in := sampleAlert(rule, 1, "t1", c.Now())
	a := mustRaise(t, raise, "ws", in)
	want := stored(in, a.ID, "ws")

	status := vigil.AlertInvestigating
	want.Status, want.UpdatedAt = status, c.Advance(time.Minute)
	got, err := s.UpdateAlert(ctx(t), "ws", "", a.ID, &status, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameAlert(t, "UpdateAlert(status)", got, want)

	notes := "called the clinic; a covering physician"
	want.Notes, want.UpdatedAt = notes, c.Advance(time.Minute)
	if got, err = s.UpdateAlert(ctx(t), "ws", "t1", a.ID, nil, &notes); err != nil {
		t.Fatal(err)
	}
	sameAlert(t, "UpdateAlert(notes)", got, want)

	fp, none := vigil.AlertFalsePositive, ""
	want.Status, want.Notes, want.UpdatedAt = fp, "", c.Advance(time.Minute)
	if got, err = s.UpdateAlert(ctx(t), "ws", "", a.ID, &fp, &none); err != nil {
		t.Fatal(err)
	}
	sameAlert(t, "UpdateAlert(both)", got, want)
	if got, err = s.Alert(ctx(t), "ws", "", a.ID); err != nil {
		t.Fatal(err)
	}
	sameAlert(t, "Alert after updates", got, want)
	if _, err := s.UpdateAlert(ctx(t), "ws", "", "no-such-alert", &fp, nil); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("UpdateAlert of no alert: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testAlertBadUpdate: a status that is not an alert status is refused with
// EINVALID, and the alert is left as it was (notes given with it too).
func testAlertBadUpdate(t *testing.T, open AlertOpener) {
	s, raise, c := openAlerts(t, open)
	rule := mustRule(t, s, "ws")
	in := sampleAlert(rule, 1, "", c.Now())
	a := mustRaise(t, raise, "ws", in)
	c.Advance(time.Minute)
	notes := "should not be kept"
	for _, bad := range []string{"closed", "", "OPEN"} {
		if _, err := s.UpdateAlert(ctx(t), "ws", "", a.ID, &bad, &notes); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Fatalf("UpdateAlert(status %q): %v, want %s", bad, err, vigil.EINVALID)
		}
	}
	got, err := s.Alert(ctx(t), "ws", "", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameAlert(t, "Alert after refused updates", got, stored(in, a.ID, "ws"))
}

// testAlertScope: a tenant scope sees and changes only its tenant's
// alerts, and another workspace sees none.
func testAlertScope(t *testing.T, open AlertOpener) {
	s, raise, c := openAlerts(t, open)
	rule := mustRule(t, s, "ws")
	in1 := sampleAlert(rule, 1, "t1", c.Now())
	a1 := mustRaise(t, raise, "ws", in1)
	in2 := sampleAlert(rule, 2, "t2", c.Advance(time.Second))
	a2 := mustRaise(t, raise, "ws", in2)
	in3 := sampleAlert(rule, 3, "", c.Advance(time.Second))
	a3 := mustRaise(t, raise, "ws", in3)
	if got, err := s.Alert(ctx(t), "ws", "t1", a1.ID); err != nil || got.ID != a1.ID {
		t.Fatalf("t1 reading its alert: %+v %v", got, err)
	}
	status, notes := vigil.AlertResolved, "not mine"
	for _, id := range []string{a2.ID, a3.ID} {
		if _, err := s.Alert(ctx(t), "ws", "t1", id); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("t1 read alert %s: %v, want %s", id, err, vigil.ENOTFOUND)
		}
		if _, err := s.UpdateAlert(ctx(t), "ws", "t1", id, &status, &notes); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("t1 updated alert %s: %v, want %s", id, err, vigil.ENOTFOUND)
		}
		if _, err := s.UpdateAlert(ctx(t), "other", "", id, &status, &notes); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("workspace other updated alert %s: %v, want %s", id, err, vigil.ENOTFOUND)
		}
	}
	for id, want := range map[string]vigil.Alert{a2.ID: stored(in2, a2.ID, "ws"), a3.ID: stored(in3, a3.ID, "ws")} {
		got, err := s.Alert(ctx(t), "ws", "", id)
		if err != nil {
			t.Fatal(err)
		}
		sameAlert(t, "alert after out-of-scope updates", got, want)
	}
	page, err := s.Alerts(ctx(t), vigil.AlertQuery{Workspace: "other"})
	if err != nil || page.Total != 0 || len(page.Alerts) != 0 {
		t.Fatalf("other lists %d (total %d) %v, want none", len(page.Alerts), page.Total, err)
	}
}
