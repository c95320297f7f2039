package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/vigilhq/vigil"
)

// SealedFields are the members of an event that can identify a person,
// in the order of their names: a version 2 leaf holds each present one
// only as a commitment, and its value travels encrypted beside the leaf
// (vigil.LogRecord.Sealed). ip_country and ip_region stay in clear (HIPAA's
// Safe Harbor keeps a state; a city is an identifier).
var SealedFields = [NumSealed]string{
	"actor_id", "actor_name", "idempotency_key", "ip_address", "ip_city", "metadata",
	"patient_id", "resource_id", "resource_name", "session_id", "targets", "user_agent",
}

// NumSealed is the number of SealedFields.
const NumSealed = 12

// SaltSize is the size of a commitment's salt: 128 random bits, enough
// that a commitment to a guessable value (a patient id) cannot be found
// by trying values, since the salt must be guessed with it.
const SaltSize = 16

// Salts are the salts of one event's sealed fields, by SealedFields index.
type Salts [NumSealed][SaltSize]byte

// SealedValues returns the bytes each sealed field commits to, by
// SealedFields index, nil for an absent field: a string's UTF-8 bytes,
// metadata's canonical JSON, and the canonical JSON array of the targets.
func SealedValues(e *vigil.Event) [NumSealed][]byte {
	var v [NumSealed][]byte
	for i := range SealedFields {
		if p := sealedString(e, i); p != nil {
			if *p != "" {
				v[i] = []byte(*p)
			}
			continue
		}
		switch SealedFields[i] {
		case "metadata":
			if len(e.Metadata) > 0 {
				v[i] = e.Metadata
			}
		case "targets":
			if len(e.Targets) > 0 {
				v[i] = AppendTargets(nil, e.Targets)
			}
		}
	}
	return v
}

// sealedString is the event's string field of SealedFields[i], nil for
// metadata and targets: the one place that maps sealed fields to the
// event, for sealing and for opening.
func sealedString(e *vigil.Event, i int) *string {
	switch SealedFields[i] {
	case "actor_id":
		return &e.ActorID
	case "actor_name":
		return &e.ActorName
	case "idempotency_key":
		return &e.IdempotencyKey
	case "ip_address":
		return &e.IPAddress
	case "ip_city":
		return &e.IPCity
	case "patient_id":
		return &e.PatientID
	case "resource_id":
		return &e.ResourceID
	case "resource_name":
		return &e.ResourceName
	case "session_id":
		return &e.SessionID
	case "user_agent":
		return &e.UserAgent
	}
	return nil
}

// Commit is the commitment to a sealed value: SHA-256(salt || value).
// The salt has a fixed size, so salt and value cannot run into each
// other.
func Commit(salt *[SaltSize]byte, value []byte) vigil.Hash {
	h := sha256.New()
	h.Write(salt[:])
	h.Write(value)
	var out vigil.Hash
	h.Sum(out[:0])
	return out
}

// SealFields makes the seal of e under the data key keyID and salts (one
// random salt per field): the commitments of its present sealed fields,
// and the payload to encrypt, the canonical JSON object
// {"<field>":{"salt":"<hex>","value":<value>},...} of the same fields.
func SealFields(e *vigil.Event, keyID string, salts *Salts) (*vigil.Seal, []byte) {
	values := SealedValues(e)
	seal := &vigil.Seal{KeyID: keyID, Commitments: make([]vigil.Commitment, 0, NumSealed)}
	w := leafWriter{buf: make([]byte, 0, 256)}
	w.buf = append(w.buf, '{')
	for i, v := range values {
		if v == nil {
			continue
		}
		seal.Commitments = append(seal.Commitments, vigil.Commitment{Field: SealedFields[i], Hash: Commit(&salts[i], v)})
		w.key(`"` + SealedFields[i] + `":`)
		w.buf = append(w.buf, `{"salt":"`...)
		w.buf = hex.AppendEncode(w.buf, salts[i][:])
		w.buf = append(w.buf, `","value":`...)
		switch i {
		case 5, 10: // metadata, targets: canonical JSON already
			w.buf = append(w.buf, v...)
		default:
			w.buf = appendString(w.buf, string(v))
		}
		w.buf = append(w.buf, '}')
	}
	return seal, append(w.buf, '}')
}

// OpenFields fills the sealed fields of e, which carries its seal (as
// ParseEvent returns a version 2 leaf), from the decrypted payload, and
// checks every value against its commitment: a payload that does not
// belong to the leaf is refused, whatever decrypted it.
func OpenFields(e *vigil.Event, payload []byte) error {
	if e.Seal == nil {
		return fmt.Errorf("ledger: the event is not sealed")
	}
	var got [NumSealed]bool
	var salt [SaltSize]byte
	var text []byte
	p := parser{in: payload}
	p.skipSpace()
	err := p.members(func(name []byte) error {
		i := sealedIndex(string(name))
		if i < 0 || got[i] {
			return p.fail("not a sealed field, or one given twice")
		}
		got[i] = true
		var value []byte
		var hasSalt, hasValue bool
		err := p.members(func(member []byte) error {
			switch string(member) {
			case "salt":
				h, err := p.stringValue()
				if err != nil {
					return err
				}
				if n, err := hex.Decode(salt[:], []byte(h)); err != nil || n != SaltSize || len(h) != 2*SaltSize {
					return p.fail("not a salt of " + strconv.Itoa(SaltSize) + " bytes in hex")
				}
				hasSalt = true
			case "value":
				hasValue = true
				switch SealedFields[i] {
				case "metadata", "targets":
					raw, err := p.value(nil)
					if err != nil {
						return err
					}
					value = raw
				default:
					text = text[:0]
					if _, _, err := p.textValue(&text); err != nil {
						return err
					}
					value = text
				}
			default:
				return p.fail("unknown member")
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !hasSalt || !hasValue {
			return p.fail("a sealed field has a salt and a value")
		}
		c, ok := commitmentOf(e.Seal, SealedFields[i])
		if !ok {
			return p.fail("a value without a commitment in the leaf")
		}
		if Commit(&salt, value) != c {
			return p.fail("the value does not match its commitment")
		}
		return setField(e, i, value)
	})
	if err != nil {
		return fmt.Errorf("ledger: sealed fields: %w", err)
	}
	for _, c := range e.Seal.Commitments {
		if !got[sealedIndex(c.Field)] {
			return fmt.Errorf("ledger: sealed fields: no value for the commitment to %s", c.Field)
		}
	}
	return nil
}

func commitmentOf(s *vigil.Seal, field string) (vigil.Hash, bool) {
	for _, c := range s.Commitments {
		if c.Field == field {
			return c.Hash, true
		}
	}
	return vigil.Hash{}, false
}

// setField sets the sealed field of index i from the bytes committed to.
func setField(e *vigil.Event, i int, value []byte) error {
	switch SealedFields[i] {
	case "metadata", "targets":
		return setSealedJSON(e, SealedFields[i], append(json.RawMessage(nil), value...))
	}
	p := sealedString(e, i)
	if p == nil {
		return fmt.Errorf("ledger: sealed fields: %s is not a sealed field", SealedFields[i])
	}
	*p = string(value)
	return nil
}

func setSealedJSON(e *vigil.Event, field string, raw json.RawMessage) error {
	if field == "metadata" {
		// raw is canonical: the parser that read it wrote it.
		if len(raw) == 0 || raw[0] != '{' {
			return fmt.Errorf("ledger: sealed fields: metadata is not a JSON object")
		}
		e.Metadata = raw
		return nil
	}
	var ts []struct {
		ID       string          `json:"id"`
		Name     string          `json:"name"`
		Type     string          `json:"type"`
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &ts); err != nil {
		return fmt.Errorf("ledger: sealed fields: targets: %w", err)
	}
	e.Targets = make([]vigil.Target, len(ts))
	for i, t := range ts {
		e.Targets[i] = vigil.Target{ID: t.ID, Name: t.Name, Type: t.Type}
		if len(t.Metadata) > 0 {
			e.Targets[i].Metadata = t.Metadata
		}
	}
	if !bytes.Equal(AppendTargets(nil, e.Targets), raw) {
		return fmt.Errorf("ledger: sealed fields: the targets are not in canonical form")
	}
	return nil
}

// appendCommitments writes the commitments member's object: each field's
// commitment in lower-case hex.
func appendCommitments(dst []byte, cs []vigil.Commitment) []byte {
	w := leafWriter{buf: append(dst, '{')}
	for _, c := range cs {
		w.key(`"` + c.Field + `":`)
		w.buf = append(w.buf, '"')
		w.buf = hex.AppendEncode(w.buf, c.Hash[:])
		w.buf = append(w.buf, '"')
	}
	return append(w.buf, '}')
}

// sealedIndex returns the SealedFields index of a field name, or -1.
func sealedIndex(name string) int {
	for i, f := range SealedFields {
		if f == name {
			return i
		}
	}
	return -1
}
