package ledger_test

import (
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// rangeOf is what a server answers for [from, to) of the test log: the
// leaves, and the stored roots of the subtrees around them.
func (l *testLog) rangeOf(from, to int64) ([][]byte, []vigil.SubtreeHash) {
	var subs []vigil.SubtreeHash
	for _, s := range ledger.SubtreesOutside(from, to, int64(len(l.leaves))) {
		subs = append(subs, vigil.SubtreeHash{Level: s.Level, Index: s.Index, Hash: ledger.VigilHash(l.stored[s.StoredIndex()])})
	}
	return append([][]byte(nil), l.leaves[from:to]...), subs
}

func TestCheckRange(t *testing.T) {
	l := goldenLog(t)
	n := int64(len(l.leaves))
	cp, err := ledger.Open(l.checkpoints[n], l.vkey)
	if err != nil {
		t.Fatal(err)
	}
	// Every range of an honest log verifies, a single leaf as much as all.
	for _, r := range [][2]int64{{0, n}, {0, 1}, {n - 1, n}, {13, 41}, {16, 32}, {7, 8}} {
		leaves, subs := l.rangeOf(r[0], r[1])
		rep, err := ledger.CheckRange(cp, r[0], r[1], subs, leaves)
		if err != nil || !rep.Valid || rep.EventsChecked != r[1]-r[0] {
			t.Fatalf("honest range %v: %+v %v", r, rep, err)
		}
	}
	other := testEvent(99)
	other.Sequence = 20
	edited := l.events[20]
	edited.ActorID = "intruder"
	swapA, swapB := l.events[21], l.events[22]
	swapA.Sequence, swapB.Sequence = 22, 21
	for _, c := range []struct {
		name   string
		change func(leaves [][]byte, subs []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash)
		want   string
	}{
		{"an edited event", func(ls [][]byte, ss []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash) {
			ls[20-16] = ledger.AppendEvent(nil, &edited)
			return ls, ss
		}, vigil.BreakCheckpointMismatch},
		{"another event in its place", func(ls [][]byte, ss []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash) {
			ls[20-16] = ledger.AppendEvent(nil, &other)
			return ls, ss
		}, vigil.BreakCheckpointMismatch},
		{"two events swapped", func(ls [][]byte, ss []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash) {
			ls[21-16], ls[22-16] = ls[22-16], ls[21-16]
			return ls, ss
		}, vigil.BreakReordered},
		{"two events swapped with their sequences", func(ls [][]byte, ss []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash) {
			ls[21-16], ls[22-16] = ledger.AppendEvent(nil, &swapB), ledger.AppendEvent(nil, &swapA)
			return ls, ss
		}, vigil.BreakReordered},
		{"an event hidden", func(ls [][]byte, ss []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash) {
			return append(ls[:4:4], ls[5:]...), ss
		}, vigil.BreakMissing},
		{"the last event hidden", func(ls [][]byte, ss []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash) {
			return ls[:len(ls)-1], ss
		}, vigil.BreakMissing},
		{"an event added", func(ls [][]byte, ss []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash) {
			return append(ls, ls[0]), ss
		}, vigil.BreakModified},
		{"a subtree forged", func(ls [][]byte, ss []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash) {
			ss[0].Hash[0] ^= 1
			return ls, ss
		}, vigil.BreakCheckpointMismatch},
		{"a subtree left out", func(ls [][]byte, ss []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash) {
			return ls, ss[1:]
		}, vigil.BreakHashMismatch},
		{"not a leaf", func(ls [][]byte, ss []vigil.SubtreeHash) ([][]byte, []vigil.SubtreeHash) {
			ls[3] = []byte(`{"action":"x"}`)
			return ls, ss
		}, vigil.BreakModified},
	} {
		t.Run(c.name, func(t *testing.T) {
			leaves, subs := c.change(l.rangeOf(16, 32))
			rep, err := ledger.CheckRange(cp, 16, 32, subs, leaves)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Valid || !hasBreak(rep.Breaks, c.want) {
				t.Fatalf("valid %v breaks %+v, want a %q break", rep.Valid, rep.Breaks, c.want)
			}
		})
	}
	if _, err := ledger.CheckRange(cp, 10, n+1, nil, nil); err == nil {
		t.Fatal("a range beyond the tree was checked")
	}
}
