package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"filippo.io/age"
	"github.com/vigilhq/vigil/internal/private"
)

// KeyFile is the backup key's file name in the data directory.
const KeyFile = "backup.key"

// Key encrypts backup objects before they leave the machine and decrypts
// them on restore. It is an age X25519 identity: age's STREAM format
// authenticates every 64 KiB, so a state snapshot of any size is
// encrypted and checked as it streams, never held whole in memory, and an
// operator can still decrypt an object with the age command line tool.
// The key must be kept apart from the backups (a backup without it cannot
// be read, by anyone).
type Key struct{ id *age.X25519Identity }

// LoadOrCreateKey reads the backup key file, creating it (0600) with a
// new key on first use; created says it did.
func LoadOrCreateKey(path string) (k *Key, created bool, err error) {
	k, err = LoadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, false, err
	}
	f, err := private.Create(path)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use that one.
			k, err = LoadKey(path)
			return k, false, err
		}
		return nil, false, fmt.Errorf("backup: creating %s: %w", path, err)
	}
	_, err = fmt.Fprintf(f, "# Vigil backup key: keep a copy apart from the backups; without it they cannot be restored.\n%s\n", id)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("backup: writing %s: %w", path, err)
	}
	return &Key{id: id}, true, nil
}

// LoadKey reads a backup key file; a missing file wraps fs.ErrNotExist.
func LoadKey(path string) (*Key, error) {
	if _, err := private.Tighten(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("backup: %s is not a backup key: %w", path, err)
	}
	if len(ids) != 1 {
		return nil, fmt.Errorf("backup: %s holds %d keys, want one", path, len(ids))
	}
	id, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return nil, fmt.Errorf("backup: %s is not an X25519 key", path)
	}
	return &Key{id: id}, nil
}

// Recipient is the key's public half, which encrypts but cannot decrypt.
func (k *Key) Recipient() string { return k.id.Recipient().String() }

func (k *Key) encrypt(w io.Writer) (io.WriteCloser, error) { return age.Encrypt(w, k.id.Recipient()) }

func (k *Key) decrypt(r io.Reader) (io.Reader, error) {
	d, err := age.Decrypt(r, k.id)
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return nil, fmt.Errorf("backup: the object was not encrypted to this backup key: %w", err)
	}
	return d, err
}
