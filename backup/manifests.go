package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
)

// maxManifest bounds a manifest object read back.
const maxManifest = 256 << 20

// IntegrityError is a backup object that is missing, altered or
// inconsistent: restore refuses the backup and names the object.
type IntegrityError struct {
	Object string
	Err    error
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("backup: %s: %v", e.Object, e.Err)
}
func (e *IntegrityError) Unwrap() error { return e.Err }

// Generations lists the generations in a store, oldest first.
func Generations(ctx context.Context, s Store) ([]int64, error) {
	names, err := s.List(ctx, manifestDir)
	if err != nil {
		return nil, err
	}
	var gens []int64
	for _, n := range names {
		if g, ok := generationOf(n); ok {
			gens = append(gens, g)
		}
	}
	slices.Sort(gens)
	return gens, nil
}

// latestManifest reads the newest generation's manifest; an empty store
// gives the empty generation 0. A manifest that does not verify stops the
// backup: the next generation would otherwise build on it.
func latestManifest(ctx context.Context, s Store, key *Key, vkey string) (*Manifest, string, error) {
	gens, err := Generations(ctx, s)
	if err != nil {
		return nil, "", err
	}
	if len(gens) == 0 {
		return &Manifest{}, "", nil
	}
	return loadManifest(ctx, s, key, vkey, gens[len(gens)-1])
}

// loadManifest reads, decrypts and verifies one generation's manifest,
// returning it with the SHA-256 of its object.
func loadManifest(ctx context.Context, s Store, key *Key, vkey string, gen int64) (*Manifest, string, error) {
	name := manifestName(gen)
	sealed, err := getAll(ctx, s, name, maxManifest)
	if err != nil {
		return nil, "", &IntegrityError{name, err}
	}
	sum := sha256.Sum256(sealed)
	signed, err := decryptAll(key, sealed)
	if err != nil {
		return nil, "", &IntegrityError{name, err}
	}
	m, err := openManifest(signed, vkey)
	if err != nil {
		return nil, "", &IntegrityError{name, err}
	}
	if m.Generation != gen {
		return nil, "", &IntegrityError{name, fmt.Errorf("it is the manifest of generation %d", m.Generation)}
	}
	return m, hex.EncodeToString(sum[:]), nil
}

func getAll(ctx context.Context, s Store, name string, limit int64) ([]byte, error) {
	r, err := s.Get(ctx, name)
	if err != nil {
		if missing(err) {
			return nil, fmt.Errorf("missing from %s", s)
		}
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

func decryptAll(key *Key, sealed []byte) ([]byte, error) {
	d, err := key.decrypt(bytes.NewReader(sealed))
	if err != nil {
		return nil, fmt.Errorf("does not decrypt: %w", err)
	}
	b, err := io.ReadAll(d)
	if err != nil {
		return nil, fmt.Errorf("does not decrypt: %w", err)
	}
	return b, nil
}
