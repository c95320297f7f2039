package vigil

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// Viewer tokens let a SaaS page embed a read-only view of one tenant's
// events (Immutable's createViewerToken). A token is signed, not stored:
// its payload names the grant and an HMAC-SHA256 with the server's secret
// covers it, so every use checks the signature and the expiry.
const (
	DefaultViewerTTL = 300 * time.Second
	MaxViewerTTL     = 3600 * time.Second
	viewerPrefix     = "vgv1."
)

// ViewerGrant is what a viewer token allows: reading the events of one
// tenant of a workspace (and only one actor's, when ActorID is set) until
// ExpiresAt.
type ViewerGrant struct {
	ID        string    `json:"n"` // random, names the token in the audit trail
	Workspace string    `json:"w"`
	TenantID  string    `json:"t"`
	ActorID   string    `json:"a,omitempty"`
	IssuedBy  string    `json:"k"` // the id of the key that minted it
	ExpiresAt time.Time `json:"-"`
	Expires   int64     `json:"e"` // ExpiresAt in Unix seconds, as signed
}

// ViewerTokens mints and checks viewer tokens with one secret.
type ViewerTokens struct{ secret []byte }

// NewViewerTokens returns a minter and checker keyed by secret (at least
// 32 bytes, kept by the server).
func NewViewerTokens(secret []byte) *ViewerTokens {
	return &ViewerTokens{secret: append([]byte(nil), secret...)}
}

// Mint returns the token of g, giving it an id; g.ExpiresAt is truncated
// to the second.
func (v *ViewerTokens) Mint(g ViewerGrant) (string, ViewerGrant) {
	var n [9]byte
	if _, err := rand.Read(n[:]); err != nil {
		panic("vigil: no randomness: " + err.Error())
	}
	g.ID = "vwt_" + hex.EncodeToString(n[:])
	g.Expires = g.ExpiresAt.Unix()
	g.ExpiresAt = time.Unix(g.Expires, 0).UTC()
	payload, _ := json.Marshal(g)
	body := base64.RawURLEncoding.EncodeToString(payload)
	return viewerPrefix + body + "." + v.sign(body), g
}

func (v *ViewerTokens) sign(body string) string {
	m := hmac.New(sha256.New, v.secret)
	m.Write([]byte("vigil.viewer.v1\n" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Check returns the grant of a token signed by this secret that has not
// expired at now; EUNAUTHORIZED otherwise, saying which. An expired
// token's grant is returned with the error, so its use can be recorded.
func (v *ViewerTokens) Check(token string, now time.Time) (ViewerGrant, error) {
	bad := Errorf(EUNAUTHORIZED, "invalid viewer token")
	rest, ok := strings.CutPrefix(token, viewerPrefix)
	if !ok || len(token) > 2048 {
		return ViewerGrant{}, bad
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(v.sign(body))) {
		return ViewerGrant{}, bad
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return ViewerGrant{}, bad
	}
	var g ViewerGrant
	if err := json.Unmarshal(payload, &g); err != nil || g.Workspace == "" || g.TenantID == "" {
		return ViewerGrant{}, bad
	}
	g.ExpiresAt = time.Unix(g.Expires, 0).UTC()
	if !now.Before(g.ExpiresAt) {
		return g, Errorf(EUNAUTHORIZED, "the viewer token expired at %s", g.ExpiresAt.Format(time.RFC3339))
	}
	return g, nil
}
