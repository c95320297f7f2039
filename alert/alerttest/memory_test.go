package alerttest_test

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
	"github.com/vigilhq/vigil/alert/alerttest"
)

// TestMemory checks the reference against answers worked out by hand.
func TestMemory(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(seq int64, actor, session, action, patient, typ, id string, o vigil.Outcome, country string) vigil.Event {
		return vigil.Event{Workspace: "w", Sequence: seq, CreatedAt: t0.Add(time.Duration(seq) * time.Minute),
			ActorID: actor, SessionID: session, Action: action, PatientID: patient, Resource: typ, ResourceID: id,
			Outcome: o, IPCountry: country}
	}
	// Added out of order: Memory sorts.
	m := alerttest.NewMemory(
		ev(3, "a", "s2", "rec.viewed", "p2", "rec", "r2", "", "CA"),
		ev(0, "a", "s1", "rec.viewed", "p1", "rec", "r1", vigil.OutcomeSuccess, "US"),
		ev(1, "a", "s1", "rec.viewed", "p1", "lab", "r1", vigil.OutcomeFailure, ""),
		ev(2, "b", "s1", "user.login", "", "", "", vigil.OutcomeMinorFailure, "FR"),
		ev(4, "a", "", "rec.deleted", "p3", "rec", "r1", vigil.OutcomeFailure, "US"),
	)
	m.Add(vigil.Event{Workspace: "other", Sequence: 0, CreatedAt: t0, ActorID: "a", IPCountry: "JP", PatientID: "p9"})
	ctx := context.Background()
	all := alert.Scope{Workspace: "w", Through: 100}
	from := func(min int64) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

	countries := func(s alert.Scope, actor string) []string {
		c, err := m.Countries(ctx, s, actor)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(c)
		return c
	}
	if got := countries(all, "a"); !slices.Equal(got, []string{"CA", "US"}) {
		t.Errorf("countries of a = %v", got)
	}
	if got := countries(alert.Scope{Workspace: "w", Through: 2}, "a"); !slices.Equal(got, []string{"US"}) {
		t.Errorf("countries of a through 2 = %v", got)
	}
	if got := countries(alert.Scope{Workspace: "w", Since: from(1), Through: 3}, "a"); !slices.Equal(got, []string{"CA"}) {
		t.Errorf("countries of a since 1 through 3 = %v", got)
	}
	if got := countries(alert.Scope{Workspace: "w", Action: "*.deleted", Through: 100}, "a"); !slices.Equal(got, []string{"US"}) {
		t.Errorf("countries of a deleting = %v", got)
	}

	for _, tt := range []struct {
		s    alert.Scope
		by   alert.By
		key  string
		m    alert.Measure
		want int
	}{
		{all, alert.ByActor, "a", alert.Patients, 3},
		{all, alert.ByActor, "a", alert.Records, 3}, // rec/r1, lab/r1, rec/r2
		{all, alert.ByActor, "a", alert.Events, 4},
		{all, alert.BySession, "s1", alert.Patients, 1},
		{all, alert.BySession, "s1", alert.Records, 2},
		{all, alert.BySession, "s1", alert.Events, 3},
		{all, alert.BySession, "", alert.Events, 0},
		{alert.Scope{Workspace: "w", Action: "rec.*", Since: from(1), Through: 3}, alert.ByActor, "a", alert.Patients, 2},
		{alert.Scope{Workspace: "other", Through: 0}, alert.ByActor, "a", alert.Patients, 1},
		{alert.Scope{Workspace: "none", Through: 100}, alert.ByActor, "a", alert.Events, 0},
	} {
		got, err := m.Volume(ctx, tt.s, tt.by, tt.key, tt.m)
		if err != nil || got != tt.want {
			t.Errorf("Volume(%+v, %s %s, %s) = %d, %v; want %d", tt.s, tt.by, tt.key, tt.m, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		s     alert.Scope
		actor string
		want  int
	}{
		{all, "a", 2},
		{all, "b", 1},
		{alert.Scope{Workspace: "w", Through: 3}, "a", 1},
		{alert.Scope{Workspace: "w", Since: from(2), Through: 100}, "a", 1},
		{alert.Scope{Workspace: "w", Action: "rec.viewed", Through: 100}, "a", 1},
	} {
		if got, err := m.Failures(ctx, tt.s, tt.actor); err != nil || got != tt.want {
			t.Errorf("Failures(%+v, %s) = %d, %v; want %d", tt.s, tt.actor, got, err, tt.want)
		}
	}
}

// TestConformanceOfMemory runs the conformance test on Memory itself, as a
// store's test would on the store.
func TestConformanceOfMemory(t *testing.T) {
	alerttest.TestHistory(t, func(_ testing.TB, events []vigil.Event) (alert.History, []vigil.Event) {
		return alerttest.NewMemory(events...), events
	})
}

// broken is a History that gets one detail wrong.
type broken struct {
	*alerttest.Memory
	scope func(alert.Scope) alert.Scope
}

func (b broken) Countries(ctx context.Context, s alert.Scope, actor string) ([]string, error) {
	return b.Memory.Countries(ctx, b.scope(s), actor)
}
func (b broken) Volume(ctx context.Context, s alert.Scope, by alert.By, key string, m alert.Measure) (int, error) {
	return b.Memory.Volume(ctx, b.scope(s), by, key, m)
}
func (b broken) Failures(ctx context.Context, s alert.Scope, actor string) (int, error) {
	return b.Memory.Failures(ctx, b.scope(s), actor)
}

// recorder is a testing.TB that notes failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }
func (r *recorder) Fatal(...any)          { r.failed = true; runtime.Goexit() }

// TestConformanceCatchesDifferences: the conformance test fails for
// Histories that get a bound or the pattern syntax wrong.
func TestConformanceCatchesDifferences(t *testing.T) {
	for name, scope := range map[string]func(alert.Scope) alert.Scope{
		"through exclusive": func(s alert.Scope) alert.Scope { s.Through--; return s },
		"since exclusive":   func(s alert.Scope) alert.Scope { s.Since = s.Since.Add(time.Nanosecond); return s },
		"? as a wildcard":   func(s alert.Scope) alert.Scope { s.Action = strings.ReplaceAll(s.Action, "?", "*"); return s },
		"_ as a wildcard":   func(s alert.Scope) alert.Scope { s.Action = strings.ReplaceAll(s.Action, "_", "*"); return s },
		"no action filter":  func(s alert.Scope) alert.Scope { s.Action = ""; return s },
	} {
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			alerttest.TestHistory(r, func(_ testing.TB, events []vigil.Event) (alert.History, []vigil.Event) {
				return broken{alerttest.NewMemory(events...), scope}, events
			})
		}()
		<-done
		if !r.failed {
			t.Errorf("conformance passed a History with %s", name)
		}
	}
}
