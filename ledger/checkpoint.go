package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/note"
)

// CheckpointFormatError reports a checkpoint body that is not a C2SP
// tlog-checkpoint.
type CheckpointFormatError struct{ Msg string }

func (e *CheckpointFormatError) Error() string { return "ledger: checkpoint: " + e.Msg }

// SignatureError reports a checkpoint whose signature does not verify
// with the trusted key.
type SignatureError struct{ Err error }

func (e *SignatureError) Error() string { return "ledger: checkpoint signature: " + e.Err.Error() }
func (e *SignatureError) Unwrap() error { return e.Err }

// FormatCheckpoint returns the body of a C2SP tlog-checkpoint: the origin,
// the tree size and the base64 root hash, each on its own line.
func FormatCheckpoint(origin string, size int64, root vigil.Hash) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// ParseCheckpoint reads a checkpoint body. Extension lines after the root
// are allowed, as C2SP says, and ignored.
func ParseCheckpoint(text []byte) (origin string, size int64, root vigil.Hash, err error) {
	if !bytes.HasSuffix(text, []byte("\n")) {
		return "", 0, root, &CheckpointFormatError{"the body must end with a newline"}
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return "", 0, root, &CheckpointFormatError{"want origin, size and root lines"}
	}
	origin = lines[0]
	if origin == "" {
		return "", 0, root, &CheckpointFormatError{"empty origin"}
	}
	size, perr := strconv.ParseInt(lines[1], 10, 64)
	if perr != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return "", 0, root, &CheckpointFormatError{"the size must be a decimal integer without leading zeros"}
	}
	h, derr := base64.StdEncoding.DecodeString(lines[2])
	if derr != nil || len(h) != len(root) {
		return "", 0, root, &CheckpointFormatError{"the root must be a base64 SHA-256 hash"}
	}
	for _, ext := range lines[3:] {
		if ext == "" {
			return "", 0, root, &CheckpointFormatError{"empty extension line"}
		}
	}
	copy(root[:], h)
	return origin, size, root, nil
}

// GenerateKey makes an Ed25519 note signing key named name and returns it
// with its verifier key.
func GenerateKey(name string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, name)
}

// VerifierKey derives the verifier key of a signing key.
func VerifierKey(skey string) (string, error) {
	// A signer key is PRIVATE+KEY+<name>+<hash>+<base64 of 0x01 and the
	// seed>; the key part is base64 and may itself hold '+'.
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", fmt.Errorf("ledger: malformed signing key")
	}
	if _, err := note.NewSigner(skey); err != nil {
		return "", fmt.Errorf("ledger: signing key: %w", err)
	}
	k, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(k) != 1+ed25519.SeedSize || k[0] != 1 {
		return "", fmt.Errorf("ledger: signing key is not Ed25519")
	}
	pub := ed25519.NewKeyFromSeed(k[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// Sign returns the signed note of a checkpoint.
func Sign(skey, origin string, size int64, root vigil.Hash) ([]byte, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("ledger: signing key: %w", err)
	}
	return note.Sign(&note.Note{Text: string(FormatCheckpoint(origin, size, root))}, s)
}

// Open verifies a signed checkpoint with the trusted verifier key and
// parses it.
func Open(signed []byte, vkey string) (vigil.Checkpoint, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return vigil.Checkpoint{}, &SignatureError{fmt.Errorf("verifier key: %w", err)}
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return vigil.Checkpoint{}, &SignatureError{err}
	}
	origin, size, root, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return vigil.Checkpoint{}, err
	}
	return vigil.Checkpoint{Origin: origin, Size: size, Root: root, Note: signed}, nil
}
