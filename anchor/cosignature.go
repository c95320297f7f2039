package anchor

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// algCosignatureV1 is the signature type of Ed25519 cosignatures in a
// verifier key (C2SP tlog-cosignature).
const algCosignatureV1 = 0x04

// CosignerKey is a witness's Ed25519 cosignature/v1 verifier key.
type CosignerKey struct {
	Name string
	Hash uint32 // the key ID: SHA-256(name || "\n" || 0x04 || key)[:4]
	Key  ed25519.PublicKey
	VKey string // as written: <name>+<hex key ID>+<base64(0x04 || key)>
}

// ParseCosignerKey reads a cosignature/v1 verifier key.
func ParseCosignerKey(vkey string) (CosignerKey, error) {
	name, rest, _ := strings.Cut(vkey, "+")
	hash16, key64, _ := strings.Cut(rest, "+")
	hash, err1 := strconv.ParseUint(hash16, 16, 32)
	key, err2 := base64.StdEncoding.DecodeString(key64)
	if name == "" || len(hash16) != 8 || err1 != nil || err2 != nil || strings.ContainsAny(name, " \n+") {
		return CosignerKey{}, fmt.Errorf("anchor: %q is not a verifier key <name>+<key id>+<key>", vkey)
	}
	if len(key) != 1+ed25519.PublicKeySize || key[0] != algCosignatureV1 {
		return CosignerKey{}, fmt.Errorf("anchor: verifier key %s is not an Ed25519 cosignature/v1 key (type 0x04)", name)
	}
	k := CosignerKey{Name: name, Hash: uint32(hash), Key: ed25519.PublicKey(key[1:]), VKey: vkey}
	if cosignerKeyID(name, k.Key) != k.Hash {
		return CosignerKey{}, fmt.Errorf("anchor: verifier key %s: the key ID does not match the key", name)
	}
	return k, nil
}

// NewCosignerKey returns the verifier key of an Ed25519 cosigner.
func NewCosignerKey(name string, pub ed25519.PublicKey) string {
	return fmt.Sprintf("%s+%08x+%s", name, cosignerKeyID(name, pub),
		base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...)))
}

func cosignerKeyID(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{algCosignatureV1})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// cosignedMessage is what a cosignature/v1 signs: a header line, the
// time line, then the checkpoint body.
func cosignedMessage(body []byte, t uint64) []byte {
	msg := fmt.Appendf(nil, "cosignature/v1\ntime %d\n", t)
	return append(msg, body...)
}

// verifier checks cosignature/v1 signatures as a note.Verifier, noting the
// time of the one it accepted.
type verifier struct {
	k    CosignerKey
	time uint64
}

func (v *verifier) Name() string    { return v.k.Name }
func (v *verifier) KeyHash() uint32 { return v.k.Hash }
func (v *verifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > 1<<63-1 {
		return false
	}
	if !ed25519.Verify(v.k.Key, cosignedMessage(msg, t), sig[8:]) {
		return false
	}
	v.time = t
	return true
}

// CheckCosignature verifies a cosignature line ("— <name> <base64>\n") by
// key over a checkpoint body and returns the time it attests.
func CheckCosignature(k CosignerKey, body, line []byte) (time.Time, error) {
	if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 || !bytes.HasPrefix(line, []byte("— ")) {
		return time.Time{}, errors.New("anchor: a cosignature is one note signature line")
	}
	v := &verifier{k: k}
	n := append(append(bytes.Clone(body), '\n'), line...)
	if _, err := note.Open(n, note.VerifierList(v)); err != nil {
		return time.Time{}, fmt.Errorf("anchor: the cosignature of %s does not verify: %w", k.Name, err)
	}
	return time.Unix(int64(v.time), 0).UTC(), nil
}

// cosignatureLine picks, among note signature lines, the one of key k.
func cosignatureLine(k CosignerKey, lines []byte) ([]byte, bool) {
	prefix := "— " + k.Name + " "
	for _, l := range bytes.SplitAfter(lines, []byte("\n")) {
		rest, ok := bytes.CutPrefix(l, []byte(prefix))
		if !ok {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(string(rest), "\n"))
		if err == nil && len(sig) >= 4 && binary.BigEndian.Uint32(sig) == k.Hash {
			return l, true
		}
	}
	return nil, false
}
