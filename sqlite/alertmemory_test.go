package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/sqlite"
)

// The golden stream of package alert (testdata/evaluator): its rules, its
// events and the alerts they raise.
var goldenDir = filepath.Join("..", "alert", "testdata", "evaluator")

type goldenAlert struct {
	Workspace string `json:"workspace"`
	Rule      string `json:"rule"`
	Sequence  int64  `json:"seq"`
	Subject   string `json:"subject"`
	Tenant    string `json:"tenant,omitempty"`
	Reason    string `json:"reason"`
}

type goldenEvent struct {
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

func readGolden(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// fixedClock is the store's clock, set before each append so that the
// events get the golden stream's created_at.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fixedClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// goldenStore opens a store at dir holding the golden stream and its
// rules (each named by its golden id), as the store assigned them.
func goldenStore(t *testing.T, dir string) (*embedded.Store, *fixedClock) {
	t.Helper()
	clock := &fixedClock{t: time.Now()}
	countries := map[string]string{}
	db := openGoldenStore(t, dir, clock, countries)
	var rules []struct {
		WS   string          `json:"ws"`
		Type string          `json:"type"`
		Cond json.RawMessage `json:"cond"`
	}
	readGolden(t, "rules.json", &rules)
	for _, ws := range []string{"ws-a", "ws-b"} {
		if _, err := db.EnsureWorkspace(ctx(t), ws); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range rules {
		if _, err := db.CreateRule(ctx(t), vigil.AlertRule{Workspace: r.WS, Name: fmt.Sprintf("r%02d-%s", i, r.Type), Type: r.Type,
			Conditions: r.Cond, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	var events []goldenEvent
	readGolden(t, "events.json", &events)
	for _, g := range events {
		// Countries come from enrichment, which the store owns.
		key := fmt.Sprintf("%s-%d", g.Workspace, g.Sequence)
		countries[key] = g.IPCountry
		clock.set(g.CreatedAt)
		res, err := db.Append(ctx(t), g.Workspace, []vigil.Event{{IdempotencyKey: key, OccurredAt: g.OccurredAt,
			ActorID: g.ActorID, SessionID: g.SessionID, TenantID: g.TenantID, Action: g.Action, Outcome: g.Outcome, IPAddress: "203.0.113.7",
			PatientID: g.PatientID, Resource: g.Resource, ResourceID: g.ResourceID}})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Sequence != g.Sequence {
			t.Fatalf("event %s stored at %d", key, res[0].Sequence)
		}
	}
	return db, clock
}

func openGoldenStore(t *testing.T, dir string, clock *fixedClock, countries map[string]string) *embedded.Store {
	t.Helper()
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{
		Path: filepath.Join(dir, "vigil.db"), LogName: "test.vigil", SigningKey: testKey,
		WitnessPath: filepath.Join(dir, "ledger.witness"), Now: clock.Now,
	}, Enrich: func(e *vigil.Event) { e.IPCountry = countries[e.IdempotencyKey] }})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// storedAlerts reads every alert of the golden workspaces, in the golden
// file's order (event, then rule).
func storedAlerts(t *testing.T, db *embedded.Store) []goldenAlert {
	t.Helper()
	var out []goldenAlert
	for _, ws := range []string{"ws-a", "ws-b"} {
		q := vigil.AlertQuery{Workspace: ws, Limit: 500}
		for {
			page, err := db.Alerts(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page.Alerts {
				out = append(out, goldenAlert{a.Workspace, a.RuleName, a.Sequence, a.Subject, a.TenantID, a.Reason})
			}
			if !page.HasMore {
				break
			}
			q.Before = page.Next
		}
	}
	slices.SortFunc(out, func(a, b goldenAlert) int {
		if a.Workspace != b.Workspace {
			return cmpStr(a.Workspace, b.Workspace)
		}
		if a.Sequence != b.Sequence {
			return int(a.Sequence - b.Sequence)
		}
		return cmpStr(a.Rule, b.Rule)
	})
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func wantGolden(t *testing.T) []goldenAlert {
	var want []goldenAlert
	readGolden(t, "alerts.golden.json", &want)
	slices.SortStableFunc(want, func(a, b goldenAlert) int { return cmpStr(a.Workspace, b.Workspace) })
	return want
}

func sameGolden(t *testing.T, got, want []goldenAlert) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		var g, w goldenAlert
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("%d alerts stored, want %d; first difference at %d:\n got  %+v\n want %+v", len(got), len(want), i, g, w)
		}
	}
}

// The store's evaluator raises the golden alerts over the golden stream,
// each once: in-memory evaluation over events as the store keeps them
// gives what the rules give.
func TestEvaluatorGoldenStream(t *testing.T) {
	db, _ := goldenStore(t, t.TempDir())
	defer db.Close()
	if _, err := db.AlertEvaluator(sqlite.AlertOptions{Batch: 97}).Pass(ctx(t)); err != nil {
		t.Fatal(err)
	}
	sameGolden(t, storedAlerts(t, db), wantGolden(t))
}

// Interrupted anywhere (a pass cancelled in the middle of reading, of
// evaluating or of its transaction) and restarted, by the same evaluator
// or by a new process whose state is rebuilt from the log, evaluation
// raises every golden alert exactly once: the alerts and the cursor are
// written in one transaction, and the state is rebuilt from the cursor.
func TestEvaluatorRestartMidStream(t *testing.T) {
	dir := t.TempDir()
	db, clock := goldenStore(t, dir)
	countries := map[string]string{} // the events are stored: enrichment is over
	ev := db.AlertEvaluator(sqlite.AlertOptions{Batch: 11})
	interrupted, restarts := 0, 0
	for attempt := 1; ; attempt++ {
		if attempt > 500 {
			t.Fatal("the evaluation never finished")
		}
		// Short and varied, growing so that a slow machine (or -race)
		// still finishes: a pass after a restart first rebuilds the state.
		c, cancel := context.WithTimeout(ctx(t), time.Duration(attempt%13+1+attempt*attempt/8)*time.Millisecond)
		_, err := ev.Pass(c)
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && c.Err() == nil {
			t.Fatalf("pass: %v", err)
		}
		interrupted++
		if attempt%4 == 0 { // a restart: a new process, its state from the log
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openGoldenStore(t, dir, clock, countries)
			ev = db.AlertEvaluator(sqlite.AlertOptions{Batch: 11})
			restarts++
		}
	}
	defer db.Close()
	if interrupted < 3 || restarts < 1 {
		t.Fatalf("only %d interruptions and %d restarts: the test did not interrupt evaluation", interrupted, restarts)
	}
	t.Logf("%d interruptions, %d restarts", interrupted, restarts)
	sameGolden(t, storedAlerts(t, db), wantGolden(t))
	if next := db.AlertCursor(ctx(t), "ws-a"); next == 0 {
		t.Fatal("cursor not stored")
	}
}
