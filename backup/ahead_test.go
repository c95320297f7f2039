package backup_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/backup"
)

// aheadState is a state whose projection has applied events past the
// latest checkpoint, as a live server's has between two checkpoints.
type aheadState struct {
	backup.Snapshotter
	applied map[string]int64
}

func (a aheadState) Cursors(context.Context) (map[string]int64, error) { return a.applied, nil }

// checkpointAt signs the log at a fixed size, behind its head.
type checkpointAt struct {
	s    *server
	size int64
}

func (c checkpointAt) Checkpoint(ctx context.Context, ws string, _ int64) (vigil.Checkpoint, error) {
	return checkpointer{c.s}.at(ctx, ws, c.size)
}

// A state snapshot holding events past the checkpoint takes the log that
// far into the generation: a restored state must never be ahead of its
// restored log, which the engine refuses to open. The tree at the end is
// checked as the checkpoint's is, and the next generation continues from
// there.
func TestBackupCoversTheEventsTheStateHolds(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.add(t, "default", 1500)
	to, err := backup.Open(ctx, filepath.Join(t.TempDir(), "dest"), backup.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src := s.source()
	src.Checkpoints = checkpointAt{s, 1000}
	src.State = aheadState{s.db, map[string]int64{"default": 1200}}
	rep, err := backup.Backup(ctx, src, to, backup.Options{ChunkRecords: 500})
	if err != nil {
		t.Fatal(err)
	}
	if w := rep.Workspaces[0]; rep.Events != 1200 || w.To != 1200 || w.Checkpoint != 1000 {
		t.Fatalf("report = %+v %+v", rep, rep.Workspaces)
	}
	// The next generation starts where the state left the first.
	s.add(t, "default", 100)
	src.Checkpoints = checkpointAt{s, 1300}
	src.State = aheadState{s.db, map[string]int64{"default": 1250}}
	rep, err = backup.Backup(ctx, src, to, backup.Options{ChunkRecords: 500})
	if err != nil {
		t.Fatal(err)
	}
	if w := rep.Workspaces[0]; rep.Events != 100 || w.From != 1200 || w.To != 1300 {
		t.Fatalf("second report = %+v %+v", rep, rep.Workspaces)
	}
	r := newTarget(t)
	res, err := backup.Restore(ctx, to, s.key, r.target(), backup.RestoreOptions{VerifierKey: s.vkey, Generation: 1})
	if err != nil {
		t.Fatal(err)
	}
	if w := res.Workspaces[0]; w.Events != 1200 || w.Checkpoint != 1000 {
		t.Fatalf("restored %+v", w)
	}
	heads, _ := r.log.Heads(ctx)
	if heads["default"] != 1200 {
		t.Fatalf("restored log heads %v, want 1200 events", heads)
	}
	// A state that holds more than the log is refused.
	src.State = aheadState{s.db, map[string]int64{"default": 5000}}
	if _, err := backup.Backup(ctx, src, to, backup.Options{}); err == nil {
		t.Fatal("a backup whose state holds more events than the log succeeded")
	}
}
