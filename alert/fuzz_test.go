package alert_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
)

// FuzzParseConditions feeds arbitrary rule conditions, as an administrator
// could send them, to the parser: it never panics; it either refuses them
// as EINVALID naming fields, or returns conditions of the asked type that
// can evaluate an event.
func FuzzParseConditions(f *testing.F) {
	for _, c := range []struct{ typ, cond string }{
		{"off_hours", `{"action_pattern":"patient.*","timezone":"America/New_York","start_hour":20,"end_hour":6,"days":["sat","sun"]}`},
		{"new_country", `{"lookback":"30d"}`},
		{"high_volume", `{"max_patients":50,"window":"1h","by":"session"}`},
		{"repeated_failure", `{"threshold":5,"window":"10m"}`},
		{"watchlist", `{"patient_ids":["p1"],"actor_ids":["a1"]}`},
		{"tamper", `{}`},
		{"off_hours", `{"timezone":"Mars/Olympus","start_hour":25}`},
		{"nope", `null`},
	} {
		f.Add(c.typ, c.cond)
	}
	f.Fuzz(func(t *testing.T, typ, raw string) {
		c, err := alert.ParseConditions(typ, json.RawMessage(raw))
		if err != nil {
			if vigil.ErrorCode(err) != vigil.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			for _, d := range vigil.ErrorDetails(err) {
				if d.Field != "rule_type" && !strings.HasPrefix(d.Field, "conditions") {
					t.Fatalf("detail names %q", d.Field)
				}
			}
			return
		}
		if c.Type() != typ {
			t.Fatalf("asked for %q, got %q", typ, c.Type())
		}
		rule, err := alert.Compile(vigil.AlertRule{ID: "r", Name: "fuzz", Type: typ, Conditions: json.RawMessage(raw), Enabled: true})
		if err != nil {
			t.Fatalf("conditions parsed but the rule does not compile: %v", err)
		}
		e := vigil.Event{ID: "e", ActorID: "a", Action: "patient.read", PatientID: "p1", Outcome: vigil.OutcomeFailure,
			CreatedAt: time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), IPCountry: "FR", SessionID: "s"}
		rule.Evaluate(context.Background(), e, emptyHistory{})
	})
}

// emptyHistory is a history with nothing in it.
type emptyHistory struct{}

func (emptyHistory) Countries(context.Context, alert.Scope, string) ([]string, error) {
	return nil, nil
}
func (emptyHistory) Volume(context.Context, alert.Scope, alert.By, string, alert.Measure) (int, error) {
	return 0, nil
}
func (emptyHistory) Failures(context.Context, alert.Scope, string) (int, error) { return 0, nil }
