package vigil

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Encryption at rest is envelope encryption: the identifying fields of an
// event are sealed under a data key (AES-256-GCM), and each data key is
// kept only wrapped by a key-encryption key (KEK) that never lies in the
// database. Package crypt implements the keys; the types below are what
// the engine, the projections and the store share.

// Key purposes.
const (
	KeyPurposeData  = "data"  // seals events of one workspace and period
	KeyPurposeIndex = "index" // keys a workspace's blind indexes and search tokens
)

// WrappedKey is a data key as the state database keeps it: wrapped by the
// KEK named KEKID, with the key's own id as the wrap's associated data, so
// a wrapped key moved to another id does not unwrap.
type WrappedKey struct {
	ID        string // e.g. "dk1/default/2026-05" (crypt.DataKeyID)
	Workspace string
	Purpose   string    // KeyPurposeData or KeyPurposeIndex
	Period    string    // "2026-05" for data keys; "" for index keys
	KEKID     string    // the KeyWrapper's KeyID when it was wrapped
	Wrapped   []byte    // the wrapper's output
	CreatedAt time.Time // UTC
}

// DataKeyStore keeps the wrapped data keys (the state database).
type DataKeyStore interface {
	// DataKeys returns every wrapped key.
	DataKeys(ctx context.Context) ([]WrappedKey, error)
	// DataKey returns one wrapped key; ENOTFOUND when there is none.
	DataKey(ctx context.Context, id string) (WrappedKey, error)
	// AddDataKey stores k durably unless a key of its id exists, and
	// returns the stored key: two processes creating the key of a month
	// at once agree on one.
	AddDataKey(ctx context.Context, k WrappedKey) (WrappedKey, error)
	// RewrapDataKeys replaces every key by what rewrap returns, in one
	// transaction: all of them or none (KEK rotation).
	RewrapDataKeys(ctx context.Context, rewrap func(WrappedKey) (WrappedKey, error)) (int, error)
}

// Keyring gives the data keys of the encryption at rest, unwrapped and
// cached in memory.
type Keyring interface {
	// SealKey returns the id and cipher of the data key that seals the
	// events a workspace records at the given time, creating and storing
	// it on its first use, before any event uses it.
	SealKey(ctx context.Context, workspace string, at time.Time) (id string, aead cipher.AEAD, err error)
	// OpenKey returns the cipher of a data key by id; EUNAVAILABLE when
	// the key is unknown or does not unwrap.
	OpenKey(ctx context.Context, id string) (cipher.AEAD, error)
	// Blinder returns the blind-index key of a workspace, creating it on
	// its first use.
	Blinder(ctx context.Context, workspace string) (*Blinder, error)
}

// Blinder computes blind indexes: HMAC-SHA-256 under a workspace's index
// key. Equal values give equal indexes, so equality filters work on the
// stored indexes, and without the key an index says nothing about its
// value (no dictionary attack on patient ids).
type Blinder struct {
	pool sync.Pool

	// names caches the tokens of search parameter names and systems,
	// few and asked for with every term.
	names     sync.Map
	namesSize atomic.Int64
}

// maxCachedNames bounds Blinder.names: systems are sent by clients.
const maxCachedNames = 4096

// NewBlinder returns the Blinder of an index key.
func NewBlinder(key []byte) *Blinder {
	k := append([]byte(nil), key...)
	return &Blinder{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, k) }}}
}

// BlindPrefix starts every blind index, which no plaintext stored by a
// version 1 event is expected to start with; it also names the scheme.
const BlindPrefix = "bi1."

// Index returns the blind index of a field's value: BlindPrefix and the
// base64url of HMAC(key, field || 0 || value). The field name is in the
// MAC, so one person's id gives different indexes as actor and as target.
func (b *Blinder) Index(field, value string) string {
	sum := b.mac(field, value)
	out := make([]byte, len(BlindPrefix), len(BlindPrefix)+43)
	copy(out, BlindPrefix)
	return string(base64.RawURLEncoding.AppendEncode(out, sum[:]))
}

// AppendToken appends the first 8 bytes of HMAC(key, kind || 0 ||
// parts joined by 0) in hex: a keyed search token of the same width as
// the unkeyed ones (sqlite/terms.go).
func (b *Blinder) AppendToken(dst []byte, kind byte, parts ...string) []byte {
	h := b.pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte{kind, 0})
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	b.pool.Put(h)
	return hex.AppendEncode(dst, sum[:8])
}

// AppendNameToken is AppendToken for the few parts that recur (a
// parameter's name and system), remembered once computed.
func (b *Blinder) AppendNameToken(dst []byte, kind byte, parts ...string) []byte {
	k := string(kind) + strings.Join(parts, "\x00")
	if t, ok := b.names.Load(k); ok {
		return append(dst, t.(string)...)
	}
	t := string(b.AppendToken(nil, kind, parts...))
	if b.namesSize.Load() < maxCachedNames {
		if _, loaded := b.names.LoadOrStore(k, t); !loaded {
			b.namesSize.Add(1)
		}
	}
	return append(dst, t...)
}

func (b *Blinder) mac(field, value string) [sha256.Size]byte {
	h := b.pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(field))
	h.Write([]byte{0})
	h.Write([]byte(value))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	b.pool.Put(h)
	return sum
}
