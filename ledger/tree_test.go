package ledger_test

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
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

// memHashes is an in-memory tlog hash store, as the store keeps hashes.
type memHashes map[int64]tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

// buildTree stores n leaves with tlog.StoredHashes.
func buildTree(t testing.TB, n int64) memHashes {
	stored := memHashes{}
	for i := range n {
		hs, err := tlog.StoredHashes(i, leafN(i), stored)
		if err != nil {
			t.Fatal(err)
		}
		for j, h := range hs {
			stored[tlog.StoredHashIndex(0, i)+int64(j)] = h
		}
	}
	return stored
}

// TestFrontierMatchesTlog checks the streaming frontier against tlog's
// stored hashes and tree hashes for every size up to 1100.
func TestFrontierMatchesTlog(t *testing.T) {
	stored := memHashes{}
	var f ledger.Frontier // the zero value is the empty tree
	if f.Root() != vigil.Hash(sha256.Sum256(nil)) || ledger.EmptyRoot() != f.Root() || f.Size() != 0 {
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
}

// TestFrontierLargerTrees: random sizes up to 2^16, root only.
func TestFrontierLargerTrees(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sizes := []int64{1 << 12, 1<<12 + 1, 1<<16 - 1}
	for range 3 {
		sizes = append(sizes, 1100+r.Int64N(1<<16))
	}
	for _, n := range sizes {
		stored := buildTree(t, n)
		f := ledger.NewFrontier()
		for i := range n {
			f.Append(ledger.VigilHash(tlog.RecordHash(leafN(i))))
		}
		if root, _ := tlog.TreeHash(n, stored); ledger.TlogHash(f.Root()) != root {
			t.Errorf("size %d: root differs", n)
		}
	}
}

// TestSubtreesOutside: any range [from, to) with its outside subtrees
// gives the root of the whole tree, and the subtrees are the fewest
// aligned ones.
func TestSubtreesOutside(t *testing.T) {
	const n = 1100
	stored := buildTree(t, n)
	r := rand.New(rand.NewPCG(7, 8))
	ranges := [][3]int64{{0, n, n}, {0, 0, 1}, {5, 9, 13}, {512, 1024, n}, {1, 1099, 1099}, {333, 777, 1000}, {1000, 1000, 1000}, {0, 0, 0}, {7, 7, 7}}
	for range 300 {
		size := 1 + r.Int64N(n)
		from := r.Int64N(size + 1)
		ranges = append(ranges, [3]int64{from, from + r.Int64N(size-from+1), size})
	}
	for _, rg := range ranges {
		from, to, size := rg[0], rg[1], rg[2]
		var f ledger.Frontier
		leavesDone := false
		addLeaves := func() {
			for i := from; i < to; i++ {
				f.Append(ledger.VigilHash(tlog.RecordHash(leafN(i))))
			}
			leavesDone = true
		}
		subs := ledger.SubtreesOutside(from, to, size)
		for _, s := range subs {
			if s.Start() >= to && !leavesDone {
				addLeaves()
			}
			if err := f.AppendSubtree(s.Level, ledger.VigilHash(stored[s.StoredIndex()])); err != nil {
				t.Fatalf("range %v: %v", rg, err)
			}
		}
		if !leavesDone {
			addLeaves()
		}
		root, _ := tlog.TreeHash(size, stored)
		if f.Size() != size || ledger.TlogHash(f.Root()) != root {
			t.Errorf("range %v: size %d, root differs", rg, f.Size())
		}
		// Each side's subtrees are the binary decomposition of its length
		// when aligned: as few as possible.
		if left := popcount(from); countBefore(subs, from) != left {
			t.Errorf("range %v: %d subtrees before the range, want %d", rg, countBefore(subs, from), left)
		}
	}
	if ledger.SubtreesOutside(5, 4, 10) != nil || ledger.SubtreesOutside(0, 11, 10) != nil || ledger.SubtreesOutside(-1, 3, 10) != nil {
		t.Error("an impossible range has subtrees")
	}
}

func popcount(x int64) int {
	n := 0
	for ; x > 0; x &= x - 1 {
		n++
	}
	return n
}

func countBefore(subs []ledger.Subtree, from int64) int {
	n := 0
	for _, s := range subs {
		if s.Start() < from {
			n++
		}
	}
	return n
}

func TestAppendSubtreeRefusesUnaligned(t *testing.T) {
	var f ledger.Frontier
	if err := f.AppendSubtree(3, vigil.Hash{}); err != nil || f.Size() != 8 {
		t.Fatal(err)
	}
	f.Append(vigil.Hash{})
	for _, level := range []int{1, 2, -1, 63} {
		if err := f.AppendSubtree(level, vigil.Hash{}); err == nil {
			t.Errorf("a subtree of level %d after 9 leaves was accepted", level)
		}
	}
}

func BenchmarkFrontierAppend(b *testing.B) {
	var f ledger.Frontier
	leaf := ledger.LeafHash([]byte("x"))
	b.ReportAllocs()
	for b.Loop() {
		f.Append(leaf)
	}
}
