package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
	"github.com/vigilhq/vigil/storetest"
)

// testKey is a checkpoint signing key made once for the package's tests.
var testKey, testVKey = mustKey()

func mustKey() (string, string) {
	skey, vkey, err := ledger.GenerateKey("test.vigil")
	if err != nil {
		panic(err)
	}
	return skey, vkey
}

// MustOpenDB opens a store on a fresh file in a test directory.
func MustOpenDB(tb testing.TB, dir string) *embedded.Store {
	tb.Helper()
	db, err := embedded.Open(context.Background(), embedded.Config{SQLite: sqlite.Config{
		Path:        filepath.Join(dir, "vigil.db"),
		LogName:     "test.vigil",
		SigningKey:  testKey,
		WitnessPath: filepath.Join(dir, "ledger.witness"),
	}, ReadWait: 30 * time.Second}) // the race detector slows the projection
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// appendRetrying appends as a client obeying Retry-After does: a 503
// (the projection too far behind, under the race detector) is retried.
func appendRetrying(t *testing.T, db *embedded.Store, ws string, events []vigil.Event) ([]vigil.AppendResult, error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := db.Append(ctx(t), ws, events)
		if vigil.ErrorCode(err) != vigil.EUNAVAILABLE || time.Now().After(deadline) {
			return res, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (storetest.Store, string) {
		return MustOpenDB(t, t.TempDir()), testVKey
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// rawDB opens the store's file behind its back, as an intruder would.
func rawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "vigil.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	return raw
}

func TestAppendOnlyTriggers(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, dir)
	defer db.Close()
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: "a", Action: "b", Targets: []vigil.Target{{Type: "t", ID: "1"}}}}); err != nil {
		t.Fatal(err)
	}
	waitSize(t, db, "ws", 1)
	raw := rawDB(t, dir)
	for _, stmt := range []string{
		"UPDATE events SET actor_id = 'x'",
		"DELETE FROM events",
		"UPDATE event_targets SET id = 'x'",
		"DELETE FROM ledger_hashes",
		"UPDATE ledger_hashes SET hash = x'00'",
		"DELETE FROM checkpoints",
		"UPDATE checkpoints SET note = 'x'",
	} {
		if _, err := raw.Exec(stmt); err == nil {
			t.Errorf("%s: allowed, want refused by a trigger", stmt)
		}
	}
}

func waitSize(t *testing.T, db *embedded.Store, ws string, size int64) vigil.Checkpoint {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := db.Checkpoint(ctx(t), ws, -1)
		if err == nil && cp.Size >= size {
			return cp
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d (%v)", size, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReopen proves the writer's memory of the tree is rebuilt from disk:
// appends after a restart extend the same tree.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	for round := range 4 {
		db := MustOpenDB(t, dir)
		if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
			t.Fatal(err)
		}
		for i := range 7 + round {
			if _, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: "a", Action: "b"}, {ActorID: "c", Action: "d", IdempotencyKey: "same"}}); err != nil {
				t.Fatalf("round %d append %d: %v", round, i, err)
			}
		}
		rep, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{})
		if err != nil || !rep.Valid {
			t.Fatalf("round %d: %+v %v", round, rep, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db := MustOpenDB(t, dir)
	defer db.Close()
	page, err := db.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1})
	if err != nil || page.Total != 7+8+9+10+1 {
		t.Fatalf("after reopen: total %d, %v", page.Total, err)
	}
	cp, err := db.Checkpoint(ctx(t), "ws", -1)
	if err != nil || cp.Size != page.Total {
		t.Fatalf("the last checkpoint at close covers %d of %d", cp.Size, page.Total)
	}
}
