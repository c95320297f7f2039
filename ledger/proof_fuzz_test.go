package ledger_test

import (
	"slices"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// proofHashes cuts a byte string into 32-byte hashes (dropping a short tail).
func proofHashes(b []byte) []vigil.Hash {
	var out []vigil.Hash
	for len(b) >= 32 {
		var h vigil.Hash
		copy(h[:], b)
		out = append(out, h)
		b = b[32:]
	}
	return out
}

func joinHashes(hs []tlog.Hash) []byte {
	var b []byte
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// FuzzCheckInclusion feeds arbitrary inclusion proofs, as a server or a
// bundle could send them, to the verifier: it never panics, and it accepts
// only the one true proof of a leaf.
func FuzzCheckInclusion(f *testing.F) {
	const n = 37
	stored := buildTree(f, n)
	for _, c := range [][2]int64{{0, 1}, {3, 5}, {36, 37}, {16, 17}} {
		rp, err := tlog.ProveRecord(c[1], c[0], stored)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c[0], c[1], joinHashes(rp), false)
	}
	f.Add(int64(-1), int64(0), []byte{}, true)
	f.Fuzz(func(t *testing.T, index, size int64, proof []byte, flipLeaf bool) {
		p := vigil.InclusionProof{LeafIndex: index, TreeSize: size, Hashes: proofHashes(proof)}
		var root vigil.Hash
		genuine := index >= 0 && index < size && size <= n
		if genuine {
			p.LeafHash = ledger.VigilHash(tlog.RecordHash(leafN(index)))
			r, _ := tlog.TreeHash(size, stored)
			root = ledger.VigilHash(r)
		}
		if flipLeaf {
			p.LeafHash[0] ^= 1
		}
		err := ledger.CheckInclusion(p, root)
		if err == nil {
			if !genuine || flipLeaf {
				t.Fatalf("accepted a proof of leaf %d in a tree of %d that the log does not hold", index, size)
			}
			rp, _ := tlog.ProveRecord(size, index, stored)
			if !slices.Equal(proofHashes(joinHashes(rp)), p.Hashes) {
				t.Fatalf("accepted a proof other than the true one for leaf %d of %d", index, size)
			}
		}
	})
}

// FuzzCheckConsistency does the same for consistency proofs between two
// tree sizes.
func FuzzCheckConsistency(f *testing.F) {
	const n = 37
	stored := buildTree(f, n)
	for _, c := range [][2]int64{{1, 2}, {5, 37}, {16, 32}, {36, 37}} {
		tp, err := tlog.ProveTree(c[1], c[0], stored)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c[0], c[1], joinHashes(tp))
	}
	f.Add(int64(0), int64(3), []byte{})
	f.Fuzz(func(t *testing.T, oldSize, newSize int64, proof []byte) {
		var oldRoot, newRoot vigil.Hash
		real := oldSize > 0 && oldSize <= newSize && newSize <= n
		if real {
			o, _ := tlog.TreeHash(oldSize, stored)
			nw, _ := tlog.TreeHash(newSize, stored)
			oldRoot, newRoot = ledger.VigilHash(o), ledger.VigilHash(nw)
		}
		hs := proofHashes(proof)
		if err := ledger.CheckConsistency(hs, oldSize, oldRoot, newSize, newRoot); err == nil && oldSize != 0 {
			if oldSize == newSize && oldRoot == newRoot && len(hs) == 0 {
				return // every tree is consistent with itself
			}
			if !real {
				t.Fatalf("accepted consistency of sizes %d and %d with made-up roots", oldSize, newSize)
			}
			tp, _ := tlog.ProveTree(newSize, oldSize, stored)
			if !slices.Equal(proofHashes(joinHashes(tp)), hs) {
				t.Fatalf("accepted a consistency proof other than the true one for %d → %d", oldSize, newSize)
			}
		}
	})
}
