package alerttest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
)

// Fixture returns the events TestHistory stores: two workspaces, a few
// actors, sessions, patients, records, countries and outcomes, and actions
// holding characters that GLOB and LIKE treat specially, so a store that
// fails to escape them is caught. Sequence and CreatedAt are set (0, 1, ...
// and one second apart) for stores that keep what they are given.
func Fixture() []vigil.Event {
	// Each pattern-like action has a neighbour that a wildcard reading of
	// its '?', '[1]', '%' or '_' would match.
	actions := []string{"patient_record.viewed", "patient_record.exported", "user.login",
		"a?b[1]", "x%y_z", "patient_record.deleted", "xAyBz", "aXb1", "aXb[1]", "x%yBz"}
	actors := []string{"a1", "a2", "a1", "a3"}
	sessions := []string{"s1", "s2", "", "s1", "s3"}
	patients := []string{"p1", "p2", "", "p3", "p1", "p4"}
	resources := [][2]string{{"patient_record", "r1"}, {"lab", "r1"}, {"", ""}, {"patient_record", "r2"}, {"patient_record", "r1"}}
	outcomes := []vigil.Outcome{"", vigil.OutcomeSuccess, vigil.OutcomeFailure, vigil.OutcomeMinorFailure, vigil.OutcomeSeriousFailure}
	countries := []string{"US", "CA", "", "US", "DE", "FR", ""}
	base := time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC)
	var events []vigil.Event
	for ws, n := range map[string]int{"ws-a": 60, "ws-b": 12} {
		for i := range n {
			r := resources[i%len(resources)]
			events = append(events, vigil.Event{
				Workspace:  ws,
				Sequence:   int64(i),
				CreatedAt:  base.Add(time.Duration(i) * time.Second),
				OccurredAt: base.Add(time.Duration(i) * time.Second),
				ActorID:    actors[i%len(actors)],
				Action:     actions[(i/2)%len(actions)],
				SessionID:  sessions[i%len(sessions)],
				PatientID:  patients[i%len(patients)],
				Resource:   r[0],
				ResourceID: r[1],
				Outcome:    outcomes[i%len(outcomes)],
				IPCountry:  countries[i%len(countries)],
				IPAddress:  []string{"203.0.113.7", "2001:db8::7"}[i%2],
			})
		}
	}
	slices.SortFunc(events, func(a, b vigil.Event) int {
		if a.Workspace != b.Workspace {
			return cmpString(a.Workspace, b.Workspace)
		}
		return int(a.Sequence - b.Sequence)
	})
	return events
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestHistory checks that a History answers every look-up as Memory does.
// open stores the events of Fixture (it may assign its own Sequence,
// CreatedAt and ID) and returns the History and the events as stored; the
// expected answers are computed from those.
func TestHistory(t testing.TB, open func(t testing.TB, events []vigil.Event) (alert.History, []vigil.Event)) {
	h, stored := open(t, Fixture())
	ref := NewMemory(stored...)
	ctx := context.Background()

	byWS := map[string][]vigil.Event{}
	for _, e := range stored {
		byWS[e.Workspace] = append(byWS[e.Workspace], e)
	}
	actions := []string{"", "*", "patient_record.*", "*.login", "a?b[1]", "x%y_z", "x_y%z", "a?b1", "x*z", "*e*", "nomatch"}
	checked := 0
	for ws, log := range byWS {
		last := log[len(log)-1].Sequence
		throughs := []int64{-1, log[0].Sequence, log[len(log)/2].Sequence, last, last + 5}
		sinces := []time.Time{{}}
		for _, k := range []int{0, len(log) / 3, len(log) / 2, len(log) - 1} {
			at := log[k].CreatedAt
			sinces = append(sinces, at, at.Add(time.Nanosecond))
		}
		for _, through := range throughs {
			for _, since := range sinces {
				for _, action := range actions {
					s := alert.Scope{Workspace: ws, Action: action, Since: since, Through: through}
					checkScope(t, ctx, h, ref, s)
					checked++
				}
			}
		}
	}
	// An unknown workspace has no history.
	checkScope(t, ctx, h, ref, alert.Scope{Workspace: "nope", Through: 1 << 40})
	if checked == 0 {
		t.Fatal("open stored no events")
	}
}

func checkScope(t testing.TB, ctx context.Context, h, ref alert.History, s alert.Scope) {
	t.Helper()
	for _, actor := range []string{"a1", "a2", "a3", "nobody"} {
		got, err := h.Countries(ctx, s, actor)
		if err != nil {
			t.Fatalf("Countries(%+v, %s): %v", s, actor, err)
		}
		want, _ := ref.Countries(ctx, s, actor)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("Countries(%s, %s) = %v, want %v", fmtScope(s), actor, got, want)
		}
		compareInt(t, fmt.Sprintf("Failures(%s, %s)", fmtScope(s), actor),
			func(h alert.History) (int, error) { return h.Failures(ctx, s, actor) }, h, ref)
		for _, m := range []alert.Measure{alert.Patients, alert.Records, alert.Events} {
			compareInt(t, fmt.Sprintf("Volume(%s, actor %s, %s)", fmtScope(s), actor, m),
				func(h alert.History) (int, error) { return h.Volume(ctx, s, alert.ByActor, actor, m) }, h, ref)
		}
	}
	for _, session := range []string{"s1", "s2", "s3", "nosuch"} {
		for _, m := range []alert.Measure{alert.Patients, alert.Records, alert.Events} {
			compareInt(t, fmt.Sprintf("Volume(%s, session %s, %s)", fmtScope(s), session, m),
				func(h alert.History) (int, error) { return h.Volume(ctx, s, alert.BySession, session, m) }, h, ref)
		}
	}
}

func compareInt(t testing.TB, what string, f func(alert.History) (int, error), h, ref alert.History) {
	t.Helper()
	got, err := f(h)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	want, _ := f(ref)
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}

func fmtScope(s alert.Scope) string {
	since := "-"
	if !s.Since.IsZero() {
		since = s.Since.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("ws=%s action=%q since=%s through=%d", s.Workspace, s.Action, since, s.Through)
}
