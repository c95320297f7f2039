package alert_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
	"github.com/vigilhq/vigil/alert/alerttest"
)

const ws = "clinic"

// stream plays the store's part: it assigns sequence numbers and
// created_at, keeps the events in a Memory history and evaluates the
// rules on each event after storing it, as the in-motion consumer does.
type stream struct {
	t     testing.TB
	now   time.Time
	step  time.Duration
	seq   int64
	mem   *alerttest.Memory
	rules []*alert.Rule
	log   []vigil.Event // as stored
}

func newStream(t testing.TB, rules ...*alert.Rule) *stream {
	return &stream{
		t:     t,
		now:   time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC),
		step:  time.Second,
		mem:   alerttest.NewMemory(),
		rules: rules,
	}
}

// store records e as the store would and returns it as stored.
func (s *stream) store(e vigil.Event) vigil.Event {
	e.Workspace = ws
	e.Sequence = s.seq
	e.ID = fmt.Sprintf("evt-%04d", s.seq)
	s.seq++
	e.CreatedAt = s.now
	s.now = s.now.Add(s.step)
	if e.OccurredAt.IsZero() {
		e.OccurredAt = e.CreatedAt
	}
	if e.Action == "" {
		e.Action = "patient_record.viewed"
	}
	s.mem.Add(e)
	s.log = append(s.log, e)
	return e
}

// send stores e and returns the alerts the rules raise on it.
func (s *stream) send(e vigil.Event) []vigil.Alert {
	s.t.Helper()
	e = s.store(e)
	alerts, err := alert.EvaluateAll(context.Background(), s.rules, e, s.mem)
	if err != nil {
		s.t.Fatalf("EvaluateAll(seq %d): %v", e.Sequence, err)
	}
	return alerts
}

// rule compiles an enabled rule of the given type and conditions.
func rule(t testing.TB, typ string, conditions string) *alert.Rule {
	t.Helper()
	r, err := alert.Compile(vigil.AlertRule{
		ID: "rule-" + typ, Workspace: ws, Name: "Test " + typ, Type: typ,
		Conditions: json.RawMessage(conditions), Channels: []string{"email"}, Enabled: true,
	})
	if err != nil {
		t.Fatalf("Compile(%s %s): %v", typ, conditions, err)
	}
	return r
}

// fieldsOf returns the fields an error's details name, sorted.
func fieldsOf(err error) []string {
	var fs []string
	for _, d := range vigil.ErrorDetails(err) {
		fs = append(fs, d.Field)
	}
	slices.Sort(fs)
	return fs
}

// one asserts exactly one alert and returns it.
func one(t *testing.T, alerts []vigil.Alert) vigil.Alert {
	t.Helper()
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1: %+v", len(alerts), alerts)
	}
	return alerts[0]
}

func none(t *testing.T, alerts []vigil.Alert) {
	t.Helper()
	if len(alerts) != 0 {
		t.Fatalf("got %d alerts, want none: %+v", len(alerts), alerts)
	}
}

// la is America/Los_Angeles, loaded the way rules load it.
func la(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
