package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/sqlite"
)

// lagRules are ten rules of every type over the bench's events: the
// stateful ones keep state for every actor and session; the watchlist of
// the first 1,000 of the 100,000 patients fires on 1% of the events, whose
// alerts the lag is measured on.
var lagRules = []struct{ typ, cond string }{
	{vigil.RuleOffHours, `{"action_pattern":"patient.record.*","timezone":"America/Los_Angeles","start_hour":20,"end_hour":6}`},
	{vigil.RuleOffHours, `{"action_pattern":"*","timezone":"Europe/Berlin","start_hour":22,"end_hour":5,"days":["sat","sun"]}`},
	{vigil.RuleNewCountry, `{"action_pattern":"patient.record.*"}`},
	{vigil.RuleNewCountry, `{"lookback":"30d"}`},
	{vigil.RuleHighVolume, `{"by":"session","count":"patients","threshold":500,"window":"1h"}`},
	{vigil.RuleHighVolume, `{"by":"actor","count":"records","threshold":1000,"window":"15m","destructive_patterns":["*.deleted","*.exported"]}`},
	{vigil.RuleRepeatedFailure, `{"threshold":5,"window":"10m"}`},
	{vigil.RuleWatchlist, `{"actors":["dr_3x"]}`},
	{vigil.RuleWatchlist, `{"patients":["vip_1"],"action_pattern":"*.exported"}`},
	{vigil.RuleWatchlist, ""}, // patients pt_0 ... pt_999, filled in below
}

func lagRuleDefs(tb testing.TB) []vigil.AlertRule {
	var defs []vigil.AlertRule
	for i, r := range lagRules {
		cond := r.cond
		if cond == "" {
			var ids []string
			for p := range 1000 {
				ids = append(ids, fmt.Sprintf("pt_%d", p))
			}
			b, _ := json.Marshal(map[string]any{"patients": ids})
			cond = string(b)
		}
		def := vigil.AlertRule{Workspace: "ws", Name: fmt.Sprintf("lag %d", i), Type: r.typ, Conditions: json.RawMessage(cond), Enabled: true, Throttle: time.Hour}
		if _, err := alert.Compile(def); err != nil {
			tb.Fatal(err)
		}
		defs = append(defs, def)
	}
	return defs
}

// lagBatch is a batch of the event shape: actor dr_<w%97>, a
// unique resource id, a patient among 100,000, a session per client.
func lagBatch(client, first, size int) []vigil.Event {
	out := make([]vigil.Event, size)
	for j := range out {
		n := first + j
		out[j] = vigil.Event{ActorID: fmt.Sprintf("dr_%d", n%97), ActorName: "Dr. Bench", Action: "patient.record.viewed",
			Resource: "MedicalRecord", ResourceID: fmt.Sprintf("rec_%d_%d", client, n), PatientID: fmt.Sprintf("pt_%d", (n*7919)%100_000),
			SessionID: fmt.Sprintf("sess_%d", client), TenantID: "clinic_bayview_medical", Outcome: vigil.OutcomeSuccess,
			IPAddress: "203.0.113.7", OccurredAt: time.Date(2026, 3, 4, 18, 0, 0, 0, time.UTC),
			Metadata: json.RawMessage(fmt.Sprintf(`{"reason":"treatment","n":%d}`, n))}
	}
	return out
}

// BenchmarkAlertLag measures alerting as vigil serve runs it: the
// evaluator following the log, woken by commits, with ten rules. It finds
// the store's peak ingest (32 writers appending batches of 100), then
// ingests at 80% of it for 10 s and reports the lag between an event's
// acknowledgement and the commit of its alert (p50, p99, max; the
// watchlisted 1% of the events), and then the evaluator's own rate
// catching up a backlog on an idle writer. Run it with -benchtime=1x.
func BenchmarkAlertLag(b *testing.B) {
	for b.Loop() {
		runAlertLag(b)
	}
}

func runAlertLag(b *testing.B) {
	const (
		writers = 32
		size    = 100
	)
	db := MustOpenDB(b, b.TempDir())
	defer db.Close()
	c := context.Background()
	if _, err := db.EnsureWorkspace(c, "ws"); err != nil {
		b.Fatal(err)
	}
	for _, d := range lagRuleDefs(b) {
		if _, err := db.CreateRule(c, d); err != nil {
			b.Fatal(err)
		}
	}
	// Commits are observed, alerts' commits timed: an event's alert is
	// stored when the cursor, written in the same transaction, passes it.
	var mu sync.Mutex
	type mark struct {
		at     time.Time
		cursor int64
	}
	var marks []mark
	ev := db.AlertEvaluator(sqlite.AlertOptions{OnAlerts: func() {
		at := time.Now()
		cur := db.AlertCursor(c, "ws")
		mu.Lock()
		marks = append(marks, mark{at, cur})
		mu.Unlock()
	}})
	db.OnCommit(ev.Committed)
	runCtx, stop := context.WithCancel(c)
	done := make(chan struct{})
	go func() { defer close(done); ev.Run(runCtx, 0, 0, 0) }()

	acked := map[int64]time.Time{} // watchlisted events' acknowledgements
	var next atomic.Int64
	ingest := func(d time.Duration, rate float64) (events int64, elapsed time.Duration) {
		jobs := make(chan int, writers*4)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for first := range jobs {
					res, err := db.Append(c, "ws", lagBatch(w, first, size))
					if err != nil {
						b.Error(err)
						return
					}
					at := time.Now()
					mu.Lock()
					for i, r := range res {
						if (first+i)*7919%100_000 < 1000 {
							acked[r.Sequence] = at
						}
					}
					mu.Unlock()
				}
			}()
		}
		start := time.Now()
		for sent := 0; time.Since(start) < d; sent++ {
			if rate > 0 { // paced: batch k leaves at k*size/rate
				if wait := time.Until(start.Add(time.Duration(float64(sent*size) / rate * float64(time.Second)))); wait > 0 {
					time.Sleep(wait)
				}
			}
			jobs <- int(next.Add(size) - size)
		}
		close(jobs)
		wg.Wait()
		return int64(next.Load()), time.Since(start)
	}

	// Peak: as fast as the writers go, the evaluator following.
	before := next.Load()
	n, el := ingest(3*time.Second, 0)
	peak := float64(n-before) / el.Seconds()
	waitCursor(b, db, next.Load(), 60*time.Second)
	mu.Lock()
	clear(acked)
	marks = marks[:0]
	mu.Unlock()

	// 80% of the peak for 10 s.
	rate := 0.8 * peak
	before = next.Load()
	n, el = ingest(10*time.Second, rate)
	achieved := float64(n-before) / el.Seconds()
	waitCursor(b, db, next.Load(), 60*time.Second)
	mu.Lock()
	var lags []time.Duration
	for seq, at := range acked {
		i, _ := slices.BinarySearchFunc(marks, seq, func(m mark, seq int64) int {
			if m.cursor <= seq {
				return -1
			}
			return 1
		})
		if i == len(marks) {
			b.Fatalf("the alert of event %d was never stored", seq)
		}
		lags = append(lags, max(0, marks[i].at.Sub(at)))
	}
	mu.Unlock()
	slices.Sort(lags)
	if len(lags) == 0 {
		b.Fatal("no alert measured")
	}
	p50, p99, worst := lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1]

	// The evaluator's own rate: a backlog evaluated on an idle writer, by
	// the same evaluator (Run stopped), its state warm.
	stop()
	<-done
	const backlog = 200_000
	var wg sync.WaitGroup
	base := next.Add(backlog) - backlog
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := base + int64(w*size); first < base+backlog; first += writers * size {
				if _, err := db.Append(c, "ws", lagBatch(w, int(first), size)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	from := db.AlertCursor(c, "ws")
	t0 := time.Now()
	if _, err := ev.Pass(c); err != nil { // warm: its state follows the log
		b.Fatal(err)
	}
	catchUp := float64(db.AlertCursor(c, "ws")-from) / time.Since(t0).Seconds()

	b.ReportMetric(peak, "peak-events/s")
	b.ReportMetric(achieved, "paced-events/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-lag-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-lag-ms")
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-lag-ms")
	b.ReportMetric(catchUp, "evaluator-events/s")
	b.Logf("peak %.0f events/s; paced at %.0f (80%%): %d alerts timed, lag p50 %s p99 %s max %s; evaluator alone %.0f events/s; state %+v",
		peak, achieved, len(lags), p50, p99, worst, catchUp, ev.Stats())
}

// waitCursor waits until alerting has followed the log to size.
func waitCursor(tb testing.TB, db *embedded.Store, size int64, within time.Duration) {
	deadline := time.Now().Add(within)
	for db.AlertCursor(context.Background(), "ws") < size {
		if time.Now().After(deadline) {
			tb.Fatalf("alerting at %d of %d after %s", db.AlertCursor(context.Background(), "ws"), size, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
