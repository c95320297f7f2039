package crypt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// Sealing is an event's sealed fields made ready before it is placed in
// the log: the salts drawn, the commitments and the payload computed, in
// the caller's goroutine, so the one goroutine that sequences only
// writes the leaf and encrypts.
type Sealing struct {
	seal    *vigil.Seal
	payload []byte
}

// PrepareSeal draws the salts of e's sealed fields and computes their
// commitments and payload. e's sealed fields must not change after.
func PrepareSeal(e *vigil.Event) (*Sealing, error) {
	var random [ledger.NumSealed * ledger.SaltSize]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, err
	}
	var salts ledger.Salts
	for i := range salts {
		copy(salts[i][:], random[i*ledger.SaltSize:])
	}
	seal, payload := ledger.SealFields(e, "", &salts)
	return &Sealing{seal: seal, payload: payload}, nil
}

// SealEvent seals an event that has its id, sequence and times under the
// data key of its workspace and month: it sets e.Seal, and returns the
// version 2 leaf and the sealed payload that travels beside it
// (vigil.LogRecord.Sealed). The payload is AES-256-GCM with the leaf hash
// as associated data, so it opens only beside its own leaf. s is from
// PrepareSeal(e), or nil to prepare it here.
func SealEvent(ctx context.Context, ring vigil.Keyring, e *vigil.Event, s *Sealing) (leaf, sealed []byte, err error) {
	id, aead, err := ring.SealKey(ctx, e.Workspace, e.CreatedAt)
	if err != nil {
		return nil, nil, err
	}
	if s == nil {
		if s, err = PrepareSeal(e); err != nil {
			return nil, nil, err
		}
	}
	e.Seal = &vigil.Seal{KeyID: id, Commitments: s.seal.Commitments}
	leaf = ledger.AppendEvent(nil, e)
	h := ledger.LeafHash(leaf)
	if sealed, err = Seal(aead, s.payload, h[:]); err != nil {
		return nil, nil, err
	}
	return leaf, sealed, nil
}

// OpenRecord returns the event a log record holds: a version 1 leaf as
// it is, a version 2 leaf with its sealed fields decrypted and checked
// against their commitments. ring may be nil for a log of version 1
// leaves only.
func OpenRecord(ctx context.Context, ring vigil.Keyring, rec *vigil.LogRecord) (vigil.Event, error) {
	e, err := ledger.ParseEvent(rec.Leaf)
	if err != nil {
		return e, err
	}
	e.IPFromConnection = rec.IPFromConnection
	if e.Seal == nil {
		return e, nil
	}
	h := ledger.LeafHash(rec.Leaf)
	return e, OpenFields(ctx, ring, &e, h, rec.Sealed)
}

// OpenFields decrypts the sealed payload of e, whose leaf hashes to
// leafHash, into its identifying fields.
func OpenFields(ctx context.Context, ring vigil.Keyring, e *vigil.Event, leafHash vigil.Hash, sealed []byte) error {
	if ring == nil {
		return vigil.Errorf(vigil.EUNAVAILABLE, "event %d is encrypted and no key-encryption key is configured", e.Sequence)
	}
	aead, err := ring.OpenKey(ctx, e.Seal.KeyID)
	if err != nil {
		return err
	}
	payload, err := Open(aead, sealed, leafHash[:])
	if err != nil {
		return fmt.Errorf("%w: event %d: they do not decrypt beside its leaf", ErrAltered, e.Sequence)
	}
	if err := ledger.OpenFields(e, payload); err != nil {
		return fmt.Errorf("%w: event %d: %v", ErrAltered, e.Sequence, err)
	}
	return nil
}

// ErrAltered reports sealed fields that do not belong to their leaf: the
// leaf, the payload or the key was altered, or the payload was moved
// from another event. A missing key is not this error.
var ErrAltered = errors.New("crypt: the sealed fields do not belong to the event's leaf")
