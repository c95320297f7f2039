package filelog_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/storetest"
)

const seg0 = "00000000000000000000.seg"

// written is a log written and closed: its groups' offsets in the first
// segment, and the records of each group.
type written struct {
	dir    string
	ends   []int64 // the segment's size after each group
	groups [][]vigil.LogRecord
}

// writeGroups appends groups of the given sizes, alternating two
// workspaces in each, and closes the log.
func writeGroups(t *testing.T, sizes ...int) written {
	t.Helper()
	w := written{dir: t.TempDir()}
	l, err := filelog.Open(w.dir, filelog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := storetest.NewLogBuilder("a"), storetest.NewLogBuilder("b")
	for _, n := range sizes {
		var g []vigil.LogRecord
		for i := range n {
			if i%2 == 0 {
				g = append(g, a.Next(1)...)
			} else {
				g = append(g, b.Next(1)...)
			}
		}
		if err := l.Append(ctxT(t), g); err != nil {
			t.Fatal(err)
		}
		w.groups = append(w.groups, g)
		w.ends = append(w.ends, fileSize(t, filepath.Join(w.dir, seg0)))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// damage rewrites the first segment.
func (w written) damage(t *testing.T, change func([]byte) []byte) {
	t.Helper()
	path := filepath.Join(w.dir, seg0)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, change(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkHolds checks that the log holds exactly the first n groups and
// goes on after them.
func (w written) checkHolds(t *testing.T, l *filelog.Log, n int) {
	t.Helper()
	want := map[string][]vigil.LogRecord{}
	for _, g := range w.groups[:n] {
		for _, r := range g {
			want[r.Workspace] = append(want[r.Workspace], r)
		}
	}
	h, err := l.Heads(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != len(want) {
		t.Fatalf("heads %v after the first %d groups", h, n)
	}
	for ws, recs := range want {
		if h[ws] != int64(len(recs)) {
			t.Fatalf("heads %v after the first %d groups", h, n)
		}
		got, err := l.Read(ctxT(t), ws, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		same(t, got, recs)
	}
	// The log continues where the whole groups end: the cut group's
	// records, appended again, are accepted.
	if n < len(w.groups) {
		if err := l.Append(ctxT(t), w.groups[n]); err != nil {
			t.Fatalf("appending the cut group again: %v", err)
		}
	}
}

func same(t *testing.T, got, want []vigil.LogRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Workspace != w.Workspace || g.Sequence != w.Sequence || !bytes.Equal(g.Leaf, w.Leaf) || fmt.Sprint(g.Hashes) != fmt.Sprint(w.Hashes) {
			t.Fatalf("record %d: got %s/%d, want %s/%d, or their bytes differ", i, g.Workspace, g.Sequence, w.Workspace, w.Sequence)
		}
	}
}

func TestTornTailIsCut(t *testing.T) {
	cases := map[string]func(w written, b []byte) []byte{
		// The crash came in the middle of the last group's write.
		"half of the last group": func(w written, b []byte) []byte { return b[:w.ends[1]+(w.ends[2]-w.ends[1])/2] },
		"a few bytes of a frame": func(w written, b []byte) []byte { return b[:w.ends[1]+5] },
		"all but the last byte":  func(w written, b []byte) []byte { return b[:w.ends[2]-1] },
		// Whole records of the last group, but not all of them.
		"the last group cut after its first record": func(w written, b []byte) []byte {
			return b[:w.ends[1]+8+int64(binary.LittleEndian.Uint32(b[w.ends[1]:]))]
		},
		// The file grew but the data did not reach the disk.
		"zeros in place of the last group": func(w written, b []byte) []byte {
			return append(b[:w.ends[1]], make([]byte, w.ends[2]-w.ends[1])...)
		},
		// The disk wrote the group's later pages but not its first:
		// whole records follow the damage, but of the same group.
		"the first page of the last group lost": func(w written, b []byte) []byte {
			clear(b[w.ends[1] : w.ends[1]+100])
			return b
		},
		"garbage after the last group": func(w written, b []byte) []byte {
			return append(b[:w.ends[1]], []byte(strings.Repeat("\x17garbage\xff", 300))...)
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			w := writeGroups(t, 3, 5, 40)
			w.damage(t, func(b []byte) []byte { return change(w, b) })
			var logged bytes.Buffer
			l := open(t, w.dir, filelog.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
			w.checkHolds(t, l, 2)
			if !strings.Contains(logged.String(), "cut a torn tail") || !strings.Contains(logged.String(), fmt.Sprintf("offset=%d", w.ends[1])) {
				t.Fatalf("the cut was not logged with its offset %d: %s", w.ends[1], logged.String())
			}
			if got := fileSize(t, filepath.Join(w.dir, seg0)); got != w.ends[2] {
				t.Fatalf("the segment is %d bytes after the group was appended again, want %d", got, w.ends[2])
			}
		})
	}
}

func TestWholeLogIsNotCut(t *testing.T) {
	w := writeGroups(t, 3, 5)
	var logged bytes.Buffer
	l := open(t, w.dir, filelog.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	w.checkHolds(t, l, 2)
	if logged.Len() != 0 {
		t.Fatalf("Open of a whole log logged: %s", logged.String())
	}
}

func TestDamageBeforeAcknowledgedRecordsIsRefused(t *testing.T) {
	cases := map[string]struct {
		change func(w written, b []byte) []byte
		offset func(w written) int64
	}{
		"a flipped byte in the first record": {
			func(w written, b []byte) []byte { b[8+30] ^= 1; return b },
			func(w written) int64 { return 8 },
		},
		"a flipped byte in a middle group": {
			func(w written, b []byte) []byte { b[w.ends[1]+40] ^= 0x80; return b },
			func(w written) int64 { return w.ends[1] },
		},
		"a damaged length": {
			func(w written, b []byte) []byte { b[w.ends[0]+3] = 0x7f; return b },
			func(w written) int64 { return w.ends[0] },
		},
		"zeros over a middle group": {
			func(w written, b []byte) []byte { clear(b[w.ends[0]:w.ends[1]]); return b },
			func(w written) int64 { return w.ends[0] },
		},
		"a middle group removed": {
			func(w written, b []byte) []byte { return append(b[:w.ends[0]], b[w.ends[1]:]...) },
			func(w written) int64 { return w.ends[0] },
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w := writeGroups(t, 3, 5, 40, 2)
			w.damage(t, func(b []byte) []byte { return c.change(w, b) })
			l, err := filelog.Open(w.dir, filelog.Options{})
			if err == nil {
				l.Close()
				t.Fatal("Open of a log damaged before acknowledged records succeeded")
			}
			want := fmt.Sprintf("%s at offset %d", filepath.Join(w.dir, seg0), c.offset(w))
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("Open = %v, want an error naming %q", err, want)
			}
			if got := fileSize(t, filepath.Join(w.dir, seg0)); name != "a middle group removed" && got != w.ends[3] {
				t.Fatalf("the refused segment was changed: %d bytes, was %d", got, w.ends[3])
			}
		})
	}
}

func TestDamagedSealedSegmentIsRefused(t *testing.T) {
	dir := t.TempDir()
	l, err := filelog.Open(dir, filelog.Options{SegmentBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	b := storetest.NewLogBuilder("ws")
	for range 10 {
		if err := l.Append(ctxT(t), b.Next(3)); err != nil {
			t.Fatal(err)
		}
	}
	if s := l.Stats(); s.Segments < 3 {
		t.Fatalf("%d segments, want 3 or more", s.Segments)
	}
	l.Close()
	// The end of a sealed segment cut off, as a torn tail would be: but
	// the segment was sealed, its records acknowledged.
	path := filepath.Join(dir, seg0)
	if err := os.Truncate(path, fileSize(t, path)-10); err != nil {
		t.Fatal(err)
	}
	_, err = filelog.Open(dir, filelog.Options{SegmentBytes: 1024})
	if err == nil || !strings.Contains(err.Error(), path+" at offset ") {
		t.Fatalf("Open with a sealed segment cut short = %v, want an error naming %s and an offset", err, path)
	}
	// A segment missing from the middle.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = filelog.Open(dir, filelog.Options{SegmentBytes: 1024})
	if err == nil || !strings.Contains(err.Error(), seg0+" is missing") {
		t.Fatalf("Open with the first segment missing = %v", err)
	}
}

func TestNotASegmentIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, seg0), []byte("SQLite format 3\x00 and more"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := filelog.Open(dir, filelog.Options{})
	if err == nil || !strings.Contains(err.Error(), "at offset 0") {
		t.Fatalf("Open of a file that is no segment = %v", err)
	}
}

func TestSegmentHeaderCutShortIsCompleted(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, seg0), []byte("VIG"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := open(t, dir, filelog.Options{})
	recs := storetest.NewLogBuilder("ws").Next(2)
	if err := l.Append(ctxT(t), recs); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = open(t, dir, filelog.Options{})
	got, err := l.Read(ctxT(t), "ws", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, recs)
}
