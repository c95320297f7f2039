package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
	"github.com/vigilhq/vigil/ledger"
)

// A sealed event's row (migration 0010) keeps blind indexes where an
// equality filter needs its identifying columns, NULL in the others, and
// the values only in the sealed column, encrypted. The blind index of a
// field is vigil.Blinder.Index under the workspace's index key, with the
// field's name: the same names as ledger.SealedFields.

// blindColumns computes the blind indexes of a sealed event's filtered
// columns.
type blindColumns struct {
	actor, patient, resource, session, idem any
	targets                                 []string
}

func blindOf(b *vigil.Blinder, e *vigil.Event) blindColumns {
	idx := func(field, v string) any {
		if v == "" {
			return nil
		}
		return b.Index(field, v)
	}
	c := blindColumns{
		actor: idx("actor_id", e.ActorID), patient: idx("patient_id", e.PatientID),
		resource: idx("resource_id", e.ResourceID), session: idx("session_id", e.SessionID),
		idem: idx("idempotency_key", e.IdempotencyKey),
	}
	for _, t := range e.Targets {
		c.targets = append(c.targets, b.Index("target_id", t.ID))
	}
	return c
}

// encodeCommitments packs a seal's commitments: per commitment the
// field's index in ledger.SealedFields and its 32 bytes.
func encodeCommitments(cs []vigil.Commitment) []byte {
	out := make([]byte, 0, len(cs)*33)
	for _, c := range cs {
		for i, f := range ledger.SealedFields {
			if f == c.Field {
				out = append(out, byte(i))
				break
			}
		}
		out = append(out, c.Hash[:]...)
	}
	return out
}

func decodeCommitments(b []byte) ([]vigil.Commitment, error) {
	if len(b)%33 != 0 {
		return nil, fmt.Errorf("sqlite: the commitments column is %d bytes, not a multiple of 33", len(b))
	}
	out := make([]vigil.Commitment, 0, len(b)/33)
	for ; len(b) > 0; b = b[33:] {
		if int(b[0]) >= len(ledger.SealedFields) {
			return nil, fmt.Errorf("sqlite: the commitments column names field %d", b[0])
		}
		c := vigil.Commitment{Field: ledger.SealedFields[b[0]]}
		copy(c.Hash[:], b[1:33])
		out = append(out, c)
	}
	return out, nil
}

// openSealed turns the row of a sealed event into the event: it writes
// the version 2 leaf again from the clear columns and the commitments,
// and decrypts the values with the leaf's hash as associated data, so a
// row whose clear columns were altered does not decrypt.
func (db *DB) openSealed(e *vigil.Event, keyID string, commitments, sealed []byte, open bool) error {
	cs, err := decodeCommitments(commitments)
	if err != nil {
		return err
	}
	e.Seal = &vigil.Seal{KeyID: keyID, Commitments: cs}
	// The columns hold blind indexes, not values.
	e.ActorID, e.PatientID, e.ResourceID, e.SessionID, e.IdempotencyKey = "", "", "", "", ""
	if !open {
		return nil
	}
	if db.keys == nil {
		return vigil.Errorf(vigil.EUNAVAILABLE, "event %d is encrypted and the store has no key-encryption key", e.Sequence)
	}
	h := ledger.LeafHash(ledger.AppendEvent(nil, e))
	err = crypt.OpenFields(context.Background(), db.keys, e, h, sealed)
	if errors.Is(err, crypt.ErrAltered) {
		// The row was altered: the event is served with its clear fields
		// and seal only, so its leaf is written from what the row holds
		// and every verification reports the change, instead of the read
		// failing. Nothing of the values is guessed.
		db.log.Warn("a sealed event's row does not decrypt: it was altered", "workspace", e.Workspace, "sequence", e.Sequence)
		clearSealed(e)
		return nil
	}
	return err
}

// clearSealed empties the sealed fields of an event whose values are not
// available.
func clearSealed(e *vigil.Event) {
	e.ActorID, e.ActorName, e.IdempotencyKey, e.IPAddress, e.IPCity, e.Metadata = "", "", "", "", "", nil
	e.PatientID, e.ResourceID, e.ResourceName, e.SessionID, e.Targets, e.UserAgent = "", "", "", "", nil, ""
}

// readBlinder is the blind-index key a query of a workspace uses, nil
// when the workspace has no sealed event (or the store no KEK).
func (db *DB) readBlinder(ctx context.Context, workspace string) (*vigil.Blinder, error) {
	if db.keys == nil {
		return nil, nil
	}
	b, err := db.keys.ExistingBlinder(ctx, workspace)
	if err != nil {
		return nil, vigil.Unavailable("the blind-index key is not available", err)
	}
	return b, nil
}
