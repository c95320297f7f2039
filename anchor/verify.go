package anchor

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// Verifier checks anchors' evidence with what it is told to trust.
type Verifier struct {
	// TSARoots are the CAs time-stamp authorities' certificates must chain
	// to; nil checks each token against its own certificate only.
	TSARoots *x509.CertPool
	// WitnessKeys are the cosigners' verifier keys, by name. A cosignature
	// by a witness not among them is checked with the key recorded beside
	// it, which proves only that the record is self-consistent.
	WitnessKeys map[string]CosignerKey
}

// NewVerifier makes a verifier trusting roots and the witness keys vkeys.
func NewVerifier(roots *x509.CertPool, vkeys ...string) (*Verifier, error) {
	v := &Verifier{TSARoots: roots, WitnessKeys: map[string]CosignerKey{}}
	for _, vk := range vkeys {
		k, err := ParseCosignerKey(vk)
		if err != nil {
			return nil, err
		}
		v.WitnessKeys[k.Name] = k
	}
	return v, nil
}

// Check verifies evidence of kind over a checkpoint body. recordedKey is
// the witness key kept with a cosignature.
func (v *Verifier) Check(kind string, body, evidence []byte, recordedKey string) (Checked, error) {
	switch kind {
	case vigil.AnchorRFC3161:
		return CheckTimestamp(evidence, body, v.TSARoots)
	case vigil.AnchorCosignature:
		recorded, err := ParseCosignerKey(recordedKey)
		if err != nil {
			return Checked{}, fmt.Errorf("anchor: the recorded witness key: %w", err)
		}
		k, trusted := v.WitnessKeys[recorded.Name]
		if !trusted {
			k = recorded
		}
		t, err := CheckCosignature(k, body, evidence)
		return Checked{Time: t, Trusted: trusted}, err
	}
	return Checked{}, fmt.Errorf("anchor: unknown evidence kind %q", kind)
}

// CheckBundleAnchor is Check in the form ledger.VerifyOptions.CheckAnchor
// takes.
func (v *Verifier) CheckBundleAnchor(kind string, body, evidence []byte, witnessKey string) (time.Time, bool, error) {
	c, err := v.Check(kind, body, evidence, witnessKey)
	return c.Time, c.Trusted, err
}

// Hash is an anchor's own hash, which the next anchor of its chain names
// as previous_anchor_hash: SHA-256 of the RFC 8785 canonical JSON of what
// the anchor attests, so an anchor record altered or removed in the store
// breaks the chain after it:
//
//	{"chain":...,"evidence_hash":hex,"kind":...,"origin":...,
//	 "previous_anchor_hash":hex (absent for a chain's first),"root":hex,"tree_size":n,"v":1}
func Hash(a vigil.Anchor) (vigil.Hash, error) {
	origin, _, _, err := ledger.ParseCheckpoint(Body(a.Checkpoint))
	if err != nil {
		return vigil.Hash{}, err
	}
	m := map[string]any{
		"chain": a.Chain, "evidence_hash": a.EvidenceHash().String(), "kind": a.Kind, "origin": origin,
		"root": a.Root.String(), "tree_size": a.TreeSize, "v": 1,
	}
	if a.PreviousHash != nil {
		m["previous_anchor_hash"] = a.PreviousHash.String()
	}
	b, err := json.Marshal(m)
	if err != nil {
		return vigil.Hash{}, err
	}
	canon, err := ledger.Canonicalize(b)
	if err != nil {
		return vigil.Hash{}, err
	}
	return sha256.Sum256(canon), nil
}

// Body returns the body of a signed checkpoint, which evidence is over.
func Body(note []byte) []byte { return ledger.CheckpointBody(note) }
