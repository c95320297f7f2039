package backup_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/backup"
	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
	"github.com/vigilhq/vigil/storetest"
	"golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite"
)

const logName = "vigil.test"

// server is what a running Vigil would hand the backup: its log (the
// embedded segment-file log), a
// checkpointer over it signing with the ledger key, a real SQLite state
// database and the ledger key file, in a data directory.
type server struct {
	dir      string
	log      *filelog.Log
	builders map[string]*storetest.LogBuilder
	skey     string
	vkey     string
	key      *backup.Key
	db       *sqlite.DB
}

func newServer(t testing.TB) *server {
	t.Helper()
	dir := t.TempDir()
	skey, vkey, err := ledger.GenerateKey(logName)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ledger.key"), []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, created, err := backup.LoadOrCreateKey(filepath.Join(dir, backup.KeyFile))
	if err != nil || !created {
		t.Fatalf("LoadOrCreateKey = %v, created %v", err, created)
	}
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "vigil.db"), LogName: logName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &server{dir: dir, log: openLog(t, filepath.Join(dir, "log")), builders: map[string]*storetest.LogBuilder{}, skey: skey, vkey: vkey, key: key, db: db}
}

// add appends n events to a workspace's log.
func (s *server) add(t testing.TB, ws string, n int) {
	t.Helper()
	b := s.builders[ws]
	if b == nil {
		b = storetest.NewLogBuilder(ws)
		s.builders[ws] = b
	}
	for n > 0 {
		k := min(n, 1000)
		if err := s.log.Append(context.Background(), b.Next(k)); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}

func (s *server) source() backup.Source {
	return backup.Source{Log: s.log, Checkpoints: checkpointer{s}, State: s.db, StateName: "vigil.db",
		Files: []string{filepath.Join(s.dir, "ledger.key")}, SigningKey: s.skey, Key: s.key}
}

// checkpoint signs the tree of a workspace's log at size, as the engine
// does when it issues a checkpoint.
func (s *server) checkpoint(t *testing.T, ws string, size int64) vigil.Checkpoint {
	t.Helper()
	cp, err := checkpointer{s}.at(context.Background(), ws, size)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// checkpointer signs a checkpoint of the whole log on demand, as the
// engine's Checkpoint(ctx, ws, -1) does.
type checkpointer struct{ s *server }

func (c checkpointer) Checkpoint(ctx context.Context, ws string, size int64) (vigil.Checkpoint, error) {
	heads, err := c.s.log.Heads(ctx)
	if err != nil {
		return vigil.Checkpoint{}, err
	}
	if heads[ws] == 0 {
		return vigil.Checkpoint{}, vigil.Errorf(vigil.ENOTFOUND, "no checkpoint yet")
	}
	return c.at(ctx, ws, heads[ws])
}

func (c checkpointer) at(ctx context.Context, ws string, size int64) (vigil.Checkpoint, error) {
	root, err := tlog.TreeHash(size, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		hs, err := c.s.log.ReadHashes(ctx, ws, idx)
		out := make([]tlog.Hash, len(hs))
		for i, h := range hs {
			out[i] = tlog.Hash(h)
		}
		return out, err
	}))
	if err != nil {
		return vigil.Checkpoint{}, err
	}
	n, err := ledger.Sign(c.s.skey, ledger.Origin(logName, ws), size, vigil.Hash(root))
	if err != nil {
		return vigil.Checkpoint{}, err
	}
	return ledger.Open(n, c.s.vkey)
}

// restored is a restore target: a new log and a new data directory.
type restored struct {
	log *filelog.Log
	dir string
}

func newTarget(t testing.TB) restored {
	dir := filepath.Join(t.TempDir(), "data")
	return restored{log: openLog(t, filepath.Join(dir, "log")), dir: dir}
}

// openLog opens the embedded segment-file log in dir.
func openLog(t testing.TB, dir string) *filelog.Log {
	t.Helper()
	l, err := filelog.Open(dir, filelog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func (r restored) target() backup.Target { return backup.Target{Log: r.log, Dir: r.dir} }

// sameLog fails unless the restored log holds the server's records.
func sameLog(t *testing.T, got, want vigil.LogStorage) {
	t.Helper()
	ctx := context.Background()
	wh, _ := want.Heads(ctx)
	gh, _ := got.Heads(ctx)
	if len(wh) != len(gh) {
		t.Fatalf("restored heads %v, want %v", gh, wh)
	}
	for ws, n := range wh {
		if gh[ws] != n {
			t.Fatalf("restored %q has %d events, want %d", ws, gh[ws], n)
		}
		a, _ := want.Read(ctx, ws, 0, int(n))
		b, _ := got.Read(ctx, ws, 0, int(n))
		for i := range a {
			if !slices.Equal(a[i].Leaf, b[i].Leaf) || !slices.Equal(a[i].Hashes, b[i].Hashes) {
				t.Fatalf("restored record %d of %q differs", i, ws)
			}
		}
	}
}

// sqliteOK fails unless path is a sound SQLite database with tables.
func sqliteOK(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of %s = %q, %v", path, check, err)
	}
	var tables int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").Scan(&tables); err != nil || tables == 0 {
		t.Fatalf("%s has %d tables, %v", path, tables, err)
	}
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
