package backup_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/backup"
	"github.com/vigilhq/vigil/ledger"
)

func TestDirBackupRestore(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.add(t, "default", 2500)
	s.add(t, "clinic-b", 300)
	if m := mode(t, filepath.Join(s.dir, backup.KeyFile)); m != 0o600 {
		t.Fatalf("backup.key mode %04o, want 0600", m)
	}
	to, err := backup.Open(ctx, filepath.Join(t.TempDir(), "dest"), backup.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := backup.Backup(ctx, s.source(), to, backup.Options{ChunkRecords: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Generation != 1 || rep.Events != 2800 || len(rep.Workspaces) != 2 || rep.Lock.Missing == "" {
		t.Fatalf("report = %+v", rep)
	}
	// Nothing readable leaves the machine: no leaf text in any object.
	names, _ := to.List(ctx, "")
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(to.String(), n))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "patient.record.viewed") || strings.Contains(string(b), "PRIVATE+KEY") {
			t.Fatalf("%s holds plaintext", n)
		}
		if m := mode(t, filepath.Join(to.String(), n)); m != 0o600 {
			t.Fatalf("%s mode %04o, want 0600", n, m)
		}
	}

	r := newTarget(t)
	res, err := backup.Restore(ctx, to, s.key, r.target(), backup.RestoreOptions{VerifierKey: s.vkey})
	if err != nil {
		t.Fatal(err)
	}
	sameLog(t, r.log, s.log)
	if res.Generation != 1 || res.State != "vigil.db" || len(res.Files) != 1 || res.Files[0] != "ledger.key" || len(res.Lost) != 0 {
		t.Fatalf("restore report = %+v", res)
	}
	sqliteOK(t, filepath.Join(r.dir, "vigil.db"))
	key, err := os.ReadFile(filepath.Join(r.dir, "ledger.key"))
	if err != nil || strings.TrimSpace(string(key)) != s.skey {
		t.Fatalf("restored ledger.key differs: %v", err)
	}
	for _, f := range []string{"vigil.db", "ledger.key"} {
		if m := mode(t, filepath.Join(r.dir, f)); m != 0o600 {
			t.Fatalf("restored %s mode %04o, want 0600", f, m)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(r.dir, ".restore-*")); len(left) != 0 {
		t.Fatalf("staging left behind: %v", left)
	}
	// A second restore into the same directory is refused.
	if _, err := backup.Restore(ctx, to, s.key, backup.Target{Log: openLog(t, filepath.Join(t.TempDir(), "log2")), Dir: r.dir}, backup.RestoreOptions{VerifierKey: s.vkey}); err == nil {
		t.Fatal("restoring over an existing data directory succeeded")
	}
}

func TestIncrementalBackupUploadsOnlyNewChunks(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	to, err := backup.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.add(t, "default", 1000)
	first, err := backup.Backup(ctx, s.source(), to, backup.Options{ChunkRecords: 400})
	if err != nil {
		t.Fatal(err)
	}
	if w := first.Workspaces[0]; w.From != 0 || w.To != 1000 || w.Chunks != 3 {
		t.Fatalf("first = %+v", w)
	}
	chunks1, _ := to.List(ctx, "log/")
	s.add(t, "default", 150)
	s.add(t, "new-ws", 10)
	second, err := backup.Backup(ctx, s.source(), to, backup.Options{ChunkRecords: 400})
	if err != nil {
		t.Fatal(err)
	}
	if second.Generation != 2 || second.Events != 160 {
		t.Fatalf("second = %+v", second)
	}
	for _, w := range second.Workspaces {
		want := map[string]backup.WorkspaceReport{"default": {Name: "default", From: 1000, To: 1150, Checkpoint: 1150, Chunks: 1}, "new-ws": {Name: "new-ws", From: 0, To: 10, Checkpoint: 10, Chunks: 1}}[w.Name]
		if w != want {
			t.Fatalf("second %+v, want %+v", w, want)
		}
	}
	chunks2, _ := to.List(ctx, "log/")
	if len(chunks2) != len(chunks1)+2 {
		t.Fatalf("chunks after the second backup: %v (before: %v)", chunks2, chunks1)
	}
	// The new generation's objects: two chunks, the state, the key file
	// and the manifest; the earlier chunks were not uploaded again.
	if second.Objects != 5 {
		t.Fatalf("second backup uploaded %d objects, want 5", second.Objects)
	}
	// Nothing new: no chunk, still a generation (the state moves on).
	third, err := backup.Backup(ctx, s.source(), to, backup.Options{ChunkRecords: 400})
	if err != nil {
		t.Fatal(err)
	}
	if third.Events != 0 || third.Objects != 3 {
		t.Fatalf("third = %+v", third)
	}
	// The latest manifest alone restores everything.
	r := newTarget(t)
	if _, err := backup.Restore(ctx, to, s.key, r.target(), backup.RestoreOptions{VerifierKey: s.vkey}); err != nil {
		t.Fatal(err)
	}
	sameLog(t, r.log, s.log)
	// And an older generation restores what it held.
	r1 := newTarget(t)
	res, err := backup.Restore(ctx, to, s.key, r1.target(), backup.RestoreOptions{VerifierKey: s.vkey, Generation: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Workspaces) != 1 || res.Workspaces[0].Events != 1000 {
		t.Fatalf("generation 1 restored %+v", res.Workspaces)
	}
}

// lyingCheckpointer signs a tree that is not the log's.
type lyingCheckpointer struct{ s *server }

func (c lyingCheckpointer) Checkpoint(ctx context.Context, ws string, size int64) (vigil.Checkpoint, error) {
	heads, _ := c.s.log.Heads(ctx)
	n, err := ledger.Sign(c.s.skey, ledger.Origin(logName, ws), heads[ws], vigil.Hash{9})
	if err != nil {
		return vigil.Checkpoint{}, err
	}
	return ledger.Open(n, c.s.vkey)
}

func TestBackupRefusesALogThatIsNotItsCheckpointsTree(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.add(t, "default", 10)
	to, err := backup.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := s.source()
	src.Checkpoints = lyingCheckpointer{s}
	if _, err := backup.Backup(ctx, src, to, backup.Options{}); err == nil || !strings.Contains(err.Error(), "does not match its checkpoint") {
		t.Fatalf("Backup = %v, want the mismatch refused", err)
	}
	if names, _ := to.List(ctx, "manifests/"); len(names) != 0 {
		t.Fatalf("a refused backup wrote a manifest: %v", names)
	}
}
