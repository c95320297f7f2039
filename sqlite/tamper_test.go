package sqlite_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
	"golang.org/x/mod/sumdb/tlog"
)

// bypassTriggers runs statements the way an intruder with the file would:
// drop the append-only triggers, change rows, put the triggers back.
func bypassTriggers(t *testing.T, raw *sql.DB, stmts ...string) {
	t.Helper()
	rows, err := raw.Query("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
	if err != nil {
		t.Fatal(err)
	}
	var names, defs []string
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			t.Fatal(err)
		}
		names, defs = append(names, n), append(defs, d)
	}
	rows.Close()
	for _, n := range names {
		mustExec(t, raw, "DROP TRIGGER "+n)
	}
	for _, s := range stmts {
		mustExec(t, raw, s)
	}
	for _, d := range defs {
		mustExec(t, raw, d)
	}
}

func mustExec(t *testing.T, db *sql.DB, stmt string, args ...any) {
	t.Helper()
	if _, err := db.Exec(stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// seedLog writes n events, one group each, and waits for the checkpoint.
func seedLog(t *testing.T, db *embedded.Store, n int) {
	t.Helper()
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		e := vigil.Event{ActorID: fmt.Sprintf("actor-%03d", i), Action: "patient_record.viewed", PatientID: fmt.Sprintf("pt-%03d", i%7)}
		if _, err := db.Append(ctx(t), "ws", []vigil.Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	waitSize(t, db, "ws", int64(n))
}

type tamperCase struct {
	name  string
	apply func(t *testing.T, dir string, raw *sql.DB)
	want  string // a break type that must be reported
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

var tamperCases = []tamperCase{
	{"change one byte of a field", func(t *testing.T, dir string, raw *sql.DB) {
		bypassTriggers(t, raw, "UPDATE events SET actor_id = 'actor-0X5' WHERE seq = 5")
	}, vigil.BreakModified},
	{"change a time by a nanosecond", func(t *testing.T, dir string, raw *sql.DB) {
		bypassTriggers(t, raw, "UPDATE events SET occurred_at = occurred_at + 1 WHERE seq = 11")
	}, vigil.BreakModified},
	{"delete a row", func(t *testing.T, dir string, raw *sql.DB) {
		bypassTriggers(t, raw, "DELETE FROM events WHERE seq = 7")
	}, vigil.BreakMissing},
	{"swap two rows", func(t *testing.T, dir string, raw *sql.DB) {
		bypassTriggers(t, raw,
			"UPDATE events SET seq = -1 WHERE seq = 3",
			"UPDATE events SET seq = 3 WHERE seq = 4",
			"UPDATE events SET seq = 4 WHERE seq = -1")
	}, vigil.BreakReordered},
	{"truncate the log", func(t *testing.T, dir string, raw *sql.DB) {
		bypassTriggers(t, raw, "DELETE FROM events WHERE seq >= 20", "DELETE FROM ledger_hashes WHERE idx >= 38")
	}, vigil.BreakTruncated},
	{"truncate the log and its checkpoints", func(t *testing.T, dir string, raw *sql.DB) {
		bypassTriggers(t, raw, "DELETE FROM events WHERE seq >= 20", "DELETE FROM ledger_hashes WHERE idx >= 38", "DELETE FROM checkpoints WHERE size > 20")
	}, vigil.BreakRollback},
	{"replace a stored leaf hash", func(t *testing.T, dir string, raw *sql.DB) {
		bypassTriggers(t, raw, "UPDATE ledger_hashes SET hash = zeroblob(32) WHERE idx = 0")
	}, vigil.BreakModified},
	{"replace a stored node hash", func(t *testing.T, dir string, raw *sql.DB) {
		bypassTriggers(t, raw, "UPDATE ledger_hashes SET hash = zeroblob(32) WHERE idx = 2")
	}, vigil.BreakHashMismatch},
	{"forge a checkpoint signature", func(t *testing.T, dir string, raw *sql.DB) {
		bypassTriggers(t, raw, "UPDATE checkpoints SET note = replace(note, substr(note, -10, 5), 'AAAAA') WHERE size = (SELECT max(size) FROM checkpoints)")
	}, vigil.BreakSignatureInvalid},
	{"delete the witness", func(t *testing.T, dir string, raw *sql.DB) {
		if err := os.Remove(filepath.Join(dir, "ledger.witness")); err != nil {
			t.Fatal(err)
		}
	}, vigil.BreakWitnessRollback},
	{"replace the witness with an older copy", func(t *testing.T, dir string, raw *sql.DB) {
		copyFile(t, filepath.Join(dir, "old.witness"), filepath.Join(dir, "ledger.witness"))
	}, vigil.BreakWitnessRollback},
	{"rewrite an event and its whole tree", func(t *testing.T, dir string, raw *sql.DB) {
		// A consistent forgery: the row and every hash recomputed. Only the
		// signed checkpoints can catch it.
		bypassTriggers(t, raw, "UPDATE events SET actor_id = 'intruder' WHERE seq = 2")
		rehash(t, raw)
	}, vigil.BreakCheckpointMismatch},
}

func TestTamperDetectedWhileRunning(t *testing.T) {
	for _, c := range tamperCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			db := MustOpenDB(t, dir)
			defer db.Close()
			seedLog(t, db, 24)
			copyFile(t, filepath.Join(dir, "ledger.witness"), filepath.Join(dir, "old.witness"))
			seedLog(t, db, 6)
			assertClean(t, db)
			c.apply(t, dir, rawDB(t, dir))
			assertDetected(t, db, c.want)
		})
	}
}

func TestTamperDetectedWhileStopped(t *testing.T) {
	cases := append(slices.Clone(tamperCases), tamperCase{"flip one byte in the file", func(t *testing.T, dir string, raw *sql.DB) {
		path := filepath.Join(dir, "vigil.db")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(b, []byte("actor-017"))
		if i < 0 {
			t.Fatal("the row's bytes are not in the file")
		}
		b[i+8] = '8' // actor-017 becomes actor-018 in the row itself
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}, vigil.BreakModified}, tamperCase{"roll back to an older copy", func(t *testing.T, dir string, raw *sql.DB) {
		// The copy taken before the last events; the witness file kept
		// outside the database still names the newer checkpoint.
		copyFile(t, filepath.Join(dir, "old.db"), filepath.Join(dir, "vigil.db"))
	}, vigil.BreakRollback})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			db := MustOpenDB(t, dir)
			seedLog(t, db, 24)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			copyFile(t, filepath.Join(dir, "vigil.db"), filepath.Join(dir, "old.db"))
			copyFile(t, filepath.Join(dir, "ledger.witness"), filepath.Join(dir, "old.witness"))
			db = MustOpenDB(t, dir)
			seedLog(t, db, 6)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			raw := rawDB(t, dir)
			c.apply(t, dir, raw)
			raw.Close()
			db = MustOpenDB(t, dir)
			defer db.Close()
			if c.want == vigil.BreakTruncated || c.want == vigil.BreakRollback {
				// Rows removed from the projection come back from the
				// log when the store opens; what was done is recorded.
				assertHealed(t, db, c.want, 30)
				return
			}
			assertDetected(t, db, c.want)
		})
	}
}

// assertHealed checks that a projection whose rows were removed while the
// store was stopped was rebuilt from the log, and that the removal is
// recorded and reported by Verify.
func assertHealed(t *testing.T, db *embedded.Store, want string, n int64) {
	t.Helper()
	if db.FoundBreaks()["ws"].Types[want] == 0 {
		t.Errorf("the %q break is not recorded: %+v", want, db.FoundBreaks())
	}
	rep, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || !hasBreak(rep.Breaks, want) {
		t.Errorf("Verify = valid %v breaks %+v, want the recorded %q break", rep.Valid, rep.Breaks, want)
	}
	for seq := range n {
		if _, err := db.EventBySequence(ctx(t), "ws", seq); err != nil {
			t.Fatalf("event %d was not put back from the log: %v", seq, err)
		}
	}
	// Offline, a bundle carries the recorded finding and nothing else: the
	// rebuilt log itself verifies.
	brep := bundleReport(t, db)
	if !hasBreak(brep.Breaks, want) {
		t.Errorf("the bundle does not carry the recorded %q break: %+v", want, brep.Breaks)
	}
	for _, b := range brep.Breaks {
		if b.Type != want {
			t.Errorf("the rebuilt log has another break offline: %+v", b)
		}
	}
}

func assertClean(t *testing.T, db *embedded.Store) {
	t.Helper()
	rep, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{})
	if err != nil || !rep.Valid {
		t.Fatalf("untouched log reported %+v %v", rep, err)
	}
	var found []vigil.Break
	if err := db.VerifyPass(ctx(t), 0, func(_ string, b []vigil.Break) { found = append(found, b...) }); err != nil || len(found) > 0 {
		t.Fatalf("background verifier on an untouched log: %+v %v", found, err)
	}
	if brep := bundleReport(t, db); !brep.Valid {
		t.Fatalf("offline verifier on an untouched log: %+v", brep.Breaks)
	}
}

// assertDetected checks both the on-demand and the background verifier
// (or the store itself, which compares the witness with the database when
// it opens, before anything can replace the witness).
func assertDetected(t *testing.T, db *embedded.Store, want string) {
	t.Helper()
	recorded := db.FoundBreaks()["ws"].Types[want] > 0
	var found []vigil.Break
	if err := db.VerifyPass(ctx(t), 0, func(_ string, b []vigil.Break) { found = append(found, b...) }); err != nil {
		t.Fatal(err)
	}
	if !hasBreak(found, want) && !recorded {
		t.Errorf("background verifier found %+v, want a %q break", found, want)
	}
	if db.FoundBreaks()["ws"].Types[want] == 0 {
		t.Errorf("the %q break is not recorded: %+v", want, db.FoundBreaks())
	}
	rep, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || !hasBreak(rep.Breaks, want) {
		t.Errorf("Verify = valid %v breaks %+v, want a %q break", rep.Valid, rep.Breaks, want)
	}
	// And offline: a bundle exported from the tampered database fails.
	if brep := bundleReport(t, db); brep.Valid {
		t.Errorf("the offline verifier passed a bundle of the tampered log")
	}
}

// bundleReport exports the whole log and verifies it with the trusted key.
func bundleReport(t *testing.T, db *embedded.Store) *ledger.Report {
	t.Helper()
	b, err := db.Bundle(ctx(t), "ws", 0, 0, testVKey)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var count *ledger.CountError
	if err := ledger.WriteBundle(&buf, b); err != nil && !errors.As(err, &count) {
		t.Fatal(err)
	}
	rep, err := ledger.VerifyBundle(&buf, ledger.VerifyOptions{Key: testVKey})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func hasBreak(bs []vigil.Break, typ string) bool {
	for _, b := range bs {
		if b.Type == typ {
			return true
		}
	}
	return false
}

// rehash recomputes every stored hash from the rows as they now are, the
// way an intruder who knows the format would cover their tracks.
func rehash(t *testing.T, raw *sql.DB) {
	t.Helper()
	var path string
	if err := raw.QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path); err != nil {
		t.Fatal(err)
	}
	// The rows as they are, read beside the running server: the
	// database alone, without the engine (which holds the log's lock).
	reader, err := sqlite.Open(ctx(t), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	stored := map[int64]tlog.Hash{}
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	var stmts []string
	for seq := int64(0); ; seq++ {
		e, err := reader.EventBySequence(ctx(t), "ws", seq)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		hs, err := tlog.StoredHashes(seq, ledger.AppendEvent(nil, &e), hr)
		if err != nil {
			t.Fatal(err)
		}
		base := tlog.StoredHashIndex(0, seq)
		for i, h := range hs {
			stored[base+int64(i)] = h
			stmts = append(stmts, fmt.Sprintf("UPDATE ledger_hashes SET hash = x'%x' WHERE idx = %d", h[:], base+int64(i)))
		}
	}
	bypassTriggers(t, raw, stmts...)
}
