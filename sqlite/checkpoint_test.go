package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

// openSlowCadence opens a store whose regular checkpoint cadence is an
// hour: every checkpoint a reader gets in a test is one signed because
// it asked.
func openSlowCadence(t *testing.T, demand time.Duration) *embedded.Store {
	return openSlowCadenceB(t, demand)
}

func openSlowCadenceB(t testing.TB, demand time.Duration) *embedded.Store {
	t.Helper()
	dir := t.TempDir()
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{
		Path: filepath.Join(dir, "vigil.db"), LogName: "test.vigil", SigningKey: testKey,
		WitnessPath: filepath.Join(dir, "ledger.witness"), CheckpointInterval: time.Hour, DemandInterval: demand,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.EnsureWorkspace(context.Background(), "ws"); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestCheckpointCoversAcknowledged asks for the latest checkpoint right
// after each acknowledgement: it must exist and cover every event
// acknowledged before the question, and its proofs must reach the event.
func TestCheckpointCoversAcknowledged(t *testing.T) {
	db := openSlowCadence(t, 5*time.Millisecond)
	for i := range 40 {
		res, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: "a", Action: fmt.Sprintf("x.%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		acked := res[0].Sequence + 1
		cp, err := db.Checkpoint(ctx(t), "ws", -1)
		if err != nil {
			t.Fatalf("after %d acknowledged events: %v", acked, err)
		}
		if cp.Size < acked {
			t.Fatalf("the latest checkpoint covers %d events; %d were acknowledged", cp.Size, acked)
		}
		if _, err := ledger.Open(cp.Note, testVKey); err != nil {
			t.Fatalf("checkpoint of size %d: %v", cp.Size, err)
		}
		p, err := db.InclusionProof(ctx(t), "ws", res[0].Sequence, 0)
		if err != nil {
			t.Fatalf("proof of the event just acknowledged: %v", err)
		}
		if err := ledger.CheckInclusion(p, cp.Root); p.TreeSize != cp.Size || err != nil {
			t.Fatalf("proof against tree %d (checkpoint %d): %v", p.TreeSize, cp.Size, err)
		}
	}
	// Verification compares the whole log with a signed checkpoint too.
	if _, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: "a", Action: "last"}}); err != nil {
		t.Fatal(err)
	}
	rep, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{})
	if err != nil || !rep.Valid || rep.TreeSize != 41 {
		t.Fatalf("verify %+v %v", rep, err)
	}
	cps, err := db.Checkpoints(ctx(t), "ws", 0, 1<<62)
	if err != nil || len(cps) == 0 || cps[len(cps)-1].Size != 41 {
		t.Fatalf("after verification the latest signed checkpoint is not of the 41 events: %d checkpoints, %v", len(cps), err)
	}
}

// TestCheckpointOnDemandIsBounded sends many readers at once after each
// append: they share signatures, at most one per demand interval.
func TestCheckpointOnDemandIsBounded(t *testing.T) {
	const interval = 50 * time.Millisecond
	db := openSlowCadence(t, interval)
	start := time.Now()
	const rounds, readers = 6, 30
	for i := range rounds {
		res, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: "a", Action: fmt.Sprintf("x.%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, readers)
		for range readers {
			wg.Go(func() {
				cp, err := db.Checkpoint(ctx(t), "ws", -1)
				if err == nil && cp.Size <= res[0].Sequence {
					err = fmt.Errorf("checkpoint of %d events after event %d was acknowledged", cp.Size, res[0].Sequence)
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	cps, err := db.Checkpoints(ctx(t), "ws", 0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	// One at open (the empty log), then at most one per interval.
	if max := 1 + int(elapsed/interval) + 1; len(cps) > max || len(cps) < rounds {
		t.Fatalf("%d checkpoints signed for %d rounds of %d readers in %v; want %d to %d", len(cps), rounds, readers, elapsed, rounds, max)
	}
}
