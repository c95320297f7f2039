package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// hashReader reads stored hashes of one workspace for tlog.
type hashReader struct {
	ctx context.Context
	db  *DB
	ws  int64
}

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	ph := strings.Repeat(",?", len(indexes))[1:]
	args := make([]any, 0, len(indexes)+1)
	args = append(args, r.ws)
	for _, idx := range indexes {
		args = append(args, idx)
	}
	rows, err := r.db.read.QueryContext(r.ctx, "SELECT idx, hash FROM ledger_hashes WHERE ws = ? AND idx IN ("+ph+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[int64]tlog.Hash, len(indexes))
	for rows.Next() {
		var idx int64
		var b []byte
		if err := rows.Scan(&idx, &b); err != nil {
			return nil, err
		}
		var h tlog.Hash
		if len(b) != len(h) {
			return nil, fmt.Errorf("sqlite: stored hash %d has %d bytes", idx, len(b))
		}
		copy(h[:], b)
		found[idx] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		h, ok := found[idx]
		if !ok {
			return nil, fmt.Errorf("sqlite: stored hash %d is missing", idx)
		}
		out[i] = h
	}
	return out, nil
}

// treeSize is the number of events in a workspace's log as stored.
func (db *DB) treeSize(ctx context.Context, ws int64) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, "SELECT coalesce(max(seq) + 1, 0) FROM events WHERE ws = ?", ws).Scan(&n)
	return n, err
}

// Integrity implements vigil.Ledger.
func (db *DB) Integrity(ctx context.Context, workspace string, seqs ...int64) ([]vigil.Integrity, error) {
	if err := db.await(ctx, workspace); err != nil {
		return nil, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	var idx []int64
	for _, s := range seqs {
		idx = append(idx, tlog.StoredHashIndex(0, s))
		if s > 0 {
			idx = append(idx, tlog.StoredHashIndex(0, s-1))
		}
	}
	hashes, err := hashReader{ctx, db, ws}.ReadHashes(idx)
	if err != nil {
		return nil, vigil.Unavailable("reading the ledger failed", err)
	}
	out := make([]vigil.Integrity, len(seqs))
	i := 0
	for j, s := range seqs {
		out[j].EventHash = ledger.VigilHash(hashes[i]).String()
		i++
		if s > 0 {
			out[j].PreviousEventHash = ledger.VigilHash(hashes[i]).String()
			i++
		}
	}
	return out, nil
}

// InclusionProof implements vigil.Ledger.
func (db *DB) InclusionProof(ctx context.Context, workspace string, seq, treeSize int64) (vigil.InclusionProof, error) {
	if err := db.await(ctx, workspace); err != nil {
		return vigil.InclusionProof{}, err
	}
	var p vigil.InclusionProof
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return p, err
	}
	if treeSize <= 0 {
		cp, err := db.Checkpoint(ctx, workspace, -1)
		if err != nil {
			return p, err
		}
		treeSize = cp.Size
	}
	if err := db.checkSize(ctx, ws, treeSize); err != nil {
		return p, err
	}
	if seq < 0 || seq >= treeSize {
		return p, vigil.Invalid(vigil.ErrorDetail{Field: "tree_size", Message: fmt.Sprintf("the event (leaf %d) is not in a tree of size %d", seq, treeSize)})
	}
	r := hashReader{ctx, db, ws}
	proof, err := tlog.ProveRecord(treeSize, seq, r)
	if err != nil {
		return p, vigil.Unavailable("building the proof failed", err)
	}
	leaf, err := r.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
	if err != nil {
		return p, vigil.Unavailable("reading the ledger failed", err)
	}
	p = vigil.InclusionProof{LeafIndex: seq, TreeSize: treeSize, LeafHash: ledger.VigilHash(leaf[0])}
	for _, h := range proof {
		p.Hashes = append(p.Hashes, ledger.VigilHash(h))
	}
	return p, nil
}

// ConsistencyProof implements vigil.Ledger.
func (db *DB) ConsistencyProof(ctx context.Context, workspace string, first, second int64) ([]vigil.Hash, error) {
	if err := db.await(ctx, workspace); err != nil {
		return nil, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	if first < 1 || first > second {
		return nil, vigil.Invalid(vigil.ErrorDetail{Field: "first", Message: "must be at least 1 and at most second"})
	}
	if err := db.checkSize(ctx, ws, second); err != nil {
		return nil, err
	}
	proof, err := tlog.ProveTree(second, first, hashReader{ctx, db, ws})
	if err != nil {
		return nil, vigil.Unavailable("building the proof failed", err)
	}
	out := make([]vigil.Hash, len(proof))
	for i, h := range proof {
		out[i] = ledger.VigilHash(h)
	}
	return out, nil
}

func (db *DB) checkSize(ctx context.Context, ws, size int64) error {
	n, err := db.treeSize(ctx, ws)
	if err != nil {
		return vigil.Unavailable("reading the ledger failed", err)
	}
	if size > n {
		return vigil.Invalid(vigil.ErrorDetail{Field: "tree_size", Message: fmt.Sprintf("the log has only %d events", n)})
	}
	return nil
}
