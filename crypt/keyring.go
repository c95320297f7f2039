package crypt

import (
	"context"
	"crypto/cipher"
	"fmt"
	"sync"
	"time"

	"github.com/vigilhq/vigil"
)

// DataKeyID names the data key of a workspace's period (a UTC month):
// "dk1/<workspace>/<yyyy-mm>". Workspace names hold no "/". A key per
// subject, the unit crypto-shredding destroys, is one more segment
// before the period, "dk1/<workspace>/<kind>:<blind index>/<yyyy-mm>"
// (SubjectKeyID): ids of the two shapes never collide.
func DataKeyID(workspace, period string) string { return "dk1/" + workspace + "/" + period }

// SubjectKeyID names the data key of one subject (a patient, a tenant) in
// a period; subject is a blind index, so the id names no one.
func SubjectKeyID(workspace, kind, subject, period string) string {
	return "dk1/" + workspace + "/" + kind + ":" + subject + "/" + period
}

// IndexKeyID names a workspace's blind-index key.
func IndexKeyID(workspace string) string { return "ik1/" + workspace }

// Period is the period of a time: its UTC month, "2006-01".
func Period(t time.Time) string { return t.UTC().Format("2006-01") }

// Keyring implements vigil.Keyring over a DataKeyStore and a KeyWrapper:
// keys are created on first use, stored wrapped before they are used, and
// kept unwrapped in memory for the life of the process.
type Keyring struct {
	kek   KeyWrapper
	store vigil.DataKeyStore
	now   func() time.Time

	mu      sync.RWMutex
	aeads   map[string]cipher.AEAD    // data keys by id
	blinds  map[string]*vigil.Blinder // index keys by workspace
	creates sync.Mutex                // one creation at a time: no two keys for one id in this process
}

var _ vigil.Keyring = (*Keyring)(nil)

// creator is a KeyWrapper whose key may not exist yet (FileKEK).
type creator interface {
	Exists() bool
	Create() error
}

// NewKeyring opens the keyring of a store: it unwraps every stored key,
// so a wrong or missing KEK is refused here, before anything is written,
// naming the KEK the keys need. A store with no key yet gets a KEK
// created when the wrapper can create one (the first start of a data
// directory).
func NewKeyring(ctx context.Context, kek KeyWrapper, store vigil.DataKeyStore) (*Keyring, error) {
	r := &Keyring{kek: kek, store: store, now: time.Now, aeads: map[string]cipher.AEAD{}, blinds: map[string]*vigil.Blinder{}}
	keys, err := store.DataKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("crypt: reading the data keys: %w", err)
	}
	if c, ok := kek.(creator); ok && !c.Exists() {
		if len(keys) > 0 {
			return nil, fmt.Errorf("crypt: the store holds %d data keys wrapped by key-encryption key %s, and %s", len(keys), keys[0].KEKID, describeMissing(kek))
		}
		if err := c.Create(); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		if err := r.load(ctx, k); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func describeMissing(kek KeyWrapper) string {
	if f, ok := kek.(*FileKEK); ok {
		return "the key file " + f.Path() + " does not exist: restore it, or name it with --kek-file (VIGIL_KEK_FILE)"
	}
	return "the key-encryption key is not available"
}

// load unwraps a stored key into the cache.
func (r *Keyring) load(ctx context.Context, k vigil.WrappedKey) error {
	if k.KEKID != r.kek.KeyID() {
		return fmt.Errorf("crypt: data key %s is wrapped by key-encryption key %s, not by the configured %s: use the KEK it was wrapped with (or run vigil keys rotate-kek with both)", k.ID, k.KEKID, r.kek.KeyID())
	}
	raw, err := r.kek.Unwrap(ctx, k.Wrapped, []byte(k.ID))
	if err != nil {
		return fmt.Errorf("crypt: data key %s: %w", k.ID, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch k.Purpose {
	case vigil.KeyPurposeIndex:
		r.blinds[k.Workspace] = vigil.NewBlinder(raw)
	case vigil.KeyPurposeData:
		aead, err := NewAEAD(raw)
		if err != nil {
			return err
		}
		r.aeads[k.ID] = aead
	default:
		return fmt.Errorf("crypt: data key %s has no known purpose (%q)", k.ID, k.Purpose)
	}
	return nil
}

// SealKey implements vigil.Keyring.
func (r *Keyring) SealKey(ctx context.Context, workspace string, at time.Time) (string, cipher.AEAD, error) {
	period := Period(at)
	id := DataKeyID(workspace, period)
	if aead, err := r.OpenKey(ctx, id); err == nil {
		return id, aead, nil
	}
	if err := r.create(ctx, vigil.WrappedKey{ID: id, Workspace: workspace, Purpose: vigil.KeyPurposeData, Period: period}); err != nil {
		return "", nil, err
	}
	aead, err := r.OpenKey(ctx, id)
	return id, aead, err
}

// OpenKey implements vigil.Keyring: from the cache, else from the store
// (a key another process created since this one started).
func (r *Keyring) OpenKey(ctx context.Context, id string) (cipher.AEAD, error) {
	r.mu.RLock()
	aead := r.aeads[id]
	r.mu.RUnlock()
	if aead != nil {
		return aead, nil
	}
	k, err := r.store.DataKey(ctx, id)
	if err != nil {
		return nil, vigil.Unavailable("the data key "+id+" is not available", err)
	}
	if err := r.load(ctx, k); err != nil {
		return nil, vigil.Unavailable("the data key "+id+" does not open", err)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.aeads[id] == nil {
		return nil, vigil.Errorf(vigil.EUNAVAILABLE, "the key %s is not a data key", id)
	}
	return r.aeads[id], nil
}

// Blinder implements vigil.Keyring.
func (r *Keyring) Blinder(ctx context.Context, workspace string) (*vigil.Blinder, error) {
	r.mu.RLock()
	b := r.blinds[workspace]
	r.mu.RUnlock()
	if b != nil {
		return b, nil
	}
	id := IndexKeyID(workspace)
	k, err := r.store.DataKey(ctx, id)
	switch vigil.ErrorCode(err) {
	case "":
		if err := r.load(ctx, k); err != nil {
			return nil, err
		}
	case vigil.ENOTFOUND:
		if err := r.create(ctx, vigil.WrappedKey{ID: id, Workspace: workspace, Purpose: vigil.KeyPurposeIndex}); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.blinds[workspace], nil
}

// ExistingBlinder returns the blind-index key of a workspace, or nil when
// it has none: a workspace that never had a sealed event. Readers use it,
// so that a query creates no key.
func (r *Keyring) ExistingBlinder(ctx context.Context, workspace string) (*vigil.Blinder, error) {
	r.mu.RLock()
	b := r.blinds[workspace]
	r.mu.RUnlock()
	if b != nil {
		return b, nil
	}
	k, err := r.store.DataKey(ctx, IndexKeyID(workspace))
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := r.load(ctx, k); err != nil {
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.blinds[workspace], nil
}

// create makes a random key, stores it wrapped (durably, before any use)
// and loads what the store kept, which is another process's key when it
// created the same id first.
func (r *Keyring) create(ctx context.Context, k vigil.WrappedKey) error {
	r.creates.Lock()
	defer r.creates.Unlock()
	raw, err := NewKey()
	if err != nil {
		return err
	}
	if k.Wrapped, err = r.kek.Wrap(ctx, raw, []byte(k.ID)); err != nil {
		return fmt.Errorf("crypt: wrapping data key %s: %w", k.ID, err)
	}
	k.KEKID, k.CreatedAt = r.kek.KeyID(), r.now().UTC()
	stored, err := r.store.AddDataKey(ctx, k)
	if err != nil {
		return fmt.Errorf("crypt: storing data key %s: %w", k.ID, err)
	}
	return r.load(ctx, stored)
}

// RotateKEK re-wraps every data key of store from the KEK old to the KEK
// next, in one transaction of the store: the events sealed under the data
// keys are not touched, and a failure leaves every key as it was. It
// returns how many keys were re-wrapped.
func RotateKEK(ctx context.Context, store vigil.DataKeyStore, old, next KeyWrapper) (int, error) {
	if old.KeyID() == next.KeyID() {
		return 0, fmt.Errorf("crypt: the new key-encryption key is the current one (%s)", old.KeyID())
	}
	return store.RewrapDataKeys(ctx, func(k vigil.WrappedKey) (vigil.WrappedKey, error) {
		if k.KEKID == next.KeyID() {
			return k, nil // already under the new KEK: running the rotation again is harmless
		}
		if k.KEKID != old.KeyID() {
			return k, fmt.Errorf("crypt: data key %s is wrapped by %s, neither the old KEK %s nor the new %s", k.ID, k.KEKID, old.KeyID(), next.KeyID())
		}
		raw, err := old.Unwrap(ctx, k.Wrapped, []byte(k.ID))
		if err != nil {
			return k, fmt.Errorf("crypt: data key %s: %w", k.ID, err)
		}
		if k.Wrapped, err = next.Wrap(ctx, raw, []byte(k.ID)); err != nil {
			return k, err
		}
		k.KEKID = next.KeyID()
		return k, nil
	})
}
