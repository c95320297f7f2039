package embedded_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/sqlite"
)

// testdata/v0-datadir is a data directory written by the release before
// the log (events, hashes and checkpoints in vigil.db only): 150 events
// in each of two workspaces, with idempotency keys, targets, metadata, a
// few addresses taken from the connection, checkpoints every 50 events
// and the witness file.

// copyFixture copies the fixture into a fresh directory.
func copyFixture(t *testing.T) (dir, skey string) {
	t.Helper()
	dir = t.TempDir()
	for _, name := range []string{"vigil.db", "ledger.witness", "ledger.key"} {
		b, err := os.ReadFile(filepath.Join("testdata", "v0-datadir", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k, _ := os.ReadFile(filepath.Join(dir, "ledger.key"))
	return dir, strings.TrimSpace(string(k))
}

func openFixture(t *testing.T, dir, skey string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(ctx(t), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{
		Path: filepath.Join(dir, "vigil.db"), LogName: "fixture.vigil", SigningKey: skey,
		WitnessPath: filepath.Join(dir, "ledger.witness"), Index: fhir.Terms,
	}, LogDir: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestUpgradeMovesEventsIntoTheLog: the first start on a data directory
// written before the log moves its events into the log; the ledger still
// verifies against the checkpoints signed by the old release, idempotency
// keys still answer duplicates, new events continue each log, and the
// log alone rebuilds the projection.
func TestUpgradeMovesEventsIntoTheLog(t *testing.T) {
	dir, skey := copyFixture(t)
	s := openFixture(t, dir, skey)
	for _, ws := range []string{"default", "clinic"} {
		if h := s.Engine.Head(ws); h != 150 {
			t.Fatalf("%s: the log has %d events after the upgrade, want 150", ws, h)
		}
		old, err := s.Checkpoint(ctx(t), ws, 150)
		if err != nil {
			t.Fatalf("%s: the old release's checkpoint of 150: %v", ws, err)
		}
		verified(t, s, ws)
		// A retry of an old event is a duplicate of it, address taken
		// from the connection or not.
		e := vigil.Event{ActorID: "dr_3", Action: "patient.record.viewed", Resource: "MedicalRecord",
			ResourceID: "rec_" + ws + "_10", PatientID: "pt_10", TenantID: "t1", IdempotencyKey: "k-10",
			Metadata: []byte(`{"n":1}`), Targets: []vigil.Target{{Type: "Patient", ID: "pt_10"}}}
		res, err := s.Append(ctx(t), ws, []vigil.Event{e})
		if err != nil || !res[0].Duplicate || res[0].Sequence != 10 {
			t.Fatalf("%s: a retry of an old event: %+v %v", ws, res, err)
		}
		e.IPAddress, e.IPFromConnection = "203.0.113.99", true // from another connection
		res, err = s.Append(ctx(t), ws, []vigil.Event{e})
		if err != nil || !res[0].Duplicate || res[0].Sequence != 10 {
			t.Fatalf("%s: a retry of an old event from another address: %+v %v", ws, res, err)
		}
		res, err = s.Append(ctx(t), ws, []vigil.Event{{ActorID: "new", Action: "after.upgrade"}})
		if err != nil || res[0].Sequence != 150 {
			t.Fatalf("%s: the first new event: %+v %v", ws, res, err)
		}
		cp, err := s.Checkpoint(ctx(t), ws, -1)
		if err != nil || cp.Size != 151 {
			t.Fatalf("%s: checkpoint after the upgrade: %d %v", ws, cp.Size, err)
		}
		if _, err := s.ConsistencyProof(ctx(t), ws, old.Size, cp.Size); err != nil {
			t.Fatalf("%s: the new log is not consistent with the old release's checkpoint: %v", ws, err)
		}
	}
	s.Close()

	// The log is complete: the projection rebuilt from it alone verifies.
	if _, err := sqlite.ClearProjection(ctx(t), sqlite.Config{Path: filepath.Join(dir, "vigil.db")}); err != nil {
		t.Fatal(err)
	}
	s = openFixture(t, dir, skey)
	defer s.Close()
	for _, ws := range []string{"default", "clinic"} {
		if rep := verified(t, s, ws); rep.EventsChecked < 151 {
			t.Fatalf("%s: rebuilt projection verifies only %d events", ws, rep.EventsChecked)
		}
	}
}

// TestUpgradeRefusesATamperedDirectory: a data directory whose rows no
// longer verify is not moved into the log (that would launder the
// change): the store does not open and the log stays empty.
func TestUpgradeRefusesATamperedDirectory(t *testing.T) {
	dir, skey := copyFixture(t)
	raw, err := sqlite.Open(ctx(t), sqlite.Config{Path: filepath.Join(dir, "vigil.db")})
	if err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db := rawSQL(t, filepath.Join(dir, "vigil.db"))
	for _, stmt := range []string{
		"DROP TRIGGER events_no_update",
		"UPDATE events SET actor_id = 'intruder' WHERE seq = 3",
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	_, err = embedded.Open(ctx(t), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{
		Path: filepath.Join(dir, "vigil.db"), LogName: "fixture.vigil", SigningKey: skey,
		WitnessPath: filepath.Join(dir, "ledger.witness"),
	}, LogDir: filepath.Join(dir, "log")})
	if err == nil || !strings.Contains(err.Error(), "do not verify") {
		t.Fatalf("opening a tampered old data directory: %v", err)
	}
	l, err := filelog.Open(filepath.Join(dir, "log"), filelog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if h, _ := l.Heads(ctx(t)); len(h) != 0 {
		t.Fatalf("a tampered directory was moved into the log: %v", h)
	}
}
