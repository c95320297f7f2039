package ledger

import (
	"encoding/hex"
	"fmt"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// ProofError reports a proof that does not hold.
type ProofError struct{ Msg string }

func (e *ProofError) Error() string { return "ledger: proof: " + e.Msg }

// CheckInclusion verifies that p.LeafHash is the leaf at p.LeafIndex of the
// tree of p.TreeSize leaves whose root is root (a checkpoint's): the
// inclusion proof of RFC 6962 §2.1.1, as tlog.ProveRecord makes it.
func CheckInclusion(p vigil.InclusionProof, root vigil.Hash) error {
	if p.LeafIndex < 0 || p.LeafIndex >= p.TreeSize {
		return &ProofError{fmt.Sprintf("leaf %d is not in a tree of %d leaves", p.LeafIndex, p.TreeSize)}
	}
	if err := tlog.CheckRecord(tlogHashes(p.Hashes), p.TreeSize, TlogHash(root), p.LeafIndex, TlogHash(p.LeafHash)); err != nil {
		return &ProofError{fmt.Sprintf("leaf %d is not in the tree of %d leaves with root %s", p.LeafIndex, p.TreeSize, root)}
	}
	return nil
}

// CheckConsistency verifies that the tree of newSize leaves with root
// newRoot extends the tree of oldSize leaves with root oldRoot: the
// consistency proof of RFC 6962 §2.1.2, as tlog.ProveTree makes it. Every
// tree extends the empty one, whose root must then be EmptyRoot and whose
// proof is empty (tlog has no proofs from size 0).
func CheckConsistency(proof []vigil.Hash, oldSize int64, oldRoot vigil.Hash, newSize int64, newRoot vigil.Hash) error {
	switch {
	case oldSize < 0 || newSize < oldSize:
		return &ProofError{fmt.Sprintf("a tree of %d leaves cannot extend one of %d", newSize, oldSize)}
	case oldSize == 0:
		if len(proof) != 0 || oldRoot != EmptyRoot() {
			return &ProofError{"the empty tree's root is SHA-256 of nothing, and needs no proof"}
		}
		return nil
	}
	if err := tlog.CheckTree(tlogHashes(proof), newSize, TlogHash(newRoot), oldSize, TlogHash(oldRoot)); err != nil {
		return &ProofError{fmt.Sprintf("the tree of %d leaves with root %s does not extend the tree of %d leaves with root %s", newSize, newRoot, oldSize, oldRoot)}
	}
	return nil
}

// ParseHash reads a hash in lower- or upper-case hex, the form of the API
// and of bundles.
func ParseHash(s string) (vigil.Hash, error) {
	var h vigil.Hash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("ledger: %q is not a hex SHA-256 hash", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("ledger: %q is not a hex SHA-256 hash", s)
	}
	return h, nil
}

// ParseHashes reads a list of hex hashes, as proofs carry them.
func ParseHashes(ss []string) ([]vigil.Hash, error) {
	out := make([]vigil.Hash, len(ss))
	for i, s := range ss {
		var err error
		if out[i], err = ParseHash(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// HexHashes writes hashes in hex, as proofs carry them.
func HexHashes(hs []vigil.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}

func tlogHashes(hs []vigil.Hash) []tlog.Hash {
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		out[i] = tlog.Hash(h)
	}
	return out
}
