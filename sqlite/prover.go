package sqlite

import (
	"context"
	"fmt"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

var _ vigil.BatchProver = (*DB)(nil)

// maxCachedHashes bounds a prover's memory: 32 bytes and a map entry each.
const maxCachedHashes = 1 << 16

// prover proves many leaves of one workspace against one tree size,
// remembering the stored hashes it read: the proofs of neighbouring leaves
// share all but their lowest levels, so an export in sequence order reads
// about one new hash per event instead of a whole proof.
type prover struct {
	r     hashReader
	size  int64
	cache map[int64]tlog.Hash
}

// InclusionProver implements vigil.BatchProver.
func (db *DB) InclusionProver(ctx context.Context, workspace string, treeSize int64) (vigil.InclusionProver, error) {
	if err := db.await(ctx, workspace); err != nil {
		return nil, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	if err := db.checkSize(ctx, ws, treeSize); err != nil {
		return nil, err
	}
	return &prover{r: hashReader{ctx, db, ws}, size: treeSize, cache: map[int64]tlog.Hash{}}, nil
}

func (p *prover) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var missing []int64
	for _, idx := range indexes {
		if _, ok := p.cache[idx]; !ok {
			missing = append(missing, idx)
		}
	}
	if len(missing) > 0 {
		hs, err := p.r.ReadHashes(missing)
		if err != nil {
			return nil, err
		}
		if len(p.cache)+len(hs) > maxCachedHashes {
			clear(p.cache)
		}
		for i, idx := range missing {
			p.cache[idx] = hs[i]
		}
	}
	for i, idx := range indexes {
		out[i] = p.cache[idx]
	}
	return out, nil
}

// InclusionProof implements vigil.InclusionProver for the prover's
// workspace and tree size.
func (p *prover) InclusionProof(_ context.Context, _ string, seq, treeSize int64) (vigil.InclusionProof, error) {
	if treeSize != p.size || seq < 0 || seq >= treeSize {
		return vigil.InclusionProof{}, fmt.Errorf("sqlite: prover of tree size %d asked for leaf %d of %d", p.size, seq, treeSize)
	}
	proof, err := tlog.ProveRecord(treeSize, seq, p)
	if err != nil {
		return vigil.InclusionProof{}, vigil.Unavailable("building the proof failed", err)
	}
	leaf, err := p.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
	if err != nil {
		return vigil.InclusionProof{}, vigil.Unavailable("reading the ledger failed", err)
	}
	out := vigil.InclusionProof{LeafIndex: seq, TreeSize: treeSize, LeafHash: ledger.VigilHash(leaf[0]), Hashes: make([]vigil.Hash, len(proof))}
	for i, h := range proof {
		out.Hashes[i] = ledger.VigilHash(h)
	}
	return out, nil
}
