package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// Leaves implements vigil.Ledger. The range is checked against the stored
// log before any checkpoint is signed for it, so a request that is refused
// changes nothing.
func (db *DB) Leaves(ctx context.Context, workspace string, from, to, treeSize int64) (vigil.LeafRange, error) {
	if err := db.await(ctx, workspace); err != nil {
		return vigil.LeafRange{}, err
	}
	var lr vigil.LeafRange
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return lr, err
	}
	n, err := db.treeSize(ctx, ws)
	if err != nil {
		return lr, vigil.Unavailable("reading the ledger failed", err)
	}
	switch {
	case from < 0:
		return lr, vigil.Invalid(vigil.ErrorDetail{Field: "from", Message: "must be an integer of at least 0"})
	case to > 0 && to <= from:
		return lr, vigil.Invalid(vigil.ErrorDetail{Field: "to", Message: "must be greater than from"})
	case to-from > vigil.MaxLeavesPerRead:
		return lr, vigil.Invalid(vigil.ErrorDetail{Field: "to", Message: fmt.Sprintf("at most %d events at a time: to - from must be at most %d", vigil.MaxLeavesPerRead, vigil.MaxLeavesPerRead)})
	case treeSize > n:
		return lr, vigil.Invalid(vigil.ErrorDetail{Field: "tree_size", Message: fmt.Sprintf("the log has only %d events", n)})
	case to > n:
		return lr, vigil.Invalid(vigil.ErrorDetail{Field: "to", Message: fmt.Sprintf("the log has only %d events", n)})
	}
	if treeSize <= 0 {
		cp, err := db.Checkpoint(ctx, workspace, -1)
		if err != nil {
			return lr, err
		}
		treeSize = cp.Size
	}
	if to <= 0 {
		to = min(from+vigil.MaxLeavesPerRead, treeSize)
	}
	switch {
	case to > treeSize:
		return lr, vigil.Invalid(vigil.ErrorDetail{Field: "to", Message: fmt.Sprintf("must be at most the tree size, %d", treeSize)})
	case from >= to:
		return lr, vigil.Invalid(vigil.ErrorDetail{Field: "from", Message: fmt.Sprintf("must be below the tree size, %d", treeSize)})
	}
	lr = vigil.LeafRange{TreeSize: treeSize, From: from, To: to}
	rows, err := db.read.QueryContext(ctx, "SELECT "+eventColumns+" FROM events e WHERE e.ws = ? AND e.seq >= ? AND e.seq < ? ORDER BY e.seq", ws, from, to)
	if err != nil {
		return lr, vigil.Unavailable("reading events failed", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := db.scanEvent(rows, workspace)
		if err != nil {
			return lr, vigil.Unavailable("reading events failed", err)
		}
		lr.Events = append(lr.Events, e)
	}
	if err := rows.Err(); err != nil {
		return lr, vigil.Unavailable("reading events failed", err)
	}
	// Stored hashes are read as they are: one missing leaves a zero hash
	// (or an empty one), which fails to verify, rather than no answer.
	subs := ledger.SubtreesOutside(from, to, treeSize)
	idx := make([]int64, 0, len(subs)+2*len(lr.Events))
	for _, s := range subs {
		idx = append(idx, s.StoredIndex())
	}
	for _, e := range lr.Events {
		idx = append(idx, tlog.StoredHashIndex(0, e.Sequence))
		if e.Sequence > 0 {
			idx = append(idx, tlog.StoredHashIndex(0, e.Sequence-1))
		}
	}
	stored, err := db.storedHashes(ctx, ws, idx)
	if err != nil {
		return lr, vigil.Unavailable("reading the ledger failed", err)
	}
	for _, s := range subs {
		lr.Subtrees = append(lr.Subtrees, vigil.SubtreeHash{Level: s.Level, Index: s.Index, Hash: stored[s.StoredIndex()]})
	}
	hexOf := func(seq int64) string {
		if h, ok := stored[tlog.StoredHashIndex(0, seq)]; ok {
			return h.String()
		}
		return ""
	}
	lr.Integrity = make([]vigil.Integrity, len(lr.Events))
	for i, e := range lr.Events {
		lr.Integrity[i].EventHash = hexOf(e.Sequence)
		if e.Sequence > 0 {
			lr.Integrity[i].PreviousEventHash = hexOf(e.Sequence - 1)
		}
	}
	return lr, nil
}

// storedHashes reads the stored hashes at idx that exist.
func (db *DB) storedHashes(ctx context.Context, ws int64, idx []int64) (map[int64]vigil.Hash, error) {
	out := make(map[int64]vigil.Hash, len(idx))
	const chunk = 500
	for len(idx) > 0 {
		part := idx[:min(chunk, len(idx))]
		idx = idx[len(part):]
		args := make([]any, 0, len(part)+1)
		args = append(args, ws)
		for _, i := range part {
			args = append(args, i)
		}
		rows, err := db.read.QueryContext(ctx, "SELECT idx, hash FROM ledger_hashes WHERE ws = ? AND idx IN ("+strings.Repeat(",?", len(part))[1:]+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var i int64
			var b []byte
			if err := rows.Scan(&i, &b); err != nil {
				rows.Close()
				return nil, err
			}
			var h vigil.Hash
			copy(h[:], b)
			out[i] = h
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
