package ledger

import (
	"fmt"

	"github.com/vigilhq/vigil"
)

// CheckRange verifies that leaves are exactly the leaves [from, to) of the
// tree whose root a trusted checkpoint signed: cp must come from Open with
// the trusted key. subtrees are what the server gave as the stored roots
// of SubtreesOutside(from, to, cp.Size); leaves are the canonical leaves
// (AppendEvent) of the events it served for the range, in its order.
//
// It is the bundle verifier's event check over one range and one
// checkpoint: each leaf must be a version 1 leaf with the sequence of its
// place (missing, reordered, modified) and a later created_at than the
// one before it (reordered), and the root recomputed from the leaves and
// the subtrees must be the signed root (checkpoint_mismatch; hash_mismatch
// when the subtrees are not the ones the range needs). A server that
// altered, swapped, added or hid an event in the range fails it.
func CheckRange(cp vigil.Checkpoint, from, to int64, subtrees []vigil.SubtreeHash, leaves [][]byte) (*Report, error) {
	if from < 0 || to <= from || to > cp.Size {
		return nil, fmt.Errorf("ledger: range [%d, %d) is not in a tree of %d leaves", from, to, cp.Size)
	}
	h := bundleHeader{Origin: cp.Origin, From: from, To: to, TreeSize: cp.Size, Evs: to - from}
	v := &verifier{
		rep:      &Report{Origin: h.Origin, From: from, To: to, TreeSize: cp.Size, CheckpointsChecked: 1},
		h:        h,
		lastGood: -1, next: from,
		wantSubs: SubtreesOutside(from, to, cp.Size),
		served:   true,
		cpDone:   true,
	}
	if from == 0 {
		v.lastGood = 0
	}
	v.checkpoints = []signedSize{{size: cp.Size, root: cp.Root, valid: true}}
	for _, s := range subtrees {
		v.subtree(SubtreeHash{Subtree: Subtree{Level: s.Level, Index: s.Index}, Hash: s.Hash})
	}
	v.headerDone(nil)
	n := min(int64(len(leaves)), h.Evs)
	for _, leaf := range leaves[:n] {
		v.event(leaf)
	}
	v.end(len(leaves) - int(n))
	return v.rep, nil
}
