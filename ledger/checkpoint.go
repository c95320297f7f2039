package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoints are C2SP tlog-checkpoint bodies signed as
// golang.org/x/mod/sumdb/note signed notes with Ed25519. The origin of a
// workspace's log is "<log name>/<workspace>", and the note key that signs
// it is named after the log name: one key per deployment, one origin per
// workspace (see Origin).

// maxCheckpoint bounds a checkpoint body, as tlog.ParseTree does.
const maxCheckpoint = 1 << 20

// CheckpointFormatError reports a checkpoint body that is not a C2SP
// tlog-checkpoint, or an origin that cannot be one.
type CheckpointFormatError struct{ Msg string }

func (e *CheckpointFormatError) Error() string { return "ledger: checkpoint: " + e.Msg }

// SignatureError reports a signed checkpoint that the trusted verifier key
// did not sign, or a verifier key that is malformed.
type SignatureError struct{ Err error }

func (e *SignatureError) Error() string { return "ledger: checkpoint signature: " + e.Err.Error() }
func (e *SignatureError) Unwrap() error { return e.Err }

// Origin returns the checkpoint origin of a workspace's log.
func Origin(logName, workspace string) string { return logName + "/" + workspace }

// FormatCheckpoint returns the body of a C2SP tlog-checkpoint: the origin,
// the tree size in decimal and the root in standard base64, each on its
// own line. Vigil writes no extension lines.
func FormatCheckpoint(origin string, size int64, root vigil.Hash) []byte {
	b := make([]byte, 0, len(origin)+64)
	b = append(b, origin...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, size, 10)
	b = append(b, '\n')
	b = base64.StdEncoding.AppendEncode(b, root[:])
	return append(b, '\n')
}

// ParseCheckpoint reads a checkpoint body strictly: a non-empty origin of
// printable UTF-8, a decimal size without leading zeros, a base64 SHA-256
// root in its one canonical spelling, then optional non-empty extension
// lines (see CheckpointExtensions), every line ending in a newline.
func ParseCheckpoint(text []byte) (origin string, size int64, root vigil.Hash, err error) {
	lines, err := checkpointLines(text)
	if err != nil {
		return "", 0, vigil.Hash{}, err
	}
	size, perr := strconv.ParseInt(lines[1], 10, 64)
	if perr != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return "", 0, vigil.Hash{}, &CheckpointFormatError{"the size must be a decimal integer without sign or leading zeros"}
	}
	h, derr := base64.StdEncoding.Strict().DecodeString(lines[2])
	if derr != nil || len(h) != len(root) || base64.StdEncoding.EncodeToString(h) != lines[2] {
		// The re-encoding check refuses the spellings Go's decoder
		// tolerates (embedded \r), so one root has one body.
		return "", 0, vigil.Hash{}, &CheckpointFormatError{"the root must be a SHA-256 hash in standard base64"}
	}
	copy(root[:], h)
	return lines[0], size, root, nil
}

// CheckpointExtensions returns the extension lines of a checkpoint body,
// after the root, without their newlines. Vigil writes none and gives
// them no meaning, but keeps them: they are signed, and Checkpoint.Note
// holds them verbatim.
func CheckpointExtensions(text []byte) ([]string, error) {
	lines, err := checkpointLines(text)
	if err != nil {
		return nil, err
	}
	return lines[3:], nil
}

func checkpointLines(text []byte) ([]string, error) {
	if len(text) > maxCheckpoint {
		return nil, &CheckpointFormatError{"longer than 1 MiB"}
	}
	if !bytes.HasSuffix(text, []byte("\n")) {
		return nil, &CheckpointFormatError{"the body must end with a newline"}
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return nil, &CheckpointFormatError{"want origin, size and root lines"}
	}
	if err := checkOrigin(lines[0]); err != nil {
		return nil, err
	}
	for _, line := range lines[1:] {
		if line == "" {
			return nil, &CheckpointFormatError{"an empty line in the body"}
		}
		if !printable(line) {
			return nil, &CheckpointFormatError{"a line with a control character or invalid UTF-8"}
		}
	}
	return lines, nil
}

func checkOrigin(origin string) error {
	if origin == "" {
		return &CheckpointFormatError{"empty origin"}
	}
	if !printable(origin) {
		return &CheckpointFormatError{"the origin must be UTF-8 text without control characters"}
	}
	return nil
}

// printable reports whether s is valid UTF-8 without ASCII control
// characters, which is what a note's text may hold besides newlines.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 {
			return false
		}
	}
	return true
}

// GenerateKey makes an Ed25519 note signing key named name (the log name)
// from crypto/rand, and returns it with its verifier key.
func GenerateKey(name string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, name)
}

// VerifierKey derives the verifier key of a signing key, which the note
// package does not offer.
func VerifierKey(skey string) (string, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return "", fmt.Errorf("ledger: signing key: %w", err)
	}
	// A signing key is PRIVATE+KEY+<name>+<hash>+<base64 of 0x01 and the
	// Ed25519 seed>; NewSigner accepted it, so the split is sound.
	parts := strings.SplitN(skey, "+", 5)
	k, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(k) != 1+ed25519.SeedSize || k[0] != 1 {
		return "", errors.New("ledger: signing key is not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(k[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(signer.Name(), pub)
}

// Sign returns the signed note of a checkpoint.
func Sign(skey, origin string, size int64, root vigil.Hash) ([]byte, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, &CheckpointFormatError{"negative tree size"}
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("ledger: signing key: %w", err)
	}
	return note.Sign(&note.Note{Text: string(FormatCheckpoint(origin, size, root))}, s)
}

// Open verifies a signed checkpoint with the trusted verifier key and
// parses its body. A note the key did not sign, or signed otherwise, is a
// *SignatureError; a signed body that is not a checkpoint is a
// *CheckpointFormatError. Note holds signed as given.
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

// CheckpointBody returns the body of a signed note: its text, before the
// blank line and the signatures. Evidence of a checkpoint (a time stamp,
// a cosignature) is over this.
func CheckpointBody(signed []byte) []byte {
	if i := bytes.LastIndex(signed, []byte("\n\n")); i >= 0 {
		return signed[:i+1]
	}
	return signed
}

// peekCheckpoint parses the body of a signed note without verifying it, to
// say what an unverifiable checkpoint claimed. Its result proves nothing.
func peekCheckpoint(signed []byte) (size int64, root vigil.Hash, ok bool) {
	_, size, root, err := ParseCheckpoint(CheckpointBody(signed))
	return size, root, err == nil
}
