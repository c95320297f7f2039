package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/engine"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/storetest"
	"golang.org/x/mod/sumdb/tlog"
)

// projection keeps applied events in memory; it can be made to fail or
// to hold each batch until released, to test what the engine does when a
// projection lags.
type projection struct {
	mu      sync.Mutex
	events  map[string][]vigil.Event
	fail    error
	hold    chan struct{} // when set, Apply waits for a receive on it
	applies int
}

func newProjection() *projection { return &projection{events: map[string][]vigil.Event{}} }

func (p *projection) Name() string { return "test" }

func (p *projection) Cursors(ctx context.Context) (map[string]int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int64{}
	for ws, evs := range p.events {
		out[ws] = int64(len(evs))
	}
	return out, nil
}

func (p *projection) Apply(ctx context.Context, ws string, recs []vigil.LogRecord) error {
	p.mu.Lock()
	hold, fail := p.hold, p.fail
	p.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if fail != nil {
		return fail
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applies++
	for _, r := range recs {
		if r.Sequence != int64(len(p.events[ws])) {
			return fmt.Errorf("record %d applied at %d", r.Sequence, len(p.events[ws]))
		}
		e, err := ledger.ParseEvent(r.Leaf)
		if err != nil {
			return err
		}
		e.IPFromConnection = r.IPFromConnection
		p.events[ws] = append(p.events[ws], e)
	}
	return nil
}

func (p *projection) IdempotentEvent(ctx context.Context, ws, tenant, key string) (vigil.Event, bool, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.events[ws] {
		if e.TenantID == tenant && e.IdempotencyKey == key {
			return e, true, true, nil
		}
	}
	return vigil.Event{}, false, false, nil
}

func (p *projection) WorkspaceExists(ctx context.Context, ws string) error {
	if ws == "nope" {
		return vigil.Errorf(vigil.ENOTFOUND, "workspace %q not found", ws)
	}
	return nil
}

func (p *projection) set(f func(p *projection)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *projection) count(ws string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events[ws])
}

func open(t *testing.T, log vigil.LogStorage, p *projection, tune func(*engine.Config)) *engine.Engine {
	t.Helper()
	cfg := engine.Config{Log: log, Keys: p, Canonicalize: ledger.Canonicalize, ReadWait: 2 * time.Second}
	if tune != nil {
		tune(&cfg)
	}
	e, err := engine.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func ev(actor string) vigil.Event {
	return vigil.Event{ActorID: actor, Action: "patient.record.viewed", ResourceID: "rec-" + actor}
}

// TestAppendIsDurableInTheLog: an acknowledged event is in the log with
// the tree hashes of a valid RFC 6962 tree, whatever the projection does.
func TestAppendIsDurableInTheLog(t *testing.T) {
	log, p := storetest.NewMemoryLog(), newProjection()
	hold := make(chan struct{})
	p.set(func(p *projection) { p.hold = hold })
	e := open(t, log, p, nil)
	for i := range 10 {
		res, err := e.Append(context.Background(), "ws", []vigil.Event{ev(fmt.Sprint(i))})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Sequence != int64(i) {
			t.Fatalf("sequence %d, want %d", res[0].Sequence, i)
		}
	}
	// The projection has applied nothing yet; the log has everything.
	recs, err := log.Read(context.Background(), "ws", 0, 100)
	if err != nil || len(recs) != 10 {
		t.Fatalf("the log holds %d records (%v), want 10", len(recs), err)
	}
	f := ledger.NewFrontier()
	for i, r := range recs {
		stored := f.Append(ledger.LeafHash(r.Leaf))
		if fmt.Sprint(stored) != fmt.Sprint(r.Hashes) {
			t.Fatalf("record %d: stored hashes differ from the tree's", i)
		}
	}
	if e.Lag("ws") == 0 {
		t.Fatal("the lag is 0 while the projection is held")
	}
	close(hold)
	if err := e.Await(context.Background(), "ws"); err != nil {
		t.Fatal(err)
	}
	if p.count("ws") != 10 || e.Lag("ws") != 0 {
		t.Fatalf("after Await the projection has %d events, lag %d", p.count("ws"), e.Lag("ws"))
	}
}

// TestAwaitBoundedAndPushback: a projection that is held makes reads wait
// at most ReadWait and then answer EUNAVAILABLE naming the lag, and makes
// ingest refuse with EUNAVAILABLE past MaxLag; both recover when it goes on.
func TestAwaitBoundedAndPushback(t *testing.T) {
	log, p := storetest.NewMemoryLog(), newProjection()
	hold := make(chan struct{})
	p.set(func(p *projection) { p.hold = hold })
	e := open(t, log, p, func(c *engine.Config) { c.MaxLag = 5; c.ReadWait = 200 * time.Millisecond })
	for i := range 6 {
		if _, err := e.Append(context.Background(), "ws", []vigil.Event{ev(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	err := e.Await(context.Background(), "ws")
	if vigil.ErrorCode(err) != vigil.EUNAVAILABLE || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("Await of a held projection: %v after %s", err, time.Since(start))
	}
	_, err = e.Append(context.Background(), "ws", []vigil.Event{ev("x")})
	if vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
		t.Fatalf("Append past MaxLag: %v, want EUNAVAILABLE", err)
	}
	if h := e.Head("ws"); h != 6 {
		t.Fatalf("a refused append moved the head to %d", h)
	}
	// Another workspace is not held back by this one's lag... but it
	// shares the projection, so only its own lag counts.
	close(hold)
	if err := e.Await(context.Background(), "ws"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Append(context.Background(), "ws", []vigil.Event{ev("y")}); err != nil {
		t.Fatalf("Append after the projection caught up: %v", err)
	}
}

// TestProjectionFailureRetried: a failing projection is retried; the
// engine reports it unhealthy meanwhile and nothing is lost.
func TestProjectionFailureRetried(t *testing.T) {
	log, p := storetest.NewMemoryLog(), newProjection()
	p.set(func(p *projection) { p.fail = errors.New("disk full") })
	e := open(t, log, p, nil)
	for i := range 3 {
		if _, err := e.Append(context.Background(), "ws", []vigil.Event{ev(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.Healthy() == nil {
		if time.Now().After(deadline) {
			t.Fatal("a failing projection never made the engine unhealthy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.set(func(p *projection) { p.fail = nil })
	if err := e.Await(context.Background(), "ws"); err != nil {
		t.Fatal(err)
	}
	if p.count("ws") != 3 {
		t.Fatalf("the projection has %d events after recovering, want 3", p.count("ws"))
	}
}

// TestLogFailure: when the log fails nothing is acknowledged, nothing is
// half-kept in the engine's memory, and the next append continues the
// log as stored.
func TestLogFailure(t *testing.T) {
	log, p := storetest.NewMemoryLog(), newProjection()
	e := open(t, log, p, nil)
	if _, err := e.Append(context.Background(), "ws", []vigil.Event{ev("a")}); err != nil {
		t.Fatal(err)
	}
	log.FailAppend = errors.New("i/o error")
	if _, err := e.Append(context.Background(), "ws", []vigil.Event{ev("b"), ev("c")}); vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
		t.Fatalf("Append over a failing log: %v, want EUNAVAILABLE", err)
	}
	log.FailAppend = nil
	res, err := e.Append(context.Background(), "ws", []vigil.Event{ev("d")})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Sequence != 1 {
		t.Fatalf("the append after a failure got sequence %d, want 1", res[0].Sequence)
	}
	recs, _ := log.Read(context.Background(), "ws", 0, 10)
	f := ledger.NewFrontier()
	for i, r := range recs {
		if fmt.Sprint(f.Append(ledger.LeafHash(r.Leaf))) != fmt.Sprint(r.Hashes) {
			t.Fatalf("record %d's hashes do not continue the tree", i)
		}
	}
}

// TestRestartCatchesUp: records acknowledged but not yet applied when the
// process stopped are applied after a restart, and their idempotency keys
// are still known: a retry is a duplicate, not a second event.
func TestRestartCatchesUp(t *testing.T) {
	log, p := storetest.NewMemoryLog(), newProjection()
	hold := make(chan struct{})
	p.set(func(p *projection) { p.hold = hold })
	cfg := engine.Config{Log: log, Keys: p, Canonicalize: ledger.Canonicalize}
	e, err := engine.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	keyed := ev("k")
	keyed.IdempotencyKey = "key-1"
	first, err := e.Append(context.Background(), "ws", []vigil.Event{ev("a"), keyed})
	if err != nil {
		t.Fatal(err)
	}
	// The process dies before the projection applied anything: the
	// engine is dropped without Close, its log reopened by a new one.
	fresh := newProjection()
	cfg.Log, cfg.Keys = log.Reopen(), fresh
	fresh.set(func(p *projection) { p.hold = make(chan struct{}) })
	e2, err := engine.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	res, err := e2.Append(context.Background(), "ws", []vigil.Event{keyed})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Duplicate || res[0].ID != first[1].ID {
		t.Fatalf("a retry of an unapplied keyed event after a restart: %+v, want a duplicate of %s", res[0], first[1].ID)
	}
	changed := keyed
	changed.ResourceID = "other"
	if _, err := e2.Append(context.Background(), "ws", []vigil.Event{changed}); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("a reused key with other content: %v, want ECONFLICT", err)
	}
	fresh.set(func(p *projection) { close(p.hold); p.hold = nil })
	if err := e2.Await(context.Background(), "ws"); err != nil {
		t.Fatal(err)
	}
	if n := fresh.count("ws"); n != 2 {
		t.Fatalf("the projection has %d events after the restart, want 2", n)
	}
	close(hold)
	e.Close()
}

// TestProjectionAheadOfLog: a projection holding more than the log (the
// log replaced by an older copy) stops the engine from starting.
func TestProjectionAheadOfLog(t *testing.T) {
	log, p := storetest.NewMemoryLog(), newProjection()
	e := open(t, log, p, nil)
	if _, err := e.Append(context.Background(), "ws", []vigil.Event{ev("a"), ev("b")}); err != nil {
		t.Fatal(err)
	}
	if err := e.Await(context.Background(), "ws"); err != nil {
		t.Fatal(err)
	}
	e.Close()
	_, err := engine.New(context.Background(), engine.Config{Log: storetest.NewMemoryLog(), Keys: p, Canonicalize: ledger.Canonicalize})
	if err == nil {
		t.Fatal("the engine started over a log shorter than its projection")
	}
}

// TestConcurrentAppendsGroup: many callers at once are grouped, each gets
// its own gap-free sequence, and the tree over the log is the tree of the
// events in sequence order.
func TestConcurrentAppendsGroup(t *testing.T) {
	log, p := storetest.NewMemoryLog(), newProjection()
	groups := 0
	var mu sync.Mutex
	e := open(t, log, p, func(c *engine.Config) {
		c.OnGroup = func(int) { mu.Lock(); groups++; mu.Unlock() }
	})
	var wg sync.WaitGroup
	seqs := make(chan int64, 64*20)
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				res, err := e.Append(context.Background(), "ws", []vigil.Event{ev(fmt.Sprintf("%d-%d", w, i))})
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- res[0].Sequence
			}
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("sequence %d given twice", s)
		}
		seen[s] = true
	}
	if len(seen) != 1280 || e.Head("ws") != 1280 {
		t.Fatalf("%d sequences, head %d; want 1280", len(seen), e.Head("ws"))
	}
	hashes, err := log.ReadHashes(context.Background(), "ws", []int64{tlog.StoredHashIndex(10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := log.Read(context.Background(), "ws", 0, 1024)
	f := ledger.NewFrontier()
	for _, r := range recs {
		f.Append(ledger.LeafHash(r.Leaf))
	}
	if f.Root() != hashes[0] {
		t.Fatal("the stored root of the first 1024 leaves is not their tree's root")
	}
	t.Logf("1280 appends in %d groups", groups)
}

// TestUnknownWorkspace: no record is appended to a workspace never created.
func TestUnknownWorkspace(t *testing.T) {
	log, p := storetest.NewMemoryLog(), newProjection()
	e := open(t, log, p, nil)
	if _, err := e.Append(context.Background(), "nope", []vigil.Event{ev("a")}); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("Append to an unknown workspace: %v, want ENOTFOUND", err)
	}
	if h, _ := log.Heads(context.Background()); len(h) != 0 {
		t.Fatalf("heads %v after a refused append", h)
	}
}
