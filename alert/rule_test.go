package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
	"github.com/vigilhq/vigil/alert/alerttest"
)

// mixedRules are ten rules of every type, as a workspace might have them.
func mixedRules(t testing.TB) []*alert.Rule {
	return []*alert.Rule{
		rule(t, vigil.RuleOffHours, seedOffHours),
		rule(t, vigil.RuleOffHours, `{"action_pattern":"*","timezone":"Europe/Berlin","start_hour":22,"end_hour":5,"days":["sun"]}`),
		rule(t, vigil.RuleNewCountry, `{"action_pattern":"*.accessed"}`),
		rule(t, vigil.RuleNewCountry, `{"lookback":"30d","alert_on_first":true}`),
		rule(t, vigil.RuleHighVolume, `{"threshold":3,"window":"1h"}`),
		rule(t, vigil.RuleHighVolume, `{"by":"session","count":"records","threshold":5,"window":"30m","action_pattern":"patient_record.*"}`),
		rule(t, vigil.RuleHighVolume, `{"destructive_patterns":["*.deleted","*.exported"]}`),
		rule(t, vigil.RuleRepeatedFailure, `{"threshold":2,"window":"10m"}`),
		rule(t, vigil.RuleWatchlist, `{"patients":["pat_vip","pat_7f3a9c2d"],"actors":["dr_watched"]}`),
		rule(t, vigil.RuleTamper, `{}`),
	}
}

// busyDay is a stream that makes every rule of mixedRules fire.
func busyDay(t testing.TB) *stream {
	s := newStream(t, mixedRules(t)...)
	s.now = time.Date(2026, 3, 7, 3, 0, 0, 0, time.UTC) // Friday 19:00 in Los Angeles, Saturday 04:00 in Berlin
	return s
}

func busyEvents() []vigil.Event {
	base := vigil.Event{
		ActorID: "dr_m4k8p2", ActorName: "Dr. Emily Nakamura", ActorType: "physician",
		SessionID: "sess_e4a2c8f1", TenantID: "clinic_bayview_medical",
		Action: "patient_record.viewed", Resource: "patient_record", ResourceName: "Record #7f3a9c2d",
		Metadata:  json.RawMessage(`{"department":"internal_medicine","diagnosis":"hypertension"}`),
		UserAgent: "Mozilla/5.0 (Secret Browser)", IPAddress: "203.0.113.42", IPCountry: "US", IPCity: "San Francisco",
	}
	var events []vigil.Event
	for i, p := range []string{"pat_a", "pat_b", "pat_c", "pat_d", "pat_7f3a9c2d", "pat_vip"} {
		e := base
		e.PatientID, e.ResourceID = p, "rec_"+p
		if i == 3 {
			e.Action, e.IPCountry, e.IPAddress = "lab_results.accessed", "RU", "2001:db8::42"
		}
		events = append(events, e)
	}
	fail := base
	fail.Outcome = vigil.OutcomeFailure
	del := base
	del.Action, del.PatientID, del.ResourceID = "patient_record.exported", "pat_a", "rec_pat_a"
	watched := base
	watched.ActorID = "dr_watched"
	return append(events, fail, fail, del, watched)
}

// TestReasonsCarryNoPHI runs events full of names and metadata through
// every rule type and checks that no alert repeats any of it.
func TestReasonsCarryNoPHI(t *testing.T) {
	s := busyDay(t)
	types := map[string]int{}
	for _, e := range busyEvents() {
		for _, a := range s.send(e) {
			types[a.RuleType]++
			for _, secret := range []string{"Emily", "Nakamura", "physician", "Record #", "internal_medicine",
				"hypertension", "Secret Browser", "203.0.113.42", "2001:db8", "San Francisco"} {
				if strings.Contains(a.Reason, secret) || strings.Contains(a.Subject, secret) {
					t.Errorf("%s alert carries %q: %+v", a.RuleType, secret, a)
				}
			}
			if a.Reason == "" || a.Subject == "" {
				t.Errorf("alert without reason or subject: %+v", a)
			}
		}
	}
	for _, typ := range []string{vigil.RuleOffHours, vigil.RuleNewCountry, vigil.RuleHighVolume, vigil.RuleRepeatedFailure, vigil.RuleWatchlist} {
		if types[typ] == 0 {
			t.Errorf("no %s alert: the stream does not exercise it", typ)
		}
	}
}

func TestDisabledRule(t *testing.T) {
	def := vigil.AlertRule{Workspace: ws, Name: "w", Type: vigil.RuleWatchlist, Conditions: json.RawMessage(`{"actors":["a"]}`)}
	e := vigil.Event{Workspace: ws, ActorID: "a", Action: "x"}
	if a, err := alert.Evaluate(context.Background(), def, e, alerttest.NewMemory()); a != nil || err != nil {
		t.Errorf("disabled rule: %v, %v", a, err)
	}
	def.Enabled = true
	if a, err := alert.Evaluate(context.Background(), def, e, alerttest.NewMemory()); a == nil || err != nil {
		t.Errorf("enabled rule: %v, %v", a, err)
	}
	def.Conditions = json.RawMessage(`{}`)
	if _, err := alert.Evaluate(context.Background(), def, e, alerttest.NewMemory()); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Errorf("bad rule: %v", err)
	}
}

func TestRuleOfAnotherWorkspace(t *testing.T) {
	r := rule(t, vigil.RuleWatchlist, `{"actors":["a"]}`)
	_, err := r.Evaluate(context.Background(), vigil.Event{Workspace: "other", ActorID: "a", Action: "x"}, alerttest.NewMemory())
	if vigil.ErrorCode(err) != vigil.EINTERNAL {
		t.Fatalf("err = %v, want EINTERNAL", err)
	}
}

type failingHistory struct{ err error }

func (f failingHistory) Countries(context.Context, alert.Scope, string) ([]string, error) {
	return nil, f.err
}
func (f failingHistory) Volume(context.Context, alert.Scope, alert.By, string, alert.Measure) (int, error) {
	return 0, f.err
}
func (f failingHistory) Failures(context.Context, alert.Scope, string) (int, error) { return 0, f.err }

func TestHistoryErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	e := vigil.Event{Workspace: ws, Sequence: 3, ActorID: "a", SessionID: "s", PatientID: "p", ResourceID: "r",
		Action: "patient_record.viewed", Outcome: vigil.OutcomeFailure, IPCountry: "US", CreatedAt: time.Now()}
	for _, r := range []*alert.Rule{
		rule(t, vigil.RuleNewCountry, `{}`),
		rule(t, vigil.RuleHighVolume, `{"threshold":3,"window":"1h"}`),
		rule(t, vigil.RuleRepeatedFailure, `{"threshold":3,"window":"1h"}`),
	} {
		a, err := r.Evaluate(context.Background(), e, failingHistory{boom})
		if !errors.Is(err, boom) || a != nil {
			t.Errorf("%s: %v, %v; want the History's error", r.Conditions().Type(), a, err)
		}
	}
	alerts, err := alert.EvaluateAll(context.Background(), mixedRules(t), e, failingHistory{boom})
	if !errors.Is(err, boom) || alerts != nil {
		t.Errorf("EvaluateAll: %v, %v", alerts, err)
	}
}

// TestConcurrentEvaluation: compiled rules are shared by the consumer's
// goroutines (run with -race).
func TestConcurrentEvaluation(t *testing.T) {
	rules := mixedRules(t)
	mem := alerttest.NewMemory()
	events := busyEvents()
	for i := range events {
		events[i].Workspace, events[i].Sequence, events[i].CreatedAt = ws, int64(i), time.Now()
	}
	mem.Add(events...)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, e := range events {
				if _, err := alert.EvaluateAll(context.Background(), rules, e, mem); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
