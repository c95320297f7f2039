package console

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/vigilhq/vigil"
	"golang.org/x/oauth2"
)

// OIDCConfig configures sign-in through an OpenID Connect provider.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this console's callback as registered with the
	// provider: https://<host>/console/oidc/callback.
	RedirectURL string
	// RoleClaim names the ID token (or userinfo) claim carrying the
	// user's Vigil role: a string, or an array holding exactly one role.
	RoleClaim string
	// Scopes are requested beside openid, email and profile.
	Scopes []string
	// Name is shown on the sign-in button (default: the issuer's host).
	Name string
	// HTTPClient talks to the provider (default http.DefaultClient).
	HTTPClient *http.Client
}

type oidcClient struct {
	cfg      OIDCConfig
	mu       sync.Mutex
	provider *oidc.Provider // discovered on first use, so a provider down at start delays only its sign-ins
}

func newOIDCClient(cfg OIDCConfig) (*oidcClient, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, vigil.Errorf(vigil.EINVALID, "OIDC needs an issuer, a client id and a redirect URL")
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "vigil_role"
	}
	if cfg.Name == "" {
		cfg.Name = strings.TrimPrefix(strings.TrimPrefix(cfg.Issuer, "https://"), "http://")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &oidcClient{cfg: cfg}, nil
}

func (o *oidcClient) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

func (o *oidcClient) discover(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.Issuer)
		if err != nil {
			return nil, nil, vigil.Unavailable("the sign-in provider could not be reached", err)
		}
		o.provider = p
	}
	oc := &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: o.provider.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID, "email", "profile"}, o.cfg.Scopes...)}
	return o.provider, oc, nil
}

// oidcState is kept in a signed cookie between the redirect to the
// provider and its answer: the state, the nonce and the PKCE verifier.
type oidcState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"`
}

const oidcCookie = "vigil_oidc"

func (c *Console) oidcStart(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.fail(w, r, nil, vigil.Errorf(vigil.ENOTFOUND, "no sign-in provider is configured"))
		return
	}
	_, oc, err := c.oidc.discover(r.Context())
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	st := oidcState{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Expires: c.cfg.Now().Add(10 * time.Minute).Unix()}
	b, _ := json.Marshal(st)
	body := base64.RawURLEncoding.EncodeToString(b)
	// Lax, not Strict: the provider's redirect back is a cross-site
	// navigation, on which a Strict cookie would not be sent.
	c.setCookie(w, r, oidcCookie, body+"."+c.csrfToken("oidc", body), "/console/oidc/", 600, http.SameSiteLaxMode)
	http.Redirect(w, r, oc.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

func (c *Console) readOIDCState(r *http.Request) (oidcState, bool) {
	var st oidcState
	ck, err := r.Cookie(oidcCookie)
	if err != nil {
		return st, false
	}
	body, sig, ok := strings.Cut(ck.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(c.csrfToken("oidc", body))) {
		return st, false
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(b, &st) != nil || c.cfg.Now().Unix() > st.Expires {
		return st, false
	}
	return st, true
}

// oidcCallback completes a provider's sign-in: the state and nonce must
// match, the ID token must verify with the provider's keys, and the role
// claim must name exactly one console role. Failures are recorded as the
// password form's are.
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.fail(w, r, nil, vigil.Errorf(vigil.ENOTFOUND, "no sign-in provider is configured"))
		return
	}
	c.setCookie(w, r, oidcCookie, "", "/console/oidc/", -1, http.SameSiteLaxMode)
	failed := func(email, reason, msg string) {
		if err := c.recordAs(r, vigil.User{Email: email}, ActionSignIn, vigil.OutcomeFailure,
			map[string]string{"method": "oidc", "reason": reason}); err != nil {
			c.fail(w, r, nil, err)
			return
		}
		c.renderSignIn(w, r, http.StatusUnauthorized, signInData{Error: msg})
	}
	q := r.URL.Query()
	st, ok := c.readOIDCState(r)
	if !ok || q.Get("state") == "" || !hmac.Equal([]byte(q.Get("state")), []byte(st.State)) {
		failed("", "bad_state", "The sign-in expired or did not start here; try again.")
		return
	}
	if e := q.Get("error"); e != "" {
		failed("", "provider_error", "The sign-in provider refused: "+truncateRunes(e, 100)+".")
		return
	}
	provider, oc, err := c.oidc.discover(r.Context())
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	ctx := c.oidc.ctx(r.Context())
	tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		failed("", "code_exchange", "The sign-in provider did not confirm the sign-in; try again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: c.oidc.cfg.ClientID}).Verify(ctx, raw)
	if err != nil || !hmac.Equal([]byte(idt.Nonce), []byte(st.Nonce)) {
		failed("", "bad_id_token", "The sign-in provider's answer did not verify.")
		return
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		failed("", "bad_id_token", "The sign-in provider's answer did not verify.")
		return
	}
	if _, ok := claims["email"]; !ok || claims[c.oidc.cfg.RoleClaim] == nil {
		// Some providers put profile claims only in userinfo.
		if info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil && info.Subject == idt.Subject {
			extra := map[string]any{}
			if info.Claims(&extra) == nil {
				for k, v := range extra {
					if _, ok := claims[k]; !ok {
						claims[k] = v
					}
				}
			}
		}
	}
	email, _ := claims["email"].(string)
	if email == "" {
		email = idt.Subject
	}
	role, ok := roleOf(claims[c.oidc.cfg.RoleClaim])
	if !ok {
		failed(email, "no_role", "Your account has no Vigil role (claim "+c.oidc.cfg.RoleClaim+"); ask an administrator.")
		return
	}
	u, err := c.cfg.Users.UserBySubject(r.Context(), c.cfg.Workspace, idt.Issuer, idt.Subject)
	switch {
	case vigil.ErrorCode(err) == vigil.ENOTFOUND:
		u = vigil.User{ID: vigil.NewUserID(), Workspace: c.cfg.Workspace, Email: email, Role: role, Issuer: idt.Issuer,
			Subject: idt.Subject, CreatedAt: c.cfg.Now().UTC()}
		err = c.cfg.Users.CreateUser(r.Context(), u, nil)
	case err == nil && u.Disabled():
		failed(email, "disabled", "This account is disabled.")
		return
	case err == nil && (u.Email != email || u.Role != role):
		u, err = c.cfg.Users.UpdateUser(r.Context(), c.cfg.Workspace, u.ID, email, role)
	}
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	c.signedIn(w, r, u, "oidc")
}

// roleOf reads a role claim: a role name, or a list holding exactly one
// (other values are ignored, so a groups claim can serve).
func roleOf(v any) (vigil.Role, bool) {
	var names []string
	switch x := v.(type) {
	case string:
		names = []string{x}
	case []any:
		for _, n := range x {
			if s, ok := n.(string); ok {
				names = append(names, s)
			}
		}
	}
	var found []vigil.Role
	for _, n := range names {
		if r := vigil.Role(n); r.ValidUser() && !slices.Contains(found, r) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return found[0], true
}

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
