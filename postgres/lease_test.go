package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/postgres"
	"github.com/vigilhq/vigil/storetest"
	"golang.org/x/mod/sumdb/tlog"
)

var fastLease = postgres.LeaseOptions{Retry: 100 * time.Millisecond, Check: 250 * time.Millisecond}

// uniqueName keeps the tests' leases apart from any other lease on the
// server (advisory locks are per database, not per schema).
func uniqueName(t *testing.T) string {
	schema, _ := freshSchema(t)
	return "sequencer " + schema
}

// terminateHolder ends the backend of the session holding the lease on
// name, as the death of its node or a cut connection would: the sessions
// of a lease show its name, and the holder's holds an advisory lock.
func terminateHolder(t *testing.T, name string) {
	t.Helper()
	var n int
	if err := admin(t, serverURL()).QueryRow(ctxT(t), `SELECT count(pg_terminate_backend(a.pid))
		FROM pg_stat_activity a WHERE a.application_name = $1
		AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted)`,
		"vigil lease "+name).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminating the holder's backend: %d terminated, %v", n, err)
	}
}

func acquire(t *testing.T, l *postgres.Lease) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctxT(t), 10*time.Second)
	defer cancel()
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Release(context.Background()) })
}

// TestLeaseOneHolder: of two leases on one name only one holds; a lease
// on another name is independent; a released lease is taken at once.
func TestLeaseOneHolder(t *testing.T) {
	admin(t, serverURL()) // fail with the start command if the server is down
	name := uniqueName(t)
	a := postgres.NewLease(serverURL(), name, fastLease)
	b := postgres.NewLease(serverURL(), name, fastLease)
	acquire(t, a)
	ctx, cancel := context.WithTimeout(ctxT(t), time.Second)
	err := b.Acquire(ctx)
	cancel()
	if err == nil {
		t.Fatal("a second lease on the same name was acquired while the first is held")
	}
	acquire(t, postgres.NewLease(serverURL(), name+" other", fastLease))
	select {
	case <-a.Lost():
		t.Fatal("the holder's lease was lost")
	default:
	}
	if err := a.Release(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Lost():
	default:
		t.Fatal("Lost is not closed after Release")
	}
	acquire(t, b)
}

// TestLeaseTakeover: when the holder's session ends (its backend is
// terminated, as when its node dies or its connection is cut), a waiting
// node holds the lease within a few seconds, and the old holder learns it
// lost it.
func TestLeaseTakeover(t *testing.T) {
	name := uniqueName(t)
	// The defaults: the figure docs/deploy.md gives.
	opts := postgres.LeaseOptions{}
	a := postgres.NewLease(serverURL(), name, opts)
	acquire(t, a)
	b := postgres.NewLease(serverURL(), name, opts)
	acquired := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctxT(t), 30*time.Second)
		defer cancel()
		acquired <- b.Acquire(ctx)
	}()
	t.Cleanup(func() { b.Release(context.Background()) })
	time.Sleep(300 * time.Millisecond) // b is waiting, retrying

	killed := time.Now()
	terminateHolder(t, name)
	lostAt := make(chan time.Time, 1)
	go func() {
		<-a.Lost()
		lostAt <- time.Now()
	}()
	var takeover, noticed time.Duration
	select {
	case err := <-acquired:
		if err != nil {
			t.Fatal(err)
		}
		takeover = time.Since(killed)
	case <-time.After(10 * time.Second):
		t.Fatal("no takeover 10s after the holder's session ended")
	}
	select {
	case at := <-lostAt:
		noticed = at.Sub(killed)
	case <-time.After(10 * time.Second):
		t.Fatal("the old holder did not notice its loss within 10s")
	}
	t.Logf("takeover %v after the holder's backend was terminated; the old holder noticed after %v (default retry and check)",
		takeover, noticed)
	if takeover > 3*time.Second {
		t.Errorf("takeover took %v", takeover)
	}
	// The old holder can try again and waits: b holds now.
	ctx, cancel := context.WithTimeout(ctxT(t), 500*time.Millisecond)
	defer cancel()
	if err := a.Acquire(ctx); err == nil {
		t.Fatal("the old holder took the lease back while the new one holds it")
	}
}

// TestTwoLeadersCannotFork: two writers that both believe they lead
// (each with its own pool, as on two nodes) append batches built from the
// same head, round after round. In each round exactly one wins and the
// other is told ECONFLICT; the log ends gap-free, each stored leaf hashes
// to its stored leaf hash, and the root from the stored hashes is the
// builder's. A leader whose view of the head is stale, with other events
// at sequences already stored (a fork), is refused and changes nothing.
func TestTwoLeadersCannotFork(t *testing.T) {
	_, connURL := freshSchema(t)
	logs := []*postgres.Log{openLog(t, connURL), openLog(t, connURL)}
	b := storetest.NewLogBuilder("ws")
	const rounds = 40
	wins := make([]int, 2)
	var all []vigil.LogRecord
	for round := range rounds {
		recs := b.Next(1 + round%7)
		all = append(all, recs...)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		for w := range logs {
			wg.Go(func() {
				<-start
				errs[w] = logs[w].Append(ctxT(t), recs)
			})
		}
		close(start)
		wg.Wait()
		switch {
		case errs[0] == nil && vigil.ErrorCode(errs[1]) == vigil.ECONFLICT:
			wins[0]++
		case errs[1] == nil && vigil.ErrorCode(errs[0]) == vigil.ECONFLICT:
			wins[1]++
		default:
			t.Fatalf("round %d: appends returned %v and %v, want one nil and one ECONFLICT", round, errs[0], errs[1])
		}
	}
	t.Logf("rounds won by each writer: %v", wins)

	// A stale leader's fork: other events at sequences already stored.
	stale := append([]vigil.LogRecord(nil), all[len(all)-3:]...)
	for i := range stale {
		stale[i].Leaf = append([]byte(`{"forked":true,`), stale[i].Leaf[1:]...)
	}
	if err := logs[1].Append(ctxT(t), stale); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("a stale leader's fork: %v, want ECONFLICT", err)
	}

	got, err := logs[0].Read(ctxT(t), "ws", 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != b.Size() {
		t.Fatalf("the log holds %d records, %d were built", len(got), b.Size())
	}
	for i, r := range got {
		if r.Sequence != int64(i) || string(r.Leaf) != string(all[i].Leaf) {
			t.Fatalf("record %d: sequence %d, leaf differs: %v", i, r.Sequence, string(r.Leaf) != string(all[i].Leaf))
		}
		if vigil.Hash(tlog.RecordHash(r.Leaf)) != r.Hashes[0] {
			t.Fatalf("record %d: its leaf does not hash to its stored leaf hash", i)
		}
	}
	root, err := tlog.TreeHash(b.Size(), storedHashes{t, logs[1], "ws"})
	if err != nil {
		t.Fatal(err)
	}
	if vigil.Hash(root) != b.Root() {
		t.Fatal("the root from the stored hashes differs from the built log's")
	}
}

// TestStaleLeaderAfterTakeover: the leader whose lease was taken over
// while it did not notice yet still appends with its old head; once the
// new leader has appended, the old one is refused.
func TestStaleLeaderAfterTakeover(t *testing.T) {
	_, connURL := freshSchema(t)
	name := uniqueName(t)
	oldLeader, newLeader := openLog(t, connURL), openLog(t, connURL)
	b := storetest.NewLogBuilder("ws")
	if err := oldLeader.Append(ctxT(t), b.Next(5)); err != nil {
		t.Fatal(err)
	}
	// The old leader's next batch, built from the head it knows (5).
	fromOldHead := b.Next(3)

	a := postgres.NewLease(serverURL(), name, postgres.LeaseOptions{Retry: 100 * time.Millisecond, Check: time.Hour})
	acquire(t, a)
	terminateHolder(t, name)
	acquire(t, postgres.NewLease(serverURL(), name, fastLease))
	select {
	case <-a.Lost():
		t.Fatal("with an hour between checks the old leader cannot have noticed yet")
	default:
	}
	// The new leader read the heads and appends first.
	heads, err := newLeader.Heads(ctxT(t))
	if err != nil || heads["ws"] != 5 {
		t.Fatalf("heads %v, %v", heads, err)
	}
	nb := storetest.NewLogBuilder("ws")
	nb.Next(5)
	if err := newLeader.Append(ctxT(t), nb.Next(2)); err != nil {
		t.Fatal(err)
	}
	if err := oldLeader.Append(ctxT(t), fromOldHead); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("the stale leader's append: %v, want ECONFLICT", err)
	}
	if h, _ := newLeader.Heads(ctxT(t)); h["ws"] != 7 {
		t.Fatalf("head %d, want 7", h["ws"])
	}
}

type storedHashes struct {
	t  *testing.T
	s  vigil.LogStorage
	ws string
}

func (r storedHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	hs, err := r.s.ReadHashes(ctxT(r.t), r.ws, indexes)
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		out[i] = tlog.Hash(h)
	}
	return out, err
}
