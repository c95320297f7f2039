package ledger_test

import (
	"errors"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

func TestCheckInclusion(t *testing.T) {
	const n = 37
	stored := buildTree(t, n)
	for _, size := range []int64{1, 2, 5, 16, 37} {
		root, _ := tlog.TreeHash(size, stored)
		for i := range size {
			rp, err := tlog.ProveRecord(size, i, stored)
			if err != nil {
				t.Fatal(err)
			}
			p := vigil.InclusionProof{LeafIndex: i, TreeSize: size, LeafHash: ledger.VigilHash(tlog.RecordHash(leafN(i)))}
			for _, h := range rp {
				p.Hashes = append(p.Hashes, ledger.VigilHash(h))
			}
			if err := ledger.CheckInclusion(p, ledger.VigilHash(root)); err != nil {
				t.Fatalf("leaf %d of %d: %v", i, size, err)
			}
			p.LeafHash[0] ^= 1
			var pe *ledger.ProofError
			if err := ledger.CheckInclusion(p, ledger.VigilHash(root)); !errors.As(err, &pe) {
				t.Fatalf("a wrong leaf hash passed: %v", err)
			}
		}
	}
	if err := ledger.CheckInclusion(vigil.InclusionProof{LeafIndex: 3, TreeSize: 3}, vigil.Hash{}); err == nil {
		t.Fatal("a leaf outside the tree passed")
	}
}

func TestCheckConsistency(t *testing.T) {
	const n = 40
	stored := buildTree(t, n)
	root := func(size int64) vigil.Hash { h, _ := tlog.TreeHash(size, stored); return ledger.VigilHash(h) }
	for second := int64(1); second <= n; second++ {
		for first := int64(1); first <= second; first++ {
			tp, err := tlog.ProveTree(second, first, stored)
			if err != nil {
				t.Fatal(err)
			}
			var proof []vigil.Hash
			for _, h := range tp {
				proof = append(proof, ledger.VigilHash(h))
			}
			if err := ledger.CheckConsistency(proof, first, root(first), second, root(second)); err != nil {
				t.Fatalf("%d to %d: %v", first, second, err)
			}
			if first < second {
				if err := ledger.CheckConsistency(proof, first, root(first), second, vigil.Hash{1}); err == nil {
					t.Fatalf("%d to %d: a forked root passed", first, second)
				}
			}
		}
	}
	if err := ledger.CheckConsistency(nil, 0, ledger.EmptyRoot(), 5, root(5)); err != nil {
		t.Fatalf("from the empty tree: %v", err)
	}
	if err := ledger.CheckConsistency(nil, 0, vigil.Hash{1}, 5, root(5)); err == nil {
		t.Fatal("an empty tree with a wrong root passed")
	}
	if err := ledger.CheckConsistency(nil, 6, root(5), 5, root(5)); err == nil {
		t.Fatal("a shrinking tree passed")
	}
}

func TestParseHashes(t *testing.T) {
	h := ledger.LeafHash([]byte("x"))
	got, err := ledger.ParseHashes(ledger.HexHashes([]vigil.Hash{h, {}}))
	if err != nil || got[0] != h || got[1] != (vigil.Hash{}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "00", h.String() + "00", h.String()[:63] + "g"} {
		if _, err := ledger.ParseHash(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
