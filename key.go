package vigil

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Role is what a key or a console user may do. Each role holds the least
// it needs: ingest writes events and reads nothing; auditor reads and
// writes nothing; admin manages keys and settings and reads no events;
// issuer mints viewer tokens and does nothing else; privacy_officer (a
// console user) reads like an auditor and works the alert inbox.
type Role string

const (
	RoleIngest         Role = "ingest"
	RoleAuditor        Role = "auditor"
	RoleAdmin          Role = "admin"
	RoleIssuer         Role = "issuer"
	RolePrivacyOfficer Role = "privacy_officer"
)

// KeyRoles are the roles an API key may have.
var KeyRoles = []Role{RoleIngest, RoleAuditor, RoleAdmin, RoleIssuer}

// UserRoles are the roles a console user may have.
var UserRoles = []Role{RoleAuditor, RoleAdmin, RolePrivacyOfficer}

// Valid reports whether r is a role an API key may have.
func (r Role) Valid() bool { return slices.Contains(KeyRoles, r) }

// ValidUser reports whether r is a role a console user may have.
func (r Role) ValidUser() bool { return slices.Contains(UserRoles, r) }

// RoleList joins roles for messages: "ingest, auditor, admin, issuer".
func RoleList(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// KeyPrefix starts every API key, so leaked keys are easy to scan for.
const KeyPrefix = "vgl_"

// APIKey is a stored key. The secret itself is never stored: only its hash.
type APIKey struct {
	ID        string
	Workspace string
	TenantID  string // when set, the key reads and writes only this tenant
	Role      Role
	Name      string
	Hint      string // the first characters of the secret, to recognise it in lists
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key is valid
}

// Revoked reports whether the key was revoked.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// NewKeySecret returns a new random secret: the prefix and 32 random bytes.
func NewKeySecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("vigil: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashKey returns the stored form of a secret. A SHA-256 suffices: the
// secret has 256 bits of entropy, so there is nothing to brute-force.
func HashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// KeyHint returns the part of a secret shown in key listings.
func KeyHint(secret string) string {
	if len(secret) < len(KeyPrefix)+6 {
		return ""
	}
	return secret[:len(KeyPrefix)+6]
}

// LooksLikeKey reports whether s has the shape of a key, so malformed
// credentials are refused without a store lookup.
func LooksLikeKey(s string) bool {
	if !strings.HasPrefix(s, KeyPrefix) || len(s) != len(KeyPrefix)+43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(KeyPrefix):])
	return err == nil
}

// HashesEqual compares two key hashes in constant time.
func HashesEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// TenantEmptyMessage refuses a key's tenant given but empty: read as "no
// tenant", it would make a key of every tenant out of a request for a
// restricted one.
const TenantEmptyMessage = "must not be empty: leave tenant_id out for a key of every tenant"

// CreateKey makes a key for a workspace and stores its hash. tenant "" is
// a key of every tenant; callers that can tell a tenant given empty from
// one not given refuse the first with TenantEmptyMessage. The secret is
// returned once, here, and exists nowhere else. The CLI and the API both
// create keys through it.
func CreateKey(ctx context.Context, ks KeyStore, workspace string, role Role, tenant, name string, now time.Time) (APIKey, string, error) {
	var details []ErrorDetail
	if !role.Valid() {
		details = append(details, ErrorDetail{Field: "role", Message: "must be one of " + RoleList(KeyRoles)})
	}
	if tenant != "" && strings.TrimSpace(tenant) == "" {
		details = append(details, ErrorDetail{Field: "tenant_id", Message: TenantEmptyMessage})
	} else if msg := CheckString(tenant, Identifier, MaxIDLength); msg != "" {
		details = append(details, ErrorDetail{Field: "tenant_id", Message: msg})
	}
	if msg := CheckString(name, Line, MaxTextLength); msg != "" {
		details = append(details, ErrorDetail{Field: "name", Message: msg})
	}
	if len(details) > 0 {
		return APIKey{}, "", Invalid(details...)
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return APIKey{}, "", err
	}
	secret := NewKeySecret()
	k := APIKey{ID: "key_" + hex.EncodeToString(id[:]), Workspace: workspace, TenantID: tenant, Role: role, Name: name,
		Hint: KeyHint(secret), CreatedAt: now.UTC()}
	if err := ks.CreateKey(ctx, k, HashKey(secret)); err != nil {
		return APIKey{}, "", err
	}
	return k, secret, nil
}
