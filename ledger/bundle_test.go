package ledger_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// testLog is an in-memory log with signed checkpoints, built the way the
// store builds one.
type testLog struct {
	skey, vkey  string
	origin      string
	leaves      [][]byte
	stored      memHashes
	checkpoints map[int64][]byte
}

func newTestLog(t testing.TB, skey, vkey string, n int, cpAt ...int64) *testLog {
	l := &testLog{skey: skey, vkey: vkey, origin: "test.vigil/default", stored: memHashes{}, checkpoints: map[int64][]byte{}}
	t0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		e := vigil.Event{ID: fmt.Sprintf("0190b5a0-%04x-7000-8000-000000000000", i), Workspace: "default", Sequence: int64(i),
			CreatedAt: t0.Add(time.Duration(i) * time.Second), OccurredAt: t0, ActorID: fmt.Sprintf("actor-%03d", i),
			Action: "patient_record.viewed", PatientID: fmt.Sprintf("pt_%d", i%7), Outcome: vigil.OutcomeSuccess}
		c := ledger.AppendEvent(nil, &e)
		hs, err := tlog.StoredHashes(int64(i), c, l.stored)
		if err != nil {
			t.Fatal(err)
		}
		for j, h := range hs {
			l.stored[tlog.StoredHashIndex(0, int64(i))+int64(j)] = h
		}
		l.leaves = append(l.leaves, c)
	}
	for _, size := range append(cpAt, int64(n)) {
		root, _ := tlog.TreeHash(size, l.stored)
		note, err := ledger.Sign(skey, l.origin, size, ledger.VigilHash(root))
		if err != nil {
			t.Fatal(err)
		}
		l.checkpoints[size] = note
	}
	return l
}

func (l *testLog) bundle(t testing.TB, from, to int64) []byte {
	n := int64(len(l.leaves))
	b := &ledger.Bundle{Origin: l.origin, VerifierKey: l.vkey, From: from, To: to, TreeSize: n}
	var sizes []int64
	for s := range l.checkpoints {
		if s >= from {
			sizes = append(sizes, s)
		}
	}
	for i := range sizes {
		for j := i + 1; j < len(sizes); j++ {
			if sizes[j] < sizes[i] {
				sizes[i], sizes[j] = sizes[j], sizes[i]
			}
		}
	}
	for i, s := range sizes {
		b.Checkpoints = append(b.Checkpoints, l.checkpoints[s])
		if i > 0 && sizes[i-1] > 0 {
			p, err := tlog.ProveTree(s, sizes[i-1], l.stored)
			if err != nil {
				t.Fatal(err)
			}
			cp := ledger.ConsistencyProof{First: sizes[i-1], Second: s}
			for _, h := range p {
				cp.Hashes = append(cp.Hashes, ledger.VigilHash(h))
			}
			b.Proofs = append(b.Proofs, cp)
		}
	}
	for _, st := range ledger.SubtreesOutside(from, to, n) {
		b.Subtrees = append(b.Subtrees, ledger.SubtreeHash{Subtree: st, Hash: ledger.VigilHash(l.stored[st.StoredIndex()])})
	}
	b.Events = func(yield func([]byte, error) bool) {
		for _, c := range l.leaves[from:to] {
			if !yield(c, nil) {
				return
			}
		}
	}
	var buf bytes.Buffer
	if err := ledger.WriteBundle(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func verify(t *testing.T, bundle []byte, opts ledger.VerifyOptions) *ledger.Report {
	t.Helper()
	rep, err := ledger.VerifyBundle(bytes.NewReader(bundle), opts)
	if err != nil {
		t.Fatalf("VerifyBundle: %v", err)
	}
	return rep
}

func goldenKey(t testing.TB) (string, string) {
	skey, err := os.ReadFile("testdata/golden.skey")
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := os.ReadFile("testdata/golden.vkey")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(skey)), strings.TrimSpace(string(vkey))
}

// TestGoldenBundle: the bundle in testdata was written by an earlier
// version; every version must keep verifying it.
func TestGoldenBundle(t *testing.T) {
	skey, vkey := goldenKey(t)
	if *update {
		l := newTestLog(t, skey, vkey, 50, 10, 30)
		if err := os.WriteFile("testdata/golden.bundle", l.bundle(t, 0, 50), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/golden.checkpoint", l.checkpoints[30], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile("testdata/golden.bundle")
	if err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile("testdata/golden.checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	rep := verify(t, golden, ledger.VerifyOptions{Key: vkey, Saved: saved})
	if !rep.Valid || rep.EventsChecked != 50 || rep.TreeSize != 50 || len(rep.Breaks) != 0 {
		t.Fatalf("golden bundle: %+v", rep)
	}
	// The golden bundle is what today's code writes for the same log.
	if fresh := newTestLog(t, skey, vkey, 50, 10, 30).bundle(t, 0, 50); !bytes.Equal(fresh, golden) {
		t.Fatal("the bundle written today differs from the golden one: the format changed")
	}
}

func lines(b []byte) []string { return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") }
func join(ls []string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// header lines of the golden bundle: 1 header, 3 checkpoints, 2 proofs, 0 subtrees.
const goldenEvents = 1 + 3 + 2

func TestBundleTamperSuite(t *testing.T) {
	skey, vkey := goldenKey(t)
	golden, err := os.ReadFile("testdata/golden.bundle")
	if err != nil {
		t.Fatal(err)
	}
	longer := newTestLog(t, skey, vkey, 60, 10, 30, 50)
	_, otherV, _ := ledger.GenerateKey("test.vigil")
	cases := []struct {
		name   string
		mutate func([]string) []string
		opts   ledger.VerifyOptions
		want   string
	}{
		{"change one byte of a field", func(ls []string) []string {
			ls[goldenEvents+5] = strings.Replace(ls[goldenEvents+5], "actor-005", "actor-00X", 1)
			return ls
		}, ledger.VerifyOptions{Key: vkey}, vigil.BreakCheckpointMismatch},
		{"delete a line", func(ls []string) []string {
			return append(ls[:goldenEvents+7:goldenEvents+7], ls[goldenEvents+8:]...)
		}, ledger.VerifyOptions{Key: vkey}, vigil.BreakMissing},
		{"swap two lines", func(ls []string) []string {
			ls[goldenEvents+3], ls[goldenEvents+4] = ls[goldenEvents+4], ls[goldenEvents+3]
			return ls
		}, ledger.VerifyOptions{Key: vkey}, vigil.BreakReordered},
		{"truncate", func(ls []string) []string { return ls[:len(ls)-10] }, ledger.VerifyOptions{Key: vkey}, vigil.BreakTruncated},
		{"forge a checkpoint signature", func(ls []string) []string {
			ls[3] = strings.Replace(ls[3], `\n50\n`, `\n49\n`, 1)
			return ls
		}, ledger.VerifyOptions{Key: vkey}, vigil.BreakSignatureInvalid},
		{"signed by another key", func(ls []string) []string { return ls }, ledger.VerifyOptions{Key: otherV}, vigil.BreakSignatureInvalid},
		{"rolled back behind a saved checkpoint", func(ls []string) []string { return ls },
			ledger.VerifyOptions{Key: vkey, Saved: longer.checkpoints[60]}, vigil.BreakRollback},
		{"rewritten under a saved checkpoint", func(ls []string) []string { return ls },
			ledger.VerifyOptions{Key: vkey, Saved: mustSign(t, skey, 40, vigil.Hash{7})}, vigil.BreakRollback},
		{"a non-canonical line", func(ls []string) []string {
			ls[goldenEvents+2] = strings.Replace(ls[goldenEvents+2], `{"action"`, `{ "action"`, 1)
			return ls
		}, ledger.VerifyOptions{Key: vkey}, vigil.BreakModified},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := verify(t, join(c.mutate(lines(golden))), c.opts)
			if rep.Valid || !hasBreak(rep.Breaks, c.want) {
				t.Fatalf("breaks %+v, want a %q break", rep.Breaks, c.want)
			}
		})
	}
}

// TestRangeBundle checks partial exports, whose root needs the subtrees
// outside the range, and that tampering with a subtree is caught.
func TestRangeBundle(t *testing.T) {
	skey, vkey := goldenKey(t)
	l := newTestLog(t, skey, vkey, 77, 20, 40)
	for _, r := range [][2]int64{{0, 77}, {0, 10}, {13, 41}, {40, 77}, {76, 77}, {77, 77}} {
		rep := verify(t, l.bundle(t, r[0], r[1]), ledger.VerifyOptions{Key: vkey})
		if !rep.Valid || rep.EventsChecked != r[1]-r[0] {
			t.Fatalf("range %v: %+v", r, rep)
		}
	}
	ls := lines(l.bundle(t, 13, 41))
	for i, line := range ls {
		if strings.HasPrefix(line, `{"subtree"`) {
			ls[i] = line[:len(line)-10] + `0000000"}}`
			break
		}
	}
	rep := verify(t, join(ls), ledger.VerifyOptions{Key: vkey})
	if rep.Valid || !hasBreak(rep.Breaks, vigil.BreakCheckpointMismatch) {
		t.Fatalf("replaced subtree: %+v", rep.Breaks)
	}
}

func TestVerifyBundleRefusesNonBundles(t *testing.T) {
	for _, in := range []string{"", "{}\n", `{"bundle":"other"}` + "\n", `{"bundle":"vigil.bundle.v1","from":5,"to":1}` + "\n"} {
		if _, err := ledger.VerifyBundle(strings.NewReader(in), ledger.VerifyOptions{}); err == nil {
			t.Errorf("%q accepted as a bundle", in)
		}
	}
}

func hasBreak(bs []vigil.Break, typ string) bool {
	for _, b := range bs {
		if b.Type == typ {
			return true
		}
	}
	return false
}

func BenchmarkVerifyBundle(b *testing.B) {
	skey, vkey, _ := ledger.GenerateKey("bench")
	l := newTestLog(b, skey, vkey, 100_000, 50_000)
	bundle := l.bundle(b, 0, 100_000)
	b.ResetTimer()
	for b.Loop() {
		rep, err := ledger.VerifyBundle(bytes.NewReader(bundle), ledger.VerifyOptions{Key: vkey})
		if err != nil || !rep.Valid {
			b.Fatal(err, rep)
		}
	}
	b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "events/s")
}

func FuzzVerifyBundle(f *testing.F) {
	golden, _ := os.ReadFile("testdata/golden.bundle")
	f.Add(golden)
	f.Add(golden[:len(golden)/2])
	_, vkey := goldenKey(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, err := ledger.VerifyBundle(bytes.NewReader(in), ledger.VerifyOptions{Key: vkey})
		if err == nil && rep.Valid && !bytes.Equal(in, golden) && !strings.HasPrefix(string(in), string(golden)) {
			// Any other valid bundle must still carry golden's signatures.
			if !bytes.Contains(in, []byte("test.vigil/default")) {
				t.Fatalf("an unsigned bundle verified: %q", in)
			}
		}
	})
}

func mustSign(t testing.TB, skey string, size int64, root vigil.Hash) []byte {
	note, err := ledger.Sign(skey, "test.vigil/default", size, root)
	if err != nil {
		t.Fatal(err)
	}
	return note
}
