package filelog_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/internal/private"
	"github.com/vigilhq/vigil/storetest"
	"golang.org/x/mod/sumdb/tlog"
)

// TestReadAcrossSegments appends two interleaved workspaces over many
// small segments and reads every range of them, before and after a
// reopen, and the tree hashes that span them.
func TestReadAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	opts := filelog.Options{SegmentBytes: 16 << 10}
	l := open(t, dir, opts)
	builders := map[string]*storetest.LogBuilder{"a": storetest.NewLogBuilder("a"), "b": storetest.NewLogBuilder("b")}
	all := map[string][]vigil.LogRecord{}
	for i := range 120 {
		var g []vigil.LogRecord
		ra := builders["a"].Next(1 + i%13)
		rb := builders["b"].Next(i % 3)
		g = append(append(g, ra...), rb...)
		if err := l.Append(ctxT(t), g); err != nil {
			t.Fatal(err)
		}
		all["a"], all["b"] = append(all["a"], ra...), append(all["b"], rb...)
	}
	check := func(l *filelog.Log) {
		t.Helper()
		if s := l.Stats(); s.Segments < 10 || s.Records != int64(len(all["a"])+len(all["b"])) {
			t.Fatalf("stats %+v: want 10 segments or more and every record", s)
		}
		for ws, recs := range all {
			for _, r := range [][2]int{{0, 1000}, {0, 1}, {1, 300}, {255, 3}, {256, 1}, {100, 200}, {len(recs) - 1, 5}} {
				from := min(r[0], len(recs))
				got, err := l.Read(ctxT(t), ws, int64(from), r[1])
				if err != nil {
					t.Fatal(err)
				}
				same(t, got, recs[from:min(from+r[1], len(recs))])
			}
			root, err := tlog.TreeHash(int64(len(recs)), hashReader{t, l, ws})
			if err != nil {
				t.Fatal(err)
			}
			if vigil.Hash(root) != builders[ws].Root() {
				t.Fatalf("the root of %s from the log's hashes differs", ws)
			}
			// An inclusion proof reads hashes all over the tree.
			if _, err := tlog.ProveRecord(int64(len(recs)), 3, hashReader{t, l, ws}); err != nil {
				t.Fatal(err)
			}
		}
	}
	check(l)
	l.Close()
	check(open(t, dir, opts))
}

type hashReader struct {
	t  *testing.T
	l  *filelog.Log
	ws string
}

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	hs, err := r.l.ReadHashes(ctxT(r.t), r.ws, indexes)
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		out[i] = tlog.Hash(h)
	}
	return out, err
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	l, err := filelog.Open(dir, filelog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := filelog.Open(dir, filelog.Options{}); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open = %v, want an error saying the log is in use", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = open(t, dir, filelog.Options{})
	if err := l.Append(ctxT(t), storetest.NewLogBuilder("ws").Next(1)); err != nil {
		t.Fatalf("Append after the first Open was closed: %v", err)
	}
}

func TestFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	l := open(t, dir, filelog.Options{SegmentBytes: 1024})
	b := storetest.NewLogBuilder("ws")
	for range 5 {
		if err := l.Append(ctxT(t), b.Next(3)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	checkModes(t, dir)

	// Files an older version or a permissive umask left open are made
	// private when the log is opened.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, seg0), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "LOCK"), 0o666); err != nil {
		t.Fatal(err)
	}
	open(t, dir, filelog.Options{SegmentBytes: 1024}).Close()
	checkModes(t, dir)
}

func checkModes(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != private.DirMode {
		t.Fatalf("the directory is %04o", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 3 {
		t.Fatalf("%d files, want LOCK and segments", len(entries))
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != private.FileMode {
			t.Fatalf("%s is %04o", e.Name(), fi.Mode().Perm())
		}
	}
}

func TestAppendChecksRecords(t *testing.T) {
	l := open(t, t.TempDir(), filelog.Options{})
	recs := storetest.NewLogBuilder("ws").Next(2)
	bad := append([]vigil.LogRecord{}, recs...)
	bad[1].Hashes = bad[1].Hashes[:1]
	if err := l.Append(ctxT(t), bad); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("Append with a hash missing = %v, want EINVALID", err)
	}
	noWS := append([]vigil.LogRecord{}, recs[0])
	noWS[0].Workspace = ""
	if err := l.Append(ctxT(t), noWS); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("Append without a workspace = %v, want EINVALID", err)
	}
	if s := l.Stats(); s.Records != 0 || s.Bytes != 8 {
		t.Fatalf("refused appends wrote: %+v", s)
	}
	if _, err := l.Read(ctxT(t), "ws", -1, 1); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("Read from -1 = %v, want EINVALID", err)
	}
	if err := l.Append(ctxT(t), recs); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := l.Read(ctxT(t), "ws", 0, 1); vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
		t.Fatalf("Read after Close = %v, want EUNAVAILABLE", err)
	}
}
