package alert_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
	"github.com/vigilhq/vigil/alert/alerttest"
)

// constantHistory answers at once, so a benchmark measures the rules'
// own cost, not the History's.
type constantHistory struct{}

func (constantHistory) Countries(context.Context, alert.Scope, string) ([]string, error) {
	return []string{"US"}, nil
}
func (constantHistory) Volume(context.Context, alert.Scope, alert.By, string, alert.Measure) (int, error) {
	return 2, nil
}
func (constantHistory) Failures(context.Context, alert.Scope, string) (int, error) { return 1, nil }

// BenchmarkEvaluateTenRules evaluates the ten rules of mixedRules against
// one ordinary event (a record viewed by day, from a familiar country, in a
// quiet session): the common case on the ingest path, where the stateful
// rules still ask their History.
func BenchmarkEvaluateTenRules(b *testing.B) {
	rules := mixedRules(b)
	mem := alerttest.NewMemory()
	t0 := time.Date(2026, 3, 4, 18, 0, 0, 0, time.UTC) // Wednesday 10:00 in Los Angeles, 19:00 in Berlin
	const history = 1000                               // one hour of a busy clinic: 20 actors
	for i := range history {
		mem.Add(vigil.Event{
			Workspace: ws, Sequence: int64(i), CreatedAt: t0.Add(time.Duration(i) * 3600 * time.Millisecond),
			ActorID: fmt.Sprintf("dr_%d", i%20), SessionID: fmt.Sprintf("sess_%d", i%20), Action: "patient_record.viewed",
			Resource: "patient_record", ResourceID: fmt.Sprintf("rec_%d", i%7), PatientID: fmt.Sprintf("pat_%d", i%3),
			Outcome: vigil.OutcomeSuccess, IPCountry: "US",
		})
	}
	e := vigil.Event{
		ID: "evt", Workspace: ws, Sequence: history - 1, CreatedAt: t0.Add(time.Hour), OccurredAt: t0.Add(time.Hour),
		ActorID: "dr_19", SessionID: "sess_19", Action: "patient_record.viewed", Resource: "patient_record",
		ResourceID: "rec_1", PatientID: "pat_1", Outcome: vigil.OutcomeSuccess, IPCountry: "US", IPAddress: "2001:db8::1",
	}
	ctx := context.Background()
	for _, h := range []struct {
		name string
		h    alert.History
	}{{"memory", mem}, {"constant", constantHistory{}}} {
		b.Run("history="+h.name, func(b *testing.B) {
			if alerts, err := alert.EvaluateAll(ctx, rules, e, h.h); err != nil || len(alerts) != 0 {
				b.Fatalf("EvaluateAll = %+v, %v; want no alert", alerts, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := alert.EvaluateAll(ctx, rules, e, h.h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("rules=none", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := alert.EvaluateAll(ctx, nil, e, mem); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCompileTenRules(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		mixedRules(b)
	}
}
