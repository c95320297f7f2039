package anchor

import (
	"context"
	"fmt"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// VerifyAnchor implements vigil.AnchorService. The anchor is valid when
// its checkpoint says what the record says, its evidence verifies over
// that checkpoint, and the stored log's root at its size is the anchored
// root (Expected the anchored root, Actual the store's). Its chain is
// valid when it names its predecessor of the chain by that anchor's hash,
// starts where the predecessor ended, and the store proves the
// predecessor's root consistent with its own.
func (an *Anchorer) VerifyAnchor(ctx context.Context, workspace, id string) (vigil.AnchorVerification, error) {
	a, err := an.cfg.Store.Anchor(ctx, workspace, id)
	if err != nil {
		return vigil.AnchorVerification{}, err
	}
	v := vigil.AnchorVerification{AnchorID: a.ID, Root: a.Root, Expected: a.Root, EventsCount: a.EventsCount(), Valid: true, ChainValid: true}
	bad := func(chain bool, format string, args ...any) {
		if chain {
			v.ChainValid = false
		} else {
			v.Valid = false
		}
		v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
	}
	body := Body(a.Checkpoint)
	if _, size, root, err := ledger.ParseCheckpoint(body); err != nil || size != a.TreeSize || root != a.Root {
		bad(false, "the anchored checkpoint does not say the anchor's tree size and root")
	}
	if a.Status != vigil.AnchorConfirmed {
		bad(false, "the anchor is %s: there is no evidence to verify", a.Status)
	} else if _, err := an.cfg.Verifier.Check(a.Kind, body, a.Evidence, a.WitnessKey); err != nil {
		bad(false, "the evidence does not verify: %v", err)
	}
	actual, err := an.cfg.Log.TreeRoot(ctx, workspace, a.TreeSize)
	switch {
	case vigil.ErrorCode(err) == vigil.EUNAVAILABLE:
		return v, err
	case err != nil:
		bad(false, "the stored log has no root of size %d: %s", a.TreeSize, vigil.ErrorMessage(err))
	default:
		v.Actual = &actual
		if actual != a.Root {
			bad(false, "the stored log's root at size %d differs from the anchored one: the log was rewritten", a.TreeSize)
		}
	}
	an.checkChain(ctx, a, bad)
	return v, nil
}

func (an *Anchorer) checkChain(ctx context.Context, a vigil.Anchor, bad func(bool, string, ...any)) {
	if a.PreviousID == "" {
		if a.FromSequence != 0 || a.PreviousHash != nil {
			bad(true, "the anchor names no predecessor but starts at sequence %d", a.FromSequence)
		}
		return
	}
	prev, err := an.cfg.Store.Anchor(ctx, a.Workspace, a.PreviousID)
	if err != nil {
		bad(true, "the previous anchor %s cannot be read: %s", a.PreviousID, vigil.ErrorMessage(err))
		return
	}
	h, err := Hash(prev)
	switch {
	case err != nil:
		bad(true, "the previous anchor cannot be hashed: %v", err)
	case a.PreviousHash == nil || h != *a.PreviousHash:
		bad(true, "the previous anchor's hash is not the one this anchor names: it was altered")
	}
	if prev.Chain != a.Chain || prev.Status != vigil.AnchorConfirmed || prev.TreeSize != a.FromSequence {
		bad(true, "the previous anchor is not the confirmed anchor of this chain ending at sequence %d", a.FromSequence)
		return
	}
	if prev.TreeSize == 0 || prev.TreeSize >= a.TreeSize {
		return
	}
	proof, err := an.cfg.Log.ConsistencyProof(ctx, a.Workspace, prev.TreeSize, a.TreeSize)
	if err == nil {
		err = ledger.CheckConsistency(proof, prev.TreeSize, prev.Root, a.TreeSize, a.Root)
	}
	if err != nil {
		bad(true, "the store does not prove the previous anchor's root consistent with this one: %v", err)
	}
}
