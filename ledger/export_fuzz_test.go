package ledger_test

import (
	"bytes"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// goldenExport is an export of every third event of the golden log.
func goldenExport(t testing.TB) ([]byte, *testLog) {
	l := goldenLog(t)
	size := int64(len(l.leaves))
	var buf bytes.Buffer
	cp := vigil.Checkpoint{Origin: l.origin, Size: size, Root: l.root(size), Note: l.checkpoints[size]}
	x, err := ledger.NewExportWriter(&buf, l.origin, l.vkey, cp, []byte(`{"action":"patient.*"}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < size; i += 3 {
		rp, err := tlog.ProveRecord(size, i, l.stored)
		if err != nil {
			t.Fatal(err)
		}
		var proof []vigil.Hash
		for _, h := range rp {
			proof = append(proof, ledger.VigilHash(h))
		}
		if err := x.Event(l.leaves[i], proof); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), l
}

// FuzzVerifyExport feeds altered exports, as `vigil verify --export` reads
// them from anyone, to the offline verifier: it never panics, and an export
// it calls valid holds only events that are, byte for byte, leaves of the
// golden log at their sequence.
func FuzzVerifyExport(f *testing.F) {
	good, l := goldenExport(f)
	rep, err := ledger.VerifyExport(bytes.NewReader(good), l.vkey)
	if err != nil || !rep.Valid || rep.EventsChecked == 0 {
		f.Fatalf("the golden export does not verify: %+v %v", rep, err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(bytes.Replace(good, []byte(`"v":1`), []byte(`"v":2`), 1))
	f.Add([]byte("{}\n"))
	leaves := map[string]bool{}
	for _, leaf := range l.leaves {
		leaves[string(leaf)] = true
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, err := ledger.VerifyExport(bytes.NewReader(in), l.vkey)
		if err != nil || !rep.Valid {
			return
		}
		if rep.TreeSize > int64(len(l.leaves)) || rep.Root != l.root(rep.TreeSize) {
			t.Fatalf("an export of a tree the log never had verified: size %d", rep.TreeSize)
		}
		for _, line := range bytes.Split(in, []byte("\n")) {
			leaf, ok := bytes.CutPrefix(line, []byte(`{"event":`))
			if !ok {
				continue
			}
			if i := bytes.LastIndex(leaf, []byte(`,"inclusion":`)); i >= 0 && !leaves[string(leaf[:i])] {
				t.Fatalf("a verified export holds an event the log does not: %.200s", leaf[:i])
			}
		}
	})
}
