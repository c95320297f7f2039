package sqlite

import (
	"context"
	"iter"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// Bundle prepares an offline bundle of a workspace's events [from, to)
// against its latest checkpoint (to <= 0 means up to it). Events stream
// from the database as the bundle is written.
func (db *DB) Bundle(ctx context.Context, workspace string, from, to int64, verifierKey string) (*ledger.Bundle, error) {
	if err := db.await(ctx, workspace); err != nil {
		return nil, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	latest, err := db.Checkpoint(ctx, workspace, -1)
	if err != nil {
		return nil, err
	}
	n := latest.Size
	if to <= 0 || to > n {
		to = n
	}
	if from < 0 || from > to {
		return nil, vigil.Invalid(vigil.ErrorDetail{Field: "from", Message: "must be between 0 and the end of the range"})
	}
	cps, err := db.Checkpoints(ctx, workspace, from, n)
	if err != nil {
		return nil, err
	}
	b := &ledger.Bundle{Origin: db.origin(workspace), VerifierKey: verifierKey, From: from, To: to, TreeSize: n}
	for i, cp := range cps {
		b.Checkpoints = append(b.Checkpoints, cp.Note)
		if i > 0 && cps[i-1].Size > 0 {
			hs, err := db.ConsistencyProof(ctx, workspace, cps[i-1].Size, cp.Size)
			if vigil.ErrorCode(err) == vigil.EINVALID {
				// The stored tree no longer reaches this checkpoint (it was
				// truncated): the bundle goes without, and fails to verify.
				continue
			} else if err != nil {
				return nil, err
			}
			b.Proofs = append(b.Proofs, ledger.ConsistencyProof{First: cps[i-1].Size, Second: cp.Size, Hashes: hs})
		}
	}
	subs := ledger.SubtreesOutside(from, to, n)
	for _, s := range subs {
		// Read one by one: a missing stored hash leaves a zero hash in the
		// bundle, which then fails to verify, rather than no bundle at all.
		var h ledger.SubtreeHash
		h.Subtree = s
		if hs, err := (hashReader{ctx, db, ws}).ReadHashes([]int64{s.StoredIndex()}); err == nil {
			h.Hash = ledger.VigilHash(hs[0])
		}
		b.Subtrees = append(b.Subtrees, h)
	}
	if notes, err := db.readWitness(); err == nil {
		b.Witness = []byte(notes[workspace])
	}
	// The confirmed anchors a verifier can compare with the range: those
	// of a size the bundle reaches.
	anchors, err := db.AnchorsThrough(ctx, workspace, n)
	if err != nil {
		return nil, err
	}
	for _, a := range anchors {
		if a.TreeSize >= from {
			b.Anchors = append(b.Anchors, ledger.BundleAnchor{Chain: a.Chain, Kind: a.Kind, Checkpoint: a.Checkpoint,
				Evidence: a.Evidence, WitnessKey: a.WitnessKey})
		}
	}
	// The stored tree is checked first: what only the database can show
	// (a corrupted interior node) travels with the bundle.
	rep, err := db.verify(ctx, ws, workspace, vigil.VerifyOptions{From: from, To: to}, nil)
	if err != nil {
		return nil, err
	}
	// With what was found and recorded before (the evidence may be gone).
	if rep, err = db.withFindings(ctx, ws, workspace, "", rep); err != nil {
		return nil, err
	}
	b.Findings = rep.Breaks
	b.Events = db.canonicalEvents(ctx, ws, workspace, from, to)
	return b, nil
}

// canonicalEvents yields the canonical bytes of the events stored in
// [from, to), in sequence order, as they are: a bundle carries the
// database's evidence, gaps included, for the verifier to judge.
func (db *DB) canonicalEvents(ctx context.Context, ws int64, workspace string, from, to int64) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		rows, err := db.read.QueryContext(ctx, "SELECT "+eventColumns+" FROM events e WHERE e.ws = ? AND e.seq >= ? AND e.seq < ? ORDER BY e.seq", ws, from, to)
		if err != nil {
			yield(nil, err)
			return
		}
		defer rows.Close()
		var buf []byte
		for rows.Next() {
			e, err := db.scanLeaf(rows, workspace)
			if err != nil {
				yield(nil, err)
				return
			}
			buf = ledger.AppendEvent(buf[:0], &e)
			if !yield(buf, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, err)
		}
	}
}
