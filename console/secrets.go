package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// derivedKeys are the keys of one secret, one per purpose, so no key
// serves two.
type derivedKeys struct {
	seal []byte // AES-256-GCM: TOTP secrets at rest
	csrf []byte // HMAC: CSRF tokens and the OIDC state cookie
}

func deriveKeys(secret []byte) (derivedKeys, error) {
	if len(secret) < 32 {
		return derivedKeys{}, errors.New("console: the secret must be at least 32 bytes")
	}
	var k derivedKeys
	var err error
	if k.seal, err = hkdf.Key(sha256.New, secret, nil, "vigil console totp seal", 32); err != nil {
		return k, err
	}
	if k.csrf, err = hkdf.Key(sha256.New, secret, nil, "vigil console csrf", 32); err != nil {
		return k, err
	}
	return k, nil
}

// ViewerKey derives the viewer tokens' HMAC key from the console secret,
// for the API server that mints them and the console that checks them.
func ViewerKey(secret []byte) ([]byte, error) {
	if len(secret) < 32 {
		return nil, errors.New("console: the secret must be at least 32 bytes")
	}
	return hkdf.Key(sha256.New, secret, nil, "vigil viewer tokens", 32)
}

// seal encrypts a TOTP secret for storage, bound to its user id: a sealed
// secret copied to another user's row does not open.
func seal(key []byte, userID string, plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(append([]byte{1}, nonce...), nonce, plain, []byte(userID)), nil
}

func unseal(key []byte, userID string, sealed []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+aead.NonceSize() || sealed[0] != 1 {
		return nil, errors.New("console: not a sealed secret")
	}
	nonce := sealed[1 : 1+aead.NonceSize()]
	return aead.Open(nil, nonce, sealed[1+aead.NonceSize():], []byte(userID))
}
