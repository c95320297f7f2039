package ledger

import (
	"fmt"
	"math/bits"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// TlogHash converts a hash to tlog's type; both are SHA-256 values.
func TlogHash(h vigil.Hash) tlog.Hash { return tlog.Hash(h) }

// VigilHash converts a tlog hash to the domain's type.
func VigilHash(h tlog.Hash) vigil.Hash { return vigil.Hash(h) }

// EmptyRoot is the root of the tree of no leaves: SHA-256 of nothing
// (RFC 6962 §2.1).
func EmptyRoot() vigil.Hash {
	h, _ := tlog.TreeHash(0, nil)
	return vigil.Hash(h)
}

// Frontier computes an RFC 6962 tree as its leaves stream past, in
// O(log n) memory: it keeps the roots of the complete subtrees that tile
// the leaves so far (one per set bit of the size), left to right. Its zero
// value is the empty tree.
type Frontier struct {
	size  int64
	nodes []frontierNode
}

type frontierNode struct {
	level int
	hash  tlog.Hash
}

// NewFrontier returns the frontier of the empty tree.
func NewFrontier() *Frontier { return &Frontier{} }

// Size is the number of leaves so far.
func (f *Frontier) Size() int64 { return f.size }

// Append adds the next leaf hash and returns what tlog.StoredHashes stores
// for that leaf, in its order: the leaf hash, then the root of each
// complete subtree the leaf completes, level by level. The store keeps
// them; a verifier compares them with what was kept.
func (f *Frontier) Append(leaf vigil.Hash) (stored []vigil.Hash) {
	// Leaf n completes one subtree per trailing one bit of n.
	stored = make([]vigil.Hash, 1, 1+bits.TrailingZeros64(^uint64(f.size)))
	stored[0] = leaf
	f.push(0, tlog.Hash(leaf), func(h tlog.Hash) { stored = append(stored, vigil.Hash(h)) })
	return stored
}

// push adds the root of a complete subtree at level whose leaves follow
// the frontier's, merging equal levels as RFC 6962 does; completed, when
// not nil, sees each merged root.
func (f *Frontier) push(level int, h tlog.Hash, completed func(tlog.Hash)) {
	f.size += 1 << level
	for n := len(f.nodes); n > 0 && f.nodes[n-1].level == level; n = len(f.nodes) {
		h = tlog.NodeHash(f.nodes[n-1].hash, h)
		f.nodes = f.nodes[:n-1]
		level++
		if completed != nil {
			completed(h)
		}
	}
	f.nodes = append(f.nodes, frontierNode{level, h})
}

// AppendSubtree adds the root of a complete subtree of 2^level leaves in
// place of the leaves themselves, as a bundle's subtree lines do. The size
// so far must be a multiple of 2^level: stored subtrees are aligned.
func (f *Frontier) AppendSubtree(level int, root vigil.Hash) error {
	if level < 0 || level > 62 || f.size%(1<<level) != 0 || f.size > 1<<62-1<<level {
		return fmt.Errorf("ledger: a subtree of level %d cannot follow %d leaves", level, f.size)
	}
	f.push(level, tlog.Hash(root), nil)
	return nil
}

// Root is the RFC 6962 root of the leaves so far (EmptyRoot for none).
func (f *Frontier) Root() vigil.Hash {
	if len(f.nodes) == 0 {
		return EmptyRoot()
	}
	h := f.nodes[len(f.nodes)-1].hash
	for i := len(f.nodes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.nodes[i].hash, h)
	}
	return vigil.Hash(h)
}

// Subtree addresses one stored hash: the root of the complete subtree of
// 2^Level leaves [Index<<Level, (Index+1)<<Level).
type Subtree struct {
	Level int
	Index int64
}

// StoredIndex is where tlog's layout keeps the subtree's hash.
func (s Subtree) StoredIndex() int64 { return tlog.StoredHashIndex(s.Level, s.Index) }

// Start is the subtree's first leaf.
func (s Subtree) Start() int64 { return s.Index << s.Level }

// SubtreesOutside returns the complete, aligned subtrees that tile
// [0, from) and [to, n), left to right, each the largest that fits where it
// starts. With the leaves [from, to) they are exactly what is needed to
// recompute the root of the tree of n leaves; the exporter reads their
// hashes at StoredIndex. It returns nil unless 0 <= from <= to <= n.
func SubtreesOutside(from, to, n int64) []Subtree {
	if from < 0 || to < from || n < to {
		return nil
	}
	return append(tile(0, from), tile(to, n)...)
}

// tile covers [a, b) greedily with the largest aligned complete subtrees.
func tile(a, b int64) []Subtree {
	var out []Subtree
	for a < b {
		level := 0
		for level < 62 && a%(1<<(level+1)) == 0 && b-a >= 1<<(level+1) {
			level++
		}
		out = append(out, Subtree{level, a >> level})
		a += 1 << level
	}
	return out
}
