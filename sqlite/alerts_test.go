package sqlite_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/sqlite"
)

func watchRule(ws string, actors ...string) vigil.AlertRule {
	cond, _ := json.Marshal(map[string]any{"actors": actors})
	return vigil.AlertRule{Workspace: ws, Name: "watch", Type: vigil.RuleWatchlist, Conditions: cond,
		Channels: []string{"webhook"}, Enabled: true}
}

func TestAlertRulesStore(t *testing.T) {
	db := MustOpenDB(t, t.TempDir())
	defer db.Close()
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	r, err := db.CreateRule(ctx(t), watchRule("ws", "a"))
	if err != nil || r.ID == "" || r.Version != 1 {
		t.Fatalf("create: %+v %v", r, err)
	}
	r.Enabled, r.Name, r.Throttle = false, "renamed", time.Minute
	u, err := db.UpdateRule(ctx(t), r)
	if err != nil || u.Version != 2 || u.Enabled || u.Name != "renamed" || u.Throttle != time.Minute || u.UpdatedAt.Before(u.CreatedAt) {
		t.Fatalf("update: %+v %v", u, err)
	}
	vs, err := db.RuleVersions(ctx(t), "ws", r.ID)
	if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[0].Name != "watch" || !vs[0].Enabled || vs[1].Version != 2 || vs[1].Enabled {
		t.Fatalf("versions %+v %v", vs, err)
	}
	rules, err := db.Rules(ctx(t), "ws")
	if err != nil || len(rules) != 1 || rules[0].Channels[0] != "webhook" || string(rules[0].Conditions) != `{"actors":["a"]}` {
		t.Fatalf("rules %+v %v", rules, err)
	}
	if _, err := db.Rule(ctx(t), "ws", "nope"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("missing rule: %v", err)
	}
	r.ID = "nope"
	if _, err := db.UpdateRule(ctx(t), r); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("update of a missing rule: %v", err)
	}
	if _, err := db.Rules(ctx(t), "other"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("rules of a missing workspace: %v", err)
	}
}

// The evaluator follows commits by itself, and the outbox hands each
// delivery out until it is delivered or given up.
func TestEvaluatorFollowsCommitsAndOutbox(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, dir)
	defer db.Close()
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRule(ctx(t), watchRule("ws", "emp_1")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	woken := 0
	ev := db.AlertEvaluator(sqlite.AlertOptions{Channels: []string{"webhook"}, OnAlerts: func() { mu.Lock(); woken++; mu.Unlock() }})
	db.OnCommit(ev.Committed)
	runCtx, stop := context.WithCancel(ctx(t))
	done := make(chan struct{})
	go func() { defer close(done); ev.Run(runCtx, time.Hour, 0, 0) }() // only commits wake it
	for _, actor := range []string{"emp_1", "x", "emp_1"} {
		if _, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: actor, Action: "a.viewed"}}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for db.AlertCursor(ctx(t), "ws") < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the evaluator did not follow the commits")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	mu.Lock()
	if woken == 0 {
		t.Error("OnAlerts was not called")
	}
	mu.Unlock()

	now := time.Now()
	due, err := db.DueDeliveries(ctx(t), now, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("due %+v %v", due, err)
	}
	d := due[0]
	if d.Channel != "webhook" || d.Alert.ID == "" || d.Alert.Workspace != "ws" || d.Alert.ActorID != "emp_1" || d.Alert.Sequence != 0 {
		t.Fatalf("delivery %+v", d)
	}
	// A failed attempt waits for its next time; a given-up one never returns.
	if err := db.DeliveryFailed(ctx(t), d.ID, 1, now.Add(time.Minute), "503"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeliveryFailed(ctx(t), due[1].ID, 20, time.Time{}, "gone"); err != nil {
		t.Fatal(err)
	}
	if due, _ := db.DueDeliveries(ctx(t), now, 10); len(due) != 0 {
		t.Fatalf("due before the retry time: %+v", due)
	}
	due, _ = db.DueDeliveries(ctx(t), now.Add(2*time.Minute), 10)
	if len(due) != 1 || due[0].ID != d.ID || due[0].Attempts != 1 {
		t.Fatalf("due after the retry time: %+v", due)
	}
	if err := db.Delivered(ctx(t), d.ID, now); err != nil {
		t.Fatal(err)
	}
	if due, _ := db.DueDeliveries(ctx(t), now.Add(time.Hour), 10); len(due) != 0 {
		t.Fatalf("due after delivery: %+v", due)
	}
	a, err := db.Alert(ctx(t), "ws", "", d.Alert.ID)
	if err != nil || a.NotifiedAt.UnixNano() != now.UnixNano() {
		t.Fatalf("notified_at %v, want %v (%v)", a.NotifiedAt, now, err)
	}
	// Status and notes.
	st, notes := vigil.AlertResolved, "checked"
	a, err = db.UpdateAlert(ctx(t), "ws", "", a.ID, &st, &notes)
	if err != nil || a.Status != st || a.Notes != notes || a.UpdatedAt.IsZero() {
		t.Fatalf("update %+v %v", a, err)
	}
	if _, err := db.UpdateAlert(ctx(t), "ws", "tenant", a.ID, &st, nil); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("another tenant's alert: %v", err)
	}
}

// The background verifier's findings become tamper alerts, once each.
func TestVerifierFindingsRaiseTamperAlerts(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, dir)
	defer db.Close()
	seedLog(t, db, 10)
	ev := db.AlertEvaluator(sqlite.AlertOptions{Channels: []string{"email"}, TamperThrottle: time.Hour})
	if n, err := ev.Pass(ctx(t)); err != nil || n != 0 {
		t.Fatalf("clean log: %d alerts, %v", n, err)
	}
	bypassTriggers(t, rawDB(t, dir), "UPDATE events SET actor_id = 'intruder' WHERE seq = 4")
	var found []vigil.Break
	if err := db.VerifyPass(ctx(t), 0, func(_ string, b []vigil.Break) { found = append(found, b...) }); err != nil {
		t.Fatal(err)
	}
	n, err := ev.Pass(ctx(t))
	if err != nil || n != len(found) || n == 0 {
		t.Fatalf("%d tamper alerts for %d findings, %v", n, len(found), err)
	}
	page, err := db.Alerts(ctx(t), vigil.AlertQuery{Workspace: "ws", RuleType: vigil.RuleTamper})
	if err != nil || page.Total != int64(n) || page.Alerts[0].RuleType != vigil.RuleTamper {
		t.Fatalf("alerts %+v %v", page, err)
	}
	// A second verification stores nothing new; nothing is raised again.
	if err := db.VerifyPass(ctx(t), 0, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := ev.Pass(ctx(t)); err != nil || n != 0 {
		t.Fatalf("%d alerts on the second pass, %v", n, err)
	}
	// Each finding has its own subject (type@sequence): each notifies.
	if due, _ := db.DueDeliveries(ctx(t), time.Now(), 100); len(due) != n {
		t.Fatalf("%d tamper notifications for %d alerts", len(due), n)
	}
}

// Run scans stored events on its interval: a rule created after its
// events were passed still raises their alerts.
func TestRunScansOnInterval(t *testing.T) {
	db := MustOpenDB(t, t.TempDir())
	defer db.Close()
	seedLog(t, db, 5) // actors actor-000 ... actor-004
	ev := db.AlertEvaluator(sqlite.AlertOptions{Channels: []string{"email"}})
	if events, deliveries, err := db.AlertBacklog(ctx(t)); err != nil || events != 5 || deliveries != 0 {
		t.Fatalf("backlog before: %d events, %d deliveries, %v", events, deliveries, err)
	}
	if _, err := ev.Pass(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if events, _, err := db.AlertBacklog(ctx(t)); err != nil || events != 0 {
		t.Fatalf("backlog after a pass: %d events, %v", events, err)
	}
	if _, err := db.CreateRule(ctx(t), watchRule("ws", "actor-001", "actor-003")); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx(t))
	done := make(chan struct{})
	go func() { defer close(done); ev.Run(runCtx, time.Hour, 20*time.Millisecond, time.Hour) }()
	defer func() { stop(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := db.Alerts(ctx(t), vigil.AlertQuery{Workspace: "ws"})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total == 2 {
			if page.Alerts[0].ActorID != "actor-003" || page.Alerts[1].ActorID != "actor-001" {
				t.Fatalf("alerts %+v", page.Alerts)
			}
			break
		}
		if page.Total > 2 || time.Now().After(deadline) {
			t.Fatalf("%d alerts", page.Total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // several more scans
	if page, _ := db.Alerts(ctx(t), vigil.AlertQuery{Workspace: "ws"}); page.Total != 2 {
		t.Fatalf("repeated scans raised %d alerts", page.Total)
	}
	if _, deliveries, err := db.AlertBacklog(ctx(t)); err != nil || deliveries != 2 {
		t.Fatalf("outbox: %d deliveries, %v", deliveries, err)
	}
}

// A pass gives each workspace a bounded share of work; Pass goes on until
// every log is followed to its end.
func TestPassCoversLongBacklogs(t *testing.T) {
	db := MustOpenDB(t, t.TempDir())
	defer db.Close()
	seedLog(t, db, 60)
	if _, err := db.CreateRule(ctx(t), watchRule("ws", "actor-000", "actor-059")); err != nil {
		t.Fatal(err)
	}
	ev := db.AlertEvaluator(sqlite.AlertOptions{Batch: 2}) // 30 batches: more than one pass's share
	if n, err := ev.Pass(ctx(t)); err != nil || n != 2 {
		t.Fatalf("%d alerts, %v", n, err)
	}
	if next := db.AlertCursor(ctx(t), "ws"); next != 60 {
		t.Fatalf("cursor at %d", next)
	}
}
