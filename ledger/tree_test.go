package ledger_test

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

func leafN(i int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	h := sha256.Sum256(b[:])
	return h[:]
}

type memHashes map[int64]tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

// TestFrontierMatchesTlog checks the streaming frontier against tlog's own
// stored hashes and tree hashes for every size up to 1100.
func TestFrontierMatchesTlog(t *testing.T) {
	stored := memHashes{}
	f := ledger.NewFrontier()
	if f.Root() != vigil.Hash(sha256.Sum256(nil)) {
		t.Fatal("the empty tree's root is not SHA-256 of nothing")
	}
	for n := int64(0); n < 1100; n++ {
		want, err := tlog.StoredHashes(n, leafN(n), stored)
		if err != nil {
			t.Fatal(err)
		}
		got := f.Append(ledger.VigilHash(tlog.RecordHash(leafN(n))))
		if len(got) != len(want) {
			t.Fatalf("leaf %d: %d stored hashes, tlog has %d", n, len(got), len(want))
		}
		for i := range want {
			if ledger.TlogHash(got[i]) != want[i] {
				t.Fatalf("leaf %d hash %d differs", n, i)
			}
			stored[tlog.StoredHashIndex(0, n)+int64(i)] = want[i]
		}
		root, _ := tlog.TreeHash(n+1, stored)
		if ledger.TlogHash(f.Root()) != root || f.Size() != n+1 {
			t.Fatalf("size %d: root differs", n+1)
		}
	}
	// Any range [from, to) plus its outside subtrees gives the same root.
	for _, r := range [][3]int64{{0, 1100, 1100}, {0, 0, 1}, {5, 9, 13}, {512, 1024, 1100}, {1, 1099, 1099}, {333, 777, 1000}, {1000, 1000, 1000}} {
		from, to, n := r[0], r[1], r[2]
		g := ledger.NewFrontier()
		right := false
		for _, s := range ledger.SubtreesOutside(from, to, n) {
			start := s.Index << s.Level
			if start >= to && !right {
				for i := from; i < to; i++ {
					g.Append(ledger.VigilHash(tlog.RecordHash(leafN(i))))
				}
				right = true
			}
			if err := g.AppendSubtree(s.Level, ledger.VigilHash(stored[s.StoredIndex()])); err != nil {
				t.Fatal(err)
			}
		}
		if !right {
			for i := from; i < to; i++ {
				g.Append(ledger.VigilHash(tlog.RecordHash(leafN(i))))
			}
		}
		root, _ := tlog.TreeHash(n, stored)
		if g.Size() != n || ledger.TlogHash(g.Root()) != root {
			t.Errorf("range %v: size %d, root differs", r, g.Size())
		}
	}
	if err := ledger.NewFrontier().AppendSubtree(3, vigil.Hash{}); err != nil {
		t.Fatal(err)
	}
	f = ledger.NewFrontier()
	f.Append(vigil.Hash{})
	if err := f.AppendSubtree(2, vigil.Hash{}); err == nil {
		t.Fatal("an unaligned subtree was accepted")
	}
}
