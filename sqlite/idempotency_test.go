package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/sqlite"
)

// TestIdempotencyAfterUpgrade: a database of schema version 4 (keys unique
// per workspace, no record of where an address came from) is migrated in
// place. Its events keep answering their keys: a retry is a duplicate, a
// retry without an address of its own is not refused for the address its
// first attempt arrived from, other content is a conflict; and another
// tenant may now use the same key.
func TestIdempotencyAfterUpgrade(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, dir)
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	fromConn := vigil.Event{ActorID: "a", Action: "read", TenantID: "t1", IdempotencyKey: "conn", IPAddress: "198.51.100.7", IPFromConnection: true}
	own := vigil.Event{ActorID: "a", Action: "read", TenantID: "t1", IdempotencyKey: "own", IPAddress: "203.0.113.9"}
	res, err := db.Append(ctx(t), "ws", []vigil.Event{fromConn, own})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Back to before migration 0005, as a database written before the upgrade is.
	raw := rawDB(t, dir)
	bypassTriggers(t, raw, "UPDATE events SET ip_from_connection = NULL")
	mustExec(t, raw, "DROP INDEX events_idempotency")
	mustExec(t, raw, "ALTER TABLE events DROP COLUMN ip_from_connection")
	mustExec(t, raw, "CREATE UNIQUE INDEX events_idempotency ON events (ws, idempotency_key) WHERE idempotency_key IS NOT NULL")
	mustExec(t, raw, "DELETE FROM schema_migrations WHERE name = '0005_idempotency_scope.sql'")
	raw.Close()

	db = MustOpenDB(t, dir)
	defer db.Close()
	if rep, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{}); err != nil || !rep.Valid {
		t.Fatalf("after the upgrade: %+v %v", rep, err)
	}
	retry := fromConn
	retry.IPAddress = "198.51.100.99" // another connection
	if r, err := db.Append(ctx(t), "ws", []vigil.Event{retry}); err != nil || !r[0].Duplicate || r[0].ID != res[0].ID {
		t.Fatalf("a retry from another connection = %+v, %v; want a duplicate of %s", r, err, res[0].ID)
	}
	if r, err := db.Append(ctx(t), "ws", []vigil.Event{own}); err != nil || !r[0].Duplicate || r[0].ID != res[1].ID {
		t.Fatalf("a retry with its own address = %+v, %v; want a duplicate of %s", r, err, res[1].ID)
	}
	moved := own
	moved.IPAddress = "203.0.113.10"
	changed := fromConn
	changed.Action = "export"
	for _, e := range []vigil.Event{moved, changed} {
		_, err := db.Append(ctx(t), "ws", []vigil.Event{e})
		if vigil.ErrorCode(err) != vigil.ECONFLICT || !strings.Contains(vigil.ErrorMessage(err), "sequence") {
			t.Fatalf("other content under a key stored before the upgrade: %v, want a conflict", err)
		}
	}
	other := fromConn
	other.TenantID = "t2"
	if r, err := db.Append(ctx(t), "ws", []vigil.Event{other}); err != nil || r[0].Duplicate {
		t.Fatalf("another tenant's event with the same key = %+v, %v; want it stored", r, err)
	}
}

// TestIdempotencyIgnoresEnrichment: geolocation is the server's, and may
// change between two attempts (a newer database); the retry is still the
// same event.
func TestIdempotencyIgnoresEnrichment(t *testing.T) {
	calls := 0
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(t.TempDir(), "vigil.db"), SigningKey: testKey, LogName: "test.vigil"},
		Enrich: func(e *vigil.Event) {
			calls++
			e.IPCountry, e.IPCity = "US", fmt.Sprintf("City %d", calls)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.EnsureWorkspace(ctx(t), "ws")
	e := vigil.Event{ActorID: "a", Action: "x", IPAddress: "203.0.113.42", IdempotencyKey: "geo"}
	first, err := db.Append(ctx(t), "ws", []vigil.Event{e})
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.Append(ctx(t), "ws", []vigil.Event{e})
	if err != nil || !again[0].Duplicate || again[0].ID != first[0].ID || calls != 2 {
		t.Fatalf("a retry located elsewhere = %+v, %v (%d lookups); want a duplicate of %s", again, err, calls, first[0].ID)
	}
}
