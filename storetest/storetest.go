// Package storetest holds the conformance suites every Vigil store must
// pass, one per store interface of the root package, written only against
// those interfaces so that every backend (SQLite, PostgreSQL) has one
// target: Run (events, keys and the ledger), RunLogStorage (the engine's
// log seam), RunKeys, RunAlerts, RunOutbox, RunReports, RunUsers,
// RunAnchors and RunProjections (the followed log and its cursors). A
// store's tests call each with a function that opens a fresh store; the
// suites that assert the times a store assigns hand it a Clock.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// Store is what the suite exercises: events, keys and the ledger.
type Store interface {
	vigil.EventStore
	vigil.KeyStore
	vigil.Ledger
	Close() error
}

// Opener opens a fresh, empty store whose checkpoints are signed with a
// key whose note verifier key it returns. Checkpoints must be issued after
// every commit (no interval), and the store is closed by the suite.
type Opener func(t *testing.T) (s Store, verifierKey string)

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	t.Run("AppendAndRead", func(t *testing.T) { testAppendAndRead(t, open) })
	t.Run("Validation", func(t *testing.T) { testValidation(t, open) })
	t.Run("BatchAllOrNothing", func(t *testing.T) { testBatchAllOrNothing(t, open) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, open) })
	t.Run("IdempotencyContent", func(t *testing.T) { testIdempotencyContent(t, open) })
	t.Run("IdempotencyTenants", func(t *testing.T) { testIdempotencyTenants(t, open) })
	t.Run("IdempotencyBatch", func(t *testing.T) { testIdempotencyBatch(t, open) })
	t.Run("IdempotencyConcurrent", func(t *testing.T) { testIdempotencyConcurrent(t, open) })
	t.Run("ConcurrentAppends", func(t *testing.T) { testConcurrentAppends(t, open) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, open) })
	t.Run("IDsAndRecorded", func(t *testing.T) { testIDsAndRecorded(t, open) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, open) })
	t.Run("OccurredOrder", func(t *testing.T) { testOccurredOrder(t, open) })
	t.Run("TenantScope", func(t *testing.T) { testTenantScope(t, open) })
	t.Run("WorkspaceIsolation", func(t *testing.T) { testWorkspaceIsolation(t, open) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, open) })
	t.Run("LedgerProofs", func(t *testing.T) { testLedgerProofs(t, open) })
	t.Run("Verify", func(t *testing.T) { testVerify(t, open) })
	t.Run("LatestCovers", func(t *testing.T) { testLatestCovers(t, open) })
	t.Run("Leaves", func(t *testing.T) { testLeaves(t, open) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, open) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// mustOpen opens a store with the workspace "ws" and closes it after the test.
func mustOpen(t *testing.T, open Opener) (Store, string) {
	t.Helper()
	s, vkey := open(t)
	t.Cleanup(func() { s.Close() })
	if _, err := s.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

func mustAppend(t *testing.T, s Store, ws string, events ...vigil.Event) []vigil.AppendResult {
	t.Helper()
	res, err := s.Append(ctx(t), ws, events)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := vigil.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// waitCheckpoint waits until the latest checkpoint covers size events:
// checkpoints are signed after the acknowledgement, not before it.
func waitCheckpoint(t *testing.T, s Store, ws string, size int64) vigil.Checkpoint {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := s.Checkpoint(ctx(t), ws, -1)
		if err == nil && cp.Size >= size {
			return cp
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d: last %+v, %v", size, cp.Size, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func event(actor, action string) vigil.Event {
	return vigil.Event{ActorID: actor, Action: action}
}
