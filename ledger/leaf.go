package ledger

import (
	"crypto/sha256"
	"strconv"
	"time"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// LeafVersion is the format version of the canonical events of events
// that are not sealed. The leaf's "v" member carries it, so a later
// format is an addition beside this one, never a rewrite.
const LeafVersion = 1

// SealedLeafVersion is the format of sealed events' leaves (encryption at
// rest, docs/ledger.md): the identifying fields are replaced by salted
// commitments, so the leaf hashes the same bytes, and every proof stays
// valid, whether or not its data key still exists.
const SealedLeafVersion = 2

// TimeLayout is the fixed-width UTC layout of times in a leaf: always nine
// fraction digits, so that a time has exactly one spelling.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// AppendEvent appends the version 1 leaf of e: the RFC 8785 canonical JSON
// object of every stored field, the bytes the Merkle leaf hashes. Empty
// strings, nil metadata and empty targets are omitted (absent and empty
// are one thing); created_at, occurred_at, sequence and v are always
// present.
//
// Metadata (the event's and each target's) is copied verbatim: the store
// keeps it canonical (Canonicalize), so the result is its own canonical
// form. The members are written in RFC 8785 order by hand, with no
// reflection, because this runs once per event on ingest and again on
// every re-verification.
func AppendEvent(dst []byte, e *vigil.Event) []byte { return appendEvent(dst, e, false) }

// AppendContent appends the canonical form of what a client sent as e:
// the leaf's members (the same RFC 8785 form, written by the same code)
// without those the server assigns or adds, which are id, workspace,
// sequence, created_at, v and the geolocation, and without ip_address
// when it is the connection's (IPFromConnection). occurred_at is present
// only when the client gave one. Two events with one idempotency key are
// the same event exactly when these bytes are equal.
func AppendContent(dst []byte, e *vigil.Event) []byte { return appendEvent(dst, e, true) }

// ContentDigest is the SHA-256 of AppendContent(e): what an idempotency
// key is compared by. It is recomputed from the stored event whenever it
// is needed and never stored, so its form is free to change.
func ContentDigest(e *vigil.Event) vigil.Hash {
	return vigil.Hash(sha256.Sum256(AppendContent(nil, e)))
}

// appendEvent writes the leaf of e, or with content only the members a
// client sends. A sealed event (e.Seal set) has a version 2 leaf: the
// identifying fields (SealedFields) are left out and the commitments and
// key id written instead. Content is always every field a client sent.
func appendEvent(dst []byte, e *vigil.Event, content bool) []byte {
	server := !content
	clear := content || e.Seal == nil // the identifying fields are written as they are
	w := leafWriter{buf: append(dst, '{')}
	w.str(`"action":`, e.Action)
	w.str(`"action_category":`, e.ActionCategory)
	if clear {
		w.str(`"actor_id":`, e.ActorID)
		w.str(`"actor_name":`, e.ActorName)
	}
	w.str(`"actor_type":`, e.ActorType)
	if !clear {
		w.key(`"commitments":`)
		w.buf = appendCommitments(w.buf, e.Seal.Commitments)
	}
	if server {
		w.time(`"created_at":`, e.CreatedAt)
		w.str(`"id":`, e.ID)
	}
	if clear {
		w.str(`"idempotency_key":`, e.IdempotencyKey)
		if server || !e.IPFromConnection {
			w.str(`"ip_address":`, e.IPAddress)
		}
	}
	if server {
		if clear {
			w.str(`"ip_city":`, e.IPCity)
		}
		w.str(`"ip_country":`, e.IPCountry)
		w.str(`"ip_region":`, e.IPRegion)
	}
	if !clear {
		w.str(`"key_id":`, e.Seal.KeyID)
	}
	if clear {
		w.raw(`"metadata":`, e.Metadata)
	}
	if server || !e.OccurredAt.IsZero() {
		w.time(`"occurred_at":`, e.OccurredAt)
	}
	w.str(`"outcome":`, string(e.Outcome))
	if clear {
		w.str(`"patient_id":`, e.PatientID)
	}
	w.str(`"purpose_of_use":`, e.PurposeOfUse)
	w.str(`"resource":`, e.Resource)
	if clear {
		w.str(`"resource_id":`, e.ResourceID)
		w.str(`"resource_name":`, e.ResourceName)
	}
	if server {
		w.key(`"sequence":`)
		w.buf = strconv.AppendInt(w.buf, e.Sequence, 10)
	}
	if clear {
		w.str(`"session_id":`, e.SessionID)
	}
	w.str(`"source":`, e.Source)
	if clear && len(e.Targets) > 0 {
		w.key(`"targets":`)
		w.buf = AppendTargets(w.buf, e.Targets)
	}
	w.str(`"tenant_id":`, e.TenantID)
	if clear {
		w.str(`"user_agent":`, e.UserAgent)
	}
	if server {
		w.key(`"v":`)
		v := int64(LeafVersion)
		if !clear {
			v = SealedLeafVersion
		}
		w.buf = strconv.AppendInt(w.buf, v, 10)
	}
	w.str(`"version":`, e.Version)
	if server {
		w.str(`"workspace":`, e.Workspace)
	}
	return append(w.buf, '}')
}

// AppendTargets appends the canonical JSON array of targets.
func AppendTargets(dst []byte, ts []vigil.Target) []byte {
	dst = append(dst, '[')
	for i := range ts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTarget(dst, &ts[i])
	}
	return append(dst, ']')
}

func appendTarget(dst []byte, t *vigil.Target) []byte {
	w := leafWriter{buf: append(dst, '{')}
	w.str(`"id":`, t.ID)
	w.raw(`"metadata":`, t.Metadata)
	w.str(`"name":`, t.Name)
	w.str(`"type":`, t.Type)
	return append(w.buf, '}')
}

// leafWriter writes the members of one object; each key is given quoted,
// with its colon, and in canonical order.
type leafWriter struct {
	buf     []byte
	members int
}

func (w *leafWriter) key(quoted string) {
	if w.members > 0 {
		w.buf = append(w.buf, ',')
	}
	w.members++
	w.buf = append(w.buf, quoted...)
}

func (w *leafWriter) str(key, v string) {
	if v != "" {
		w.key(key)
		w.buf = appendString(w.buf, v)
	}
}

func (w *leafWriter) raw(key string, v []byte) {
	if len(v) > 0 {
		w.key(key)
		w.buf = append(w.buf, v...)
	}
}

func (w *leafWriter) time(key string, t time.Time) {
	w.key(key)
	w.buf = append(w.buf, '"')
	w.buf = appendTime(w.buf, t)
	w.buf = append(w.buf, '"')
}

// appendTime writes t in TimeLayout. It is time.AppendFormat unrolled,
// several times faster, for the years the store can hold.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, sec, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, t.Nanosecond(), 9)
	return append(dst, 'Z')
}

// appendDigits writes v, zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var b [9]byte
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:width]...)
}

// LeafHash is the RFC 6962 leaf hash of a leaf's bytes:
// SHA-256(0x00 || canonical).
func LeafHash(canonical []byte) vigil.Hash { return vigil.Hash(tlog.RecordHash(canonical)) }
