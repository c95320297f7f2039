package ledger

import (
	"fmt"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// TlogHash and VigilHash convert between the two spellings of a hash.
func TlogHash(h vigil.Hash) tlog.Hash  { return tlog.Hash(h) }
func VigilHash(h tlog.Hash) vigil.Hash { return vigil.Hash(h) }

// Frontier computes an RFC 6962 tree incrementally in O(log n) memory:
// it keeps the roots of the complete subtrees that tile the leaves so far
// (the binary decomposition of the size), left to right.
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

// Size is the number of leaves appended.
func (f *Frontier) Size() int64 { return f.size }

// Append adds a leaf hash and returns the hashes tlog.StoredHashes would
// store for it: the leaf, then each subtree it completes, level by level.
func (f *Frontier) Append(leaf vigil.Hash) []vigil.Hash {
	out := []vigil.Hash{leaf}
	h, level := tlog.Hash(leaf), 0
	for len(f.nodes) > 0 && f.nodes[len(f.nodes)-1].level == level {
		h = tlog.NodeHash(f.nodes[len(f.nodes)-1].hash, h)
		f.nodes = f.nodes[:len(f.nodes)-1]
		level++
		out = append(out, vigil.Hash(h))
	}
	f.nodes = append(f.nodes, frontierNode{level, h})
	f.size++
	return out
}

// AppendSubtree adds the root of a complete subtree of 2^level leaves. The
// tree's size must be a multiple of 2^level (the subtree is aligned).
func (f *Frontier) AppendSubtree(level int, root vigil.Hash) error {
	if level < 0 || level > 62 || f.size%(1<<level) != 0 {
		return fmt.Errorf("ledger: a subtree of level %d cannot follow %d leaves", level, f.size)
	}
	if level == 0 {
		f.Append(root)
		return nil
	}
	// A subtree at a level lower than the frontier's last node merges only
	// with nodes of its own level, exactly as its leaves would have.
	h, l := tlog.Hash(root), level
	for len(f.nodes) > 0 && f.nodes[len(f.nodes)-1].level == l {
		h = tlog.NodeHash(f.nodes[len(f.nodes)-1].hash, h)
		f.nodes = f.nodes[:len(f.nodes)-1]
		l++
	}
	f.nodes = append(f.nodes, frontierNode{l, h})
	f.size += 1 << level
	return nil
}

// Root is the RFC 6962 root hash of the leaves so far (the hash of the
// empty string for no leaves).
func (f *Frontier) Root() vigil.Hash {
	if len(f.nodes) == 0 {
		h, _ := tlog.TreeHash(0, nil)
		return vigil.Hash(h)
	}
	h := f.nodes[len(f.nodes)-1].hash
	for i := len(f.nodes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.nodes[i].hash, h)
	}
	return vigil.Hash(h)
}

// Subtree addresses one stored hash: the root of the complete subtree of
// 2^Level leaves starting at leaf Index<<Level.
type Subtree struct {
	Level int
	Index int64
}

// StoredIndex is the subtree's index in tlog's stored-hash layout.
func (s Subtree) StoredIndex() int64 { return tlog.StoredHashIndex(s.Level, s.Index) }

// SubtreesOutside returns the complete, aligned subtrees that tile [0, from)
// and [to, n), left to right: with the leaves of [from, to) they are all a
// verifier needs to recompute the root of the tree of n leaves.
func SubtreesOutside(from, to, n int64) []Subtree {
	return append(tile(0, from), tile(to, n)...)
}

// tile covers [a, b) greedily with the largest aligned complete subtrees.
func tile(a, b int64) []Subtree {
	var out []Subtree
	for a < b {
		level := 0
		for level < 62 && a%(1<<(level+1)) == 0 && a+(1<<(level+1)) <= b {
			level++
		}
		out = append(out, Subtree{level, a >> level})
		a += 1 << level
	}
	return out
}
