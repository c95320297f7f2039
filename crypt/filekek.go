package crypt

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/vigilhq/vigil/internal/private"
)

// kekPrefix starts a KEK file; the rest of its one line is the key in
// standard base64.
const kekPrefix = "vigil-kek-v1:"

// FileKEK is the default KeyWrapper: an AES-256 key in a file of its own
// (kek.key beside ledger.key, mode 0600). Keeping the file elsewhere than
// the data directory (--kek-file) is what makes a copy of the data
// directory unreadable; docs/privacy.md says how.
type FileKEK struct {
	path string
	id   string
	aead cipher.AEAD // nil while the file does not exist
}

// OpenKEKFile reads the KEK at path. A file that does not exist is not an
// error: the result cannot unwrap anything until Create makes the file,
// which the keyring does only for a store that holds no key yet, so a
// lost KEK is never silently replaced.
func OpenKEKFile(path string) (*FileKEK, error) {
	k := &FileKEK{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("crypt: the key-encryption key: %w", err)
	}
	line := strings.TrimSpace(string(b))
	if !strings.HasPrefix(line, kekPrefix) {
		return nil, fmt.Errorf("crypt: %s is not a Vigil key-encryption key file (it does not start with %q)", path, kekPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, kekPrefix))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("crypt: %s does not hold a %d-byte key in base64", path, KeySize)
	}
	return k, k.use(key)
}

func (k *FileKEK) use(key []byte) error {
	aead, err := NewAEAD(key)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(append([]byte("vigil kek id\x00"), key...))
	k.id, k.aead = "file:"+hex.EncodeToString(sum[:8]), aead
	return nil
}

// Exists reports whether the key file was read or created.
func (k *FileKEK) Exists() bool { return k.aead != nil }

// Path returns the key file's path.
func (k *FileKEK) Path() string { return k.path }

// Create writes a new random KEK to the file (0600, fsync'd), which must
// not exist.
func (k *FileKEK) Create() error {
	if k.aead != nil {
		return nil
	}
	key, err := NewKey()
	if err != nil {
		return err
	}
	if err := WriteKEKFile(k.path, key); err != nil {
		return err
	}
	return k.use(key)
}

// WriteKEKFile writes key as a new KEK file (0600, fsync'd); it never
// overwrites a file.
func WriteKEKFile(path string, key []byte) error {
	f, err := private.Create(path)
	if err != nil {
		return fmt.Errorf("crypt: creating the key-encryption key: %w", err)
	}
	line := kekPrefix + base64.StdEncoding.EncodeToString(key) + "\n"
	if _, err := io.WriteString(f, line); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// KeyID implements KeyWrapper: "file:" and 16 hex digits of a hash of the
// key, which names it without revealing it.
func (k *FileKEK) KeyID() string { return k.id }

// Wrap implements KeyWrapper.
func (k *FileKEK) Wrap(_ context.Context, key, aad []byte) ([]byte, error) {
	if k.aead == nil {
		return nil, k.missing()
	}
	return Seal(k.aead, key, aad)
}

// Unwrap implements KeyWrapper.
func (k *FileKEK) Unwrap(_ context.Context, wrapped, aad []byte) ([]byte, error) {
	if k.aead == nil {
		return nil, k.missing()
	}
	key, err := Open(k.aead, wrapped, aad)
	if err != nil {
		return nil, ErrUnwrap
	}
	if len(key) != KeySize || bytes.Equal(key, make([]byte, KeySize)) {
		return nil, ErrUnwrap
	}
	return key, nil
}

func (k *FileKEK) missing() error {
	return fmt.Errorf("crypt: the key-encryption key file %s does not exist", k.path)
}
