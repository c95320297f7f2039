package alert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
	"github.com/vigilhq/vigil/alert/alerttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// evalRules are the rules of testdata/evaluator/rules.json: every type,
// each option of each type used by one of them, with thresholds and
// windows the golden stream crosses often; both workspaces have their
// own. Each rule's id is its name.
func evalRules(t testing.TB) []*alert.Rule {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "evaluator", "rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	var defs []struct {
		WS   string          `json:"ws"`
		Type string          `json:"type"`
		Cond json.RawMessage `json:"cond"`
	}
	if err := json.Unmarshal(raw, &defs); err != nil {
		t.Fatal(err)
	}
	var rules []*alert.Rule
	for i, d := range defs {
		id := fmt.Sprintf("r%02d-%s", i, d.Type)
		r, err := alert.Compile(vigil.AlertRule{ID: id, Workspace: d.WS, Name: id,
			Type: d.Type, Conditions: d.Cond, Enabled: true, Version: 1})
		if err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
		rules = append(rules, r)
	}
	return rules
}

// evalStream is a fixed stream of a clinic's day in two workspaces: a few
// actors in sessions, patients and records seen again and again,
// countries (and none), failures, deletions and exports, with gaps from a
// second to more than an hour so that every window both fills and slides.
// created_at increases along each workspace's sequence, as the store
// makes it.
func evalStream(seed uint64, n int) []vigil.Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	actions := []string{"patient_record.viewed", "patient_record.viewed", "patient_record.updated", "lab.accessed",
		"user.login", "patient_record.deleted", "report.exported"}
	outcomes := []vigil.Outcome{"", vigil.OutcomeSuccess, vigil.OutcomeSuccess, vigil.OutcomeFailure, vigil.OutcomeMinorFailure}
	next := map[string]int64{}
	now := map[string]time.Time{
		"ws-a": time.Date(2026, 3, 6, 23, 0, 0, 0, time.UTC), // Friday 15:00 in Los Angeles
		"ws-b": time.Date(2026, 3, 7, 8, 0, 0, 0, time.UTC),
	}
	var events []vigil.Event
	for range n {
		ws := pick("ws-a", "ws-a", "ws-a", "ws-b")
		gap := time.Duration(1+rng.IntN(90)) * time.Second
		if rng.IntN(40) == 0 {
			gap = time.Duration(20+rng.IntN(100)) * time.Minute
		}
		now[ws] = now[ws].Add(gap)
		actor := fmt.Sprintf("dr_%d", rng.IntN(8))
		e := vigil.Event{
			ID: fmt.Sprintf("%s-%04d", ws, next[ws]), Workspace: ws, Sequence: next[ws], CreatedAt: now[ws],
			OccurredAt: now[ws].Add(-time.Duration(rng.IntN(3600)) * time.Second),
			ActorID:    actor, SessionID: actor + "-" + pick("s1", "s2", ""), TenantID: pick("t1", "t2", ""),
			Action: actions[rng.IntN(len(actions))], Outcome: outcomes[rng.IntN(len(outcomes))],
			PatientID: pick("p1", "p2", "p3", "p4", "p5", "p6", ""), Resource: pick("patient_record", "lab", ""),
			ResourceID: pick("r1", "r2", "r3", "r4", "r5", ""), IPCountry: pick("US", "US", "US", "CA", "DE", ""),
		}
		next[ws]++
		events = append(events, e)
	}
	return events
}

// golden is an alert as the golden file keeps it: what the rules decide,
// not the clock.
type golden struct {
	Workspace string `json:"workspace"`
	Rule      string `json:"rule"`
	Sequence  int64  `json:"seq"`
	Subject   string `json:"subject"`
	Tenant    string `json:"tenant,omitempty"`
	Reason    string `json:"reason"`
}

func goldens(alerts []vigil.Alert) []golden {
	out := make([]golden, len(alerts))
	for i, a := range alerts {
		out[i] = golden{a.Workspace, a.RuleID, a.Sequence, a.Subject, a.TenantID, a.Reason}
	}
	return out
}

// reference evaluates events one by one with Rule.Evaluate over a
// History of the log so far (alerttest.Memory, the reference every
// store's History is held to by alerttest.TestHistory).
func reference(t testing.TB, rules []*alert.Rule, events []vigil.Event) []vigil.Alert {
	t.Helper()
	mem := alerttest.NewMemory()
	byWS := map[string][]*alert.Rule{}
	for _, r := range rules {
		byWS[r.Definition().Workspace] = append(byWS[r.Definition().Workspace], r)
	}
	var out []vigil.Alert
	for _, e := range events {
		mem.Add(e)
		as, err := alert.EvaluateAll(context.Background(), byWS[e.Workspace], e, mem)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, as...)
	}
	return out
}

func apply(t testing.TB, ev *alert.Evaluator, events []vigil.Event) []vigil.Alert {
	t.Helper()
	var out []vigil.Alert
	for batch := range slices.Chunk(events, 37) {
		as, err := ev.Apply(batch)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, as...)
	}
	return out
}

func sameAlerts(t testing.TB, what string, got, want []golden) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	for i := range max(len(got), len(want)) {
		var g, w golden
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("%s: %d alerts, want %d; first difference at %d:\n got  %+v\n want %+v", what, len(got), len(want), i, g, w)
		}
	}
}

// The in-memory evaluator raises, over a fixed stream, the alerts of the
// golden file: every rule type and option fires, and the file is what
// Rule.Evaluate over a History gives (checked below), so a change of
// either shows here.
func TestEvaluatorGolden(t *testing.T) {
	rules := evalRules(t)
	dir := filepath.Join("testdata", "evaluator")
	if *update {
		writeJSON(t, filepath.Join(dir, "events.json"), fixtureOf(evalStream(1, 800)))
	}
	var fx []fixtureEvent
	readJSON(t, filepath.Join(dir, "events.json"), &fx)
	events := eventsOf(fx)
	got := goldens(apply(t, alert.NewEvaluator(rules, alert.Options{}), events))
	if *update {
		writeJSON(t, filepath.Join(dir, "alerts.golden.json"), got)
	}
	var want []golden
	readJSON(t, filepath.Join(dir, "alerts.golden.json"), &want)
	sameAlerts(t, "golden", got, want)
	sameAlerts(t, "golden by the History", goldens(reference(t, rules, events)), want)

	fired := map[string]int{}
	for _, a := range got {
		fired[a.Rule]++
	}
	for _, r := range rules {
		id := r.Definition().ID
		if r.Definition().Type != vigil.RuleTamper && fired[id] == 0 {
			t.Errorf("rule %s never fires on the golden stream", id)
		}
	}
}

// The in-memory evaluator and Rule.Evaluate over a History agree, alert
// for alert, on the golden stream and on random ones.
func TestEvaluatorMatchesHistory(t *testing.T) {
	rules := evalRules(t)
	for seed := uint64(1); seed <= 12; seed++ {
		events := evalStream(seed, 1500)
		want := goldens(reference(t, rules, events))
		got := goldens(apply(t, alert.NewEvaluator(rules, alert.Options{}), events))
		sameAlerts(t, fmt.Sprintf("seed %d", seed), got, want)
		if len(want) == 0 {
			t.Fatalf("seed %d raised nothing", seed)
		}
	}
}

// memLog is a vigil.EventLog's EventsFrom over a stream.
type memLog struct{ events []vigil.Event }

func (l memLog) EventsFrom(_ context.Context, workspace string, from int64, limit int) ([]vigil.Event, error) {
	var out []vigil.Event
	for _, e := range l.events {
		if e.Workspace == workspace && e.Sequence >= from && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// A follower that restarts mid-stream rebuilds the state from the log and
// raises exactly the alerts an uninterrupted one raises after that point.
func TestEvaluatorRebuildMidStream(t *testing.T) {
	rules := evalRules(t)
	events := evalStream(3, 1500)
	all := goldens(apply(t, alert.NewEvaluator(rules, alert.Options{}), events))
	for _, cut := range []int{1, 200, 777, 1499} {
		ev := alert.NewEvaluator(rules, alert.Options{})
		log := memLog{events[:cut]}
		next := map[string]int64{}
		for _, e := range events[:cut] {
			next[e.Workspace] = e.Sequence + 1
		}
		read := 0
		for _, ws := range []string{"ws-a", "ws-b"} {
			n, err := ev.Rebuild(context.Background(), log, ws, next[ws])
			if err != nil {
				t.Fatal(err)
			}
			read += n
		}
		if cut > 200 && read >= cut {
			t.Errorf("cut %d: the rebuild read %d events, the whole log: it should read only the longest window", cut, read)
		}
		got := goldens(apply(t, ev, events[cut:]))
		var want []golden
		for _, a := range all {
			if a.Sequence >= next[a.Workspace] {
				want = append(want, a)
			}
		}
		sameAlerts(t, fmt.Sprintf("cut %d", cut), got, want)
	}
}

// A rule added mid-stream is rebuilt from the log: from then on it raises
// what it would have raised had it always been there; the other rules
// keep their state (the rebuild reads only for the new one).
func TestEvaluatorRuleAddedMidStream(t *testing.T) {
	rules := evalRules(t)
	events := evalStream(5, 1200)
	all := goldens(apply(t, alert.NewEvaluator(rules, alert.Options{}), events))
	var wsA []*alert.Rule
	for _, r := range rules {
		if r.Definition().Workspace == "ws-a" {
			wsA = append(wsA, r)
		}
	}
	late := wsA[4] // high_volume by actor
	early := slices.Delete(slices.Clone(wsA), 4, 5)
	ev := alert.NewEvaluator(early, alert.Options{})
	const cut = 600
	apply(t, ev, events[:cut])
	ev.SetRules("ws-a", wsA)
	firstA := cut
	for events[firstA].Workspace != "ws-a" {
		firstA++
	}
	if _, err := ev.Apply(events[firstA : firstA+1]); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("Apply with a cold rule: %v, want ECONFLICT", err)
	}
	// The failed Apply forgot the workspace: the rebuild covers every rule.
	next := ev.Next("ws-a")
	if next != -1 {
		t.Fatalf("Next after a failed Apply = %d", next)
	}
	var seqA int64
	for _, e := range events[:cut] {
		if e.Workspace == "ws-a" {
			seqA = e.Sequence + 1
		}
	}
	if _, err := ev.Rebuild(context.Background(), memLog{events[:cut]}, "ws-a", seqA); err != nil {
		t.Fatal(err)
	}
	got := goldens(apply(t, ev, events[cut:]))
	var want []golden
	for _, a := range all {
		if a.Workspace == "ws-a" && a.Sequence >= seqA { // ev has no rules of ws-b
			want = append(want, a)
		}
	}
	sameAlerts(t, "after adding "+late.Definition().ID, got, want)
}

// Adding a rule to a warm workspace rebuilds only that rule.
func TestEvaluatorRebuildsOnlyNewRules(t *testing.T) {
	rules := evalRules(t)
	events := evalStream(9, 800)
	var wsB []vigil.Event
	for _, e := range events {
		if e.Workspace == "ws-b" {
			wsB = append(wsB, e)
		}
	}
	ev := alert.NewEvaluator(rules[12:13], alert.Options{})
	apply(t, ev, wsB)
	next := int64(len(wsB))
	if n, err := ev.Rebuild(context.Background(), memLog{wsB}, "ws-b", next); err != nil || n != 0 {
		t.Fatalf("rebuild of a warm workspace read %d, %v", n, err)
	}
	ev.SetRules("ws-b", rules[12:15])
	n, err := ev.Rebuild(context.Background(), memLog{wsB}, "ws-b", next)
	if err != nil || n == 0 {
		t.Fatalf("rebuild for new rules read %d, %v", n, err)
	}
	more := evalStream(10, 400)
	var tail []vigil.Event
	for _, e := range more {
		if e.Workspace == "ws-b" {
			e.Sequence, e.ID = next, fmt.Sprintf("ws-b-%04d", next)
			e.CreatedAt = wsB[len(wsB)-1].CreatedAt.Add(time.Duration(next-int64(len(wsB))+1) * 30 * time.Second)
			next++
			tail = append(tail, e)
		}
	}
	got := goldens(apply(t, ev, tail))
	want := goldens(reference(t, rules[12:15], append(slices.Clone(wsB), tail...)))
	want = slices.DeleteFunc(want, func(g golden) bool { return g.Sequence < int64(len(wsB)) })
	sameAlerts(t, "after adding rules", got, want)
}

func TestEvaluatorApplyOutOfOrder(t *testing.T) {
	ev := alert.NewEvaluator(evalRules(t), alert.Options{})
	events := evalStream(2, 50)
	var a []vigil.Event
	for _, e := range events {
		if e.Workspace == "ws-a" {
			a = append(a, e)
		}
	}
	if _, err := ev.Apply(a[1:2]); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("a first event that does not start the log: %v", err)
	}
	if _, err := ev.Apply(a[:2]); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Apply(a[1:2]); vigil.ErrorCode(err) != vigil.ECONFLICT || !strings.Contains(err.Error(), "rebuild") {
		t.Fatalf("an event applied twice: %v", err)
	}
	if ev.Next("ws-a") != -1 {
		t.Fatal("the state survived an out-of-order Apply")
	}
}

// The state stays within its bounds: subjects quiet for longer than the
// windows are dropped, windows hold at most what their rule needs, and
// MaxHeld caps each rule.
func TestEvaluatorStateBounded(t *testing.T) {
	rules := evalRules(t)
	const n = 60_000
	t0 := time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)
	stream := func(yield func([]vigil.Event) bool) {
		batch := make([]vigil.Event, 0, 500)
		for i := range n {
			// A new session every 20 events, ten actors at a time.
			actor := fmt.Sprintf("dr_%d", i/20%10+i/2000*10)
			batch = append(batch, vigil.Event{ID: fmt.Sprint(i), Workspace: "ws-a", Sequence: int64(i),
				CreatedAt: t0.Add(time.Duration(i) * time.Second), ActorID: actor, SessionID: fmt.Sprintf("s%d", i/20),
				Action: "patient_record.viewed", PatientID: fmt.Sprintf("p%d", i), Resource: "patient_record",
				ResourceID: fmt.Sprintf("r%d", i), Outcome: vigil.OutcomeFailure, IPCountry: []string{"US", "CA"}[i%2]})
			if len(batch) == cap(batch) {
				if !yield(batch) {
					return
				}
				batch = batch[:0]
			}
		}
	}
	ev := alert.NewEvaluator(rules, alert.Options{})
	peak := alert.Stats{}
	for batch := range stream {
		if _, err := ev.Apply(batch); err != nil {
			t.Fatal(err)
		}
		s := ev.Stats()
		peak.Subjects, peak.Held = max(peak.Subjects, s.Subjects), max(peak.Held, s.Held)
	}
	// The longest window is new_country's default 90 days, whose entries
	// are an actor's countries (two here, with at most six stamps held):
	// 300 actors over the run, 1,800 entries. The volume and failure rules
	// keep at most threshold(+1) entries of each of the few actors and
	// sessions active in their windows (20 minutes to an hour).
	if peak.Held > 3500 || peak.Subjects > 1000 {
		t.Fatalf("state grew to %d entries over %d subjects", peak.Held, peak.Subjects)
	}
	if s := ev.Stats(); s.Evicted != 0 {
		t.Fatalf("%d subjects evicted under the default bound", s.Evicted)
	}

	// Under a tight bound the least recently active subjects go.
	tight := alert.NewEvaluator(rules, alert.Options{MaxHeld: 50})
	for batch := range stream {
		if _, err := tight.Apply(batch); err != nil {
			t.Fatal(err)
		}
		if s := tight.Stats(); s.Held > 50*9 {
			t.Fatalf("%d entries held over 9 stateful rules bounded to 50 each", s.Held)
		}
	}
	if s := tight.Stats(); s.Evicted == 0 {
		t.Fatal("nothing evicted under a tight bound")
	}
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	var b bytes.Buffer
	// One element a line: small files whose diffs read well.
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		t.Fatal(err)
	}
	b.WriteString("[\n")
	for i, e := range elems {
		b.Write(e)
		if i < len(elems)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./alert -run TestEvaluatorGolden -update writes it)", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// fixtureEvent is an event of testdata/evaluator/events.json: the fields
// the rules read.
type fixtureEvent struct {
	Workspace  string        `json:"ws"`
	Sequence   int64         `json:"seq"`
	CreatedAt  time.Time     `json:"created_at"`
	OccurredAt time.Time     `json:"occurred_at"`
	ActorID    string        `json:"actor_id"`
	SessionID  string        `json:"session_id,omitempty"`
	TenantID   string        `json:"tenant_id,omitempty"`
	Action     string        `json:"action"`
	Outcome    vigil.Outcome `json:"outcome,omitempty"`
	PatientID  string        `json:"patient_id,omitempty"`
	Resource   string        `json:"resource,omitempty"`
	ResourceID string        `json:"resource_id,omitempty"`
	IPCountry  string        `json:"ip_country,omitempty"`
}

func fixtureOf(events []vigil.Event) []fixtureEvent {
	out := make([]fixtureEvent, len(events))
	for i, e := range events {
		out[i] = fixtureEvent{e.Workspace, e.Sequence, e.CreatedAt, e.OccurredAt, e.ActorID, e.SessionID, e.TenantID,
			e.Action, e.Outcome, e.PatientID, e.Resource, e.ResourceID, e.IPCountry}
	}
	return out
}

func eventsOf(fx []fixtureEvent) []vigil.Event {
	out := make([]vigil.Event, len(fx))
	for i, f := range fx {
		out[i] = vigil.Event{ID: fmt.Sprintf("%s-%04d", f.Workspace, f.Sequence), Workspace: f.Workspace, Sequence: f.Sequence,
			CreatedAt: f.CreatedAt, OccurredAt: f.OccurredAt, ActorID: f.ActorID, SessionID: f.SessionID, TenantID: f.TenantID,
			Action: f.Action, Outcome: f.Outcome, PatientID: f.PatientID, Resource: f.Resource, ResourceID: f.ResourceID,
			IPCountry: f.IPCountry}
	}
	return out
}
