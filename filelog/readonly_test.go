package filelog_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/filelog"
)

// A read-only open reads a log another Open holds (a running server),
// sees its whole groups only, and changes nothing: a group being written
// (here, half of one) is left in the file for its writer.
func TestOpenReadOnlyBesideTheWriter(t *testing.T) {
	w := writeGroups(t, 3, 5, 40)
	w.damage(t, func(b []byte) []byte { return b[:w.ends[1]+(w.ends[2]-w.ends[1])/2] })
	before, err := os.ReadFile(filepath.Join(w.dir, seg0))
	if err != nil {
		t.Fatal(err)
	}
	ro, err := filelog.OpenReadOnly(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	after, err := os.ReadFile(filepath.Join(w.dir, seg0))
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Fatal("the read-only open changed the segment")
	}
	if err := ro.Append(ctxT(t), w.groups[2]); vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
		t.Fatalf("Append on a read-only log = %v, want EUNAVAILABLE", err)
	}
	heads, err := ro.Heads(ctxT(t))
	if err != nil || heads["a"]+heads["b"] != 8 {
		t.Fatalf("read-only heads %v (%v), want the 8 records of the two whole groups", heads, err)
	}

	// The writer opens (taking the lock, cutting its torn tail) while
	// the read-only log is open; a second read-only open beside it sees
	// what the writer appends and flushed.
	l := open(t, w.dir, filelog.Options{})
	if err := l.Append(ctxT(t), w.groups[2]); err != nil {
		t.Fatal(err)
	}
	ro2, err := filelog.OpenReadOnly(w.dir)
	if err != nil {
		t.Fatalf("a read-only open beside the writer: %v", err)
	}
	defer ro2.Close()
	w.checkHoldsReadOnly(t, ro2, 3)
	if _, err := filelog.Open(w.dir, filelog.Options{}); err == nil {
		t.Fatal("a second writer opened beside the first")
	}
}

// checkHoldsReadOnly checks that a read-only log holds exactly the
// first n groups, hashes included.
func (w written) checkHoldsReadOnly(t *testing.T, l *filelog.Log, n int) {
	t.Helper()
	want := map[string][]vigil.LogRecord{}
	for _, g := range w.groups[:n] {
		for _, r := range g {
			want[r.Workspace] = append(want[r.Workspace], r)
		}
	}
	for ws, recs := range want {
		got, err := l.Read(ctxT(t), ws, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		same(t, got, recs)
		hs, err := l.ReadHashes(ctxT(t), ws, []int64{0})
		if err != nil || hs[0] != recs[0].Hashes[0] {
			t.Fatalf("ReadHashes(%s, 0) = %v, %v", ws, hs, err)
		}
	}
}

// A read-only open of a directory with no segment yet is an empty log,
// and creates nothing.
func TestOpenReadOnlyEmpty(t *testing.T) {
	dir := t.TempDir()
	ro, err := filelog.OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if h, err := ro.Heads(ctxT(t)); err != nil || len(h) != 0 {
		t.Fatalf("heads %v, %v", h, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("the read-only open created %v", ents)
	}
	if _, err := filelog.OpenReadOnly(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a read-only open of a missing directory succeeded")
	}
}
