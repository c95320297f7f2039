// Package crypt is Vigil's encryption at rest: the key-encryption key
// (KEK) behind a small KeyWrapper interface, the data keys it wraps (one
// per workspace and month, kept wrapped in the state database), the
// keyring that caches them unwrapped in memory, and KEK rotation. Every
// cipher is AES-256-GCM from the standard library.
package crypt

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeyWrapper wraps data keys under a key-encryption key that stays
// outside the database: a local key file (FileKEK) or a KMS.
type KeyWrapper interface {
	// KeyID names the KEK; stored with every key it wraps, so a store
	// knows which KEK a key needs.
	KeyID() string
	// Wrap encrypts a data key, bound to aad (the data key's id).
	Wrap(ctx context.Context, key, aad []byte) ([]byte, error)
	// Unwrap decrypts what Wrap returned with the same aad, or fails.
	Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error)
}

// KeySize is the size of every key: AES-256.
const KeySize = 32

// ErrUnwrap reports a wrapped key that does not open under the KEK: the
// wrong KEK, or altered bytes.
var ErrUnwrap = errors.New("crypt: the key does not unwrap under this KEK (wrong key-encryption key, or the wrapped key was altered)")

// NewAEAD returns AES-256-GCM under key, with random 96-bit nonces.
func NewAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("crypt: a key is %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext under aead with a fresh random nonce, which
// leads the output: nonce || ciphertext || tag.
func Seal(aead cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

// Open decrypts what Seal returned.
func Open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, errors.New("crypt: ciphertext too short")
	}
	return aead.Open(nil, sealed[:n], sealed[n:], aad)
}

// NewKey returns a random key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	_, err := rand.Read(k)
	return k, err
}
