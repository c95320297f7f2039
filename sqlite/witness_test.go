package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

// openWith opens the store of dir with its witness at witness.
func openWith(t *testing.T, dir, witness string) *embedded.Store {
	t.Helper()
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{
		Path: filepath.Join(dir, "vigil.db"), LogName: "test.vigil", SigningKey: testKey, WitnessPath: witness,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func appendN(t *testing.T, db *embedded.Store, n int) {
	t.Helper()
	for range n {
		if _, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: "later", Action: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Checkpoint(ctx(t), "ws", -1); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the files of a directory (not its subdirectories).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadDir(to)
	for _, f := range old {
		os.RemoveAll(filepath.Join(to, f.Name()))
	}
	files, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	// The whole directory, the log's segments with the database.
	for _, f := range files {
		if f.IsDir() {
			copyDir(t, filepath.Join(from, f.Name()), filepath.Join(to, f.Name()))
			continue
		}
		copyFile(t, filepath.Join(from, f.Name()), filepath.Join(to, f.Name()))
	}
}

// TestRollbackEvidenceSurvivesNewEvents rolls the database back while the
// server is stopped, then appends before any verification runs: the next
// checkpoint replaces the witness, but what it showed was recorded when
// the store opened.
func TestRollbackEvidenceSurvivesNewEvents(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, dir)
	seedLog(t, db, 20)
	db.Close()
	copyFile(t, filepath.Join(dir, "vigil.db"), filepath.Join(dir, "old.db"))
	db = MustOpenDB(t, dir)
	appendN(t, db, 10)
	db.Close()
	copyFile(t, filepath.Join(dir, "old.db"), filepath.Join(dir, "vigil.db"))

	db = MustOpenDB(t, dir)
	defer db.Close()
	appendN(t, db, 3) // the witness now names a checkpoint of this (rolled back) log
	assertDetected(t, db, vigil.BreakRollback)
}

// TestWitnessTamperSurvivesTheNextCheckpoint deletes or replaces the
// witness while the server runs, then appends: the server's next
// checkpoint rewrites the witness, and notices it was not what it wrote.
func TestWitnessTamperSurvivesTheNextCheckpoint(t *testing.T) {
	for name, tamper := range map[string]func(dir string){
		"deleted": func(dir string) { os.Remove(filepath.Join(dir, "ledger.witness")) },
		"older copy": func(dir string) {
			copyFile(t, filepath.Join(dir, "old.witness"), filepath.Join(dir, "ledger.witness"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db := MustOpenDB(t, dir)
			defer db.Close()
			seedLog(t, db, 10)
			copyFile(t, filepath.Join(dir, "ledger.witness"), filepath.Join(dir, "old.witness"))
			appendN(t, db, 5)
			tamper(dir)
			appendN(t, db, 2)
			assertDetected(t, db, vigil.BreakWitnessRollback)
		})
	}
}

// TestOlderWitnessIsNotALogRollback: a witness older than the database's
// latest checkpoint, over a database that agrees with it, is not a
// rollback of the log (nothing acknowledged is lost), but the witness was
// replaced, which the server never does: that is its own break. (A
// database older than the witness is a rollback.)
func TestOlderWitnessIsNotALogRollback(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, dir)
	seedLog(t, db, 10)
	copyFile(t, filepath.Join(dir, "ledger.witness"), filepath.Join(dir, "old.witness"))
	appendN(t, db, 5)
	db.Close()
	copyFile(t, filepath.Join(dir, "old.witness"), filepath.Join(dir, "ledger.witness"))
	db = MustOpenDB(t, dir)
	defer db.Close()
	rep, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasBreak(rep.Breaks, vigil.BreakWitnessRollback) || hasBreak(rep.Breaks, vigil.BreakRollback) {
		t.Fatalf("an older witness over an intact log: %+v", rep.Breaks)
	}
}

// TestDataDirectoryRolledBack replaces the whole data directory with an
// older copy. A witness kept outside it catches that; one kept inside was
// rolled back with it, and only a checkpoint saved elsewhere (an external
// anchor) still shows what was lost.
func TestDataDirectoryRolledBack(t *testing.T) {
	for _, outside := range []bool{true, false} {
		name := "witness inside the data directory"
		if outside {
			name = "witness outside the data directory"
		}
		t.Run(name, func(t *testing.T) {
			data, backup := filepath.Join(t.TempDir(), "data"), filepath.Join(t.TempDir(), "backup")
			os.MkdirAll(data, 0o700)
			witness := filepath.Join(data, "ledger.witness")
			if outside {
				witness = filepath.Join(t.TempDir(), "ledger.witness")
			}
			db := openWith(t, data, witness)
			seedLog(t, db, 20)
			db.Close()
			copyDir(t, data, backup)
			db = openWith(t, data, witness)
			appendN(t, db, 10)
			saved, err := db.Checkpoint(ctx(t), "ws", -1) // an auditor keeps this one
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			copyDir(t, backup, data)

			db = openWith(t, data, witness)
			defer db.Close()
			rep, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if outside != hasBreak(rep.Breaks, vigil.BreakRollback) {
				t.Fatalf("rollback reported %v with the witness outside %v: %+v", hasBreak(rep.Breaks, vigil.BreakRollback), outside, rep.Breaks)
			}
			if !outside && !rep.Valid {
				t.Fatalf("a consistent older copy of everything verified with breaks %+v", rep.Breaks)
			}
			// The external anchor: the saved checkpoint against a bundle.
			b, err := db.Bundle(ctx(t), "ws", 0, 0, testVKey)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := ledger.WriteBundle(&buf, b); err != nil {
				t.Fatal(err)
			}
			brep, err := ledger.VerifyBundle(&buf, ledger.VerifyOptions{Key: testVKey, Saved: saved.Note})
			if err != nil {
				t.Fatal(err)
			}
			if !hasBreak(brep.Breaks, vigil.BreakRollback) {
				t.Fatalf("the saved checkpoint did not catch the rollback: %+v", brep.Breaks)
			}
		})
	}
}
