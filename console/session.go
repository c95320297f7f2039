package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"time"

	"github.com/vigilhq/vigil"
)

// Cookies. The session cookie holds the session id, whose SHA-256 is all
// the store keeps; it is HttpOnly, SameSite=Strict and Secure over TLS.
const (
	sessionCookie = "vigil_session"
	signInCookie  = "vigil_signin" // the sign-in form's CSRF token seed
	cookiePath    = "/console/"
	// backgroundHeader marks a request the page's script sends by itself
	// (progress polling, the proof fetch): it does not extend the session.
	backgroundHeader = "X-Vigil-Background"
)

// principal is the signed-in user of a request.
type principal struct {
	vigil.User
	session vigil.Session
	id      string // the session id, from the cookie
	csrf    string
}

type userHandler func(w http.ResponseWriter, r *http.Request, p *principal) error

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func sessionHash(id string) []byte {
	h := sha256.Sum256([]byte("vigil.console.session\n" + id))
	return h[:]
}

// csrfToken ties a form to one session (or one sign-in cookie): an HMAC
// of it, so a page of another site cannot know it.
func (c *Console) csrfToken(purpose, seed string) string {
	m := hmac.New(sha256.New, c.keys.csrf)
	m.Write([]byte(purpose + "\n" + seed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) secure(r *http.Request) bool { return r.TLS != nil || c.cfg.SecureCookies }

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int, same http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: c.secure(r), SameSite: same})
}

// startSession creates a session for u and sets its cookie.
func (c *Console) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u vigil.User) error {
	id := randomToken()
	now := c.cfg.Now().UTC()
	s := vigil.Session{UserID: u.ID, CreatedAt: now, LastActive: now, ExpiresAt: now.Add(c.cfg.SessionLifetime)}
	if err := c.cfg.Users.CreateSession(ctx, sessionHash(id), s); err != nil {
		return err
	}
	c.setCookie(w, r, sessionCookie, id, cookiePath, int(c.cfg.SessionLifetime/time.Second), http.SameSiteStrictMode)
	return nil
}

// Reasons a session ends, as recorded and shown on the sign-in page.
const (
	endIdle    = "idle"
	endExpired = "expired"
	endSignOut = "signed_out"
)

// current returns the request's session, or why there is none: "" when
// the request has no session at all, endIdle or endExpired when it ended
// (it is then deleted and its end recorded).
func (c *Console) current(r *http.Request) (*principal, string, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return nil, "", nil
	}
	hash := sessionHash(ck.Value)
	s, u, err := c.cfg.Users.Session(r.Context(), hash)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil, "", nil
	} else if err != nil {
		return nil, "", err
	}
	now := c.cfg.Now()
	reason := ""
	switch {
	case u.Disabled():
		reason = endExpired
	case now.Sub(s.LastActive) >= c.cfg.IdleTimeout:
		reason = endIdle
	case !now.Before(s.ExpiresAt):
		reason = endExpired
	}
	if reason != "" {
		if err := c.cfg.Users.DeleteSession(r.Context(), hash); err != nil {
			return nil, "", err
		}
		c.recordAs(r, u, ActionSignOut, vigil.OutcomeSuccess, map[string]string{"reason": reason})
		return nil, reason, nil
	}
	return &principal{User: u, session: s, id: ck.Value, csrf: c.csrfToken("session", ck.Value)}, "", nil
}

// user wraps a page for signed-in users of the given roles (nil: any).
// A user action extends the session; background requests do not. Forms
// (every method but GET) must carry the session's CSRF token.
func (c *Console) user(roles []vigil.Role, h userHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ended, err := c.current(r)
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		background := r.Header.Get(backgroundHeader) != ""
		if p == nil {
			if background || r.Method != http.MethodGet {
				c.fail(w, r, nil, vigil.Errorf(vigil.EUNAUTHORIZED, "your session has ended; sign in again"))
				return
			}
			target := "/console/signin"
			if ended != "" {
				target += "?reason=" + ended
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet {
			if err := c.checkForm(r, p.csrf); err != nil {
				c.fail(w, r, p, err)
				return
			}
		}
		if roles != nil && !slices.Contains(roles, p.Role) {
			c.fail(w, r, p, vigil.Errorf(vigil.EFORBIDDEN, "the %s role may not use this page", p.Role))
			return
		}
		if !background {
			if err := c.cfg.Users.TouchSession(r.Context(), sessionHash(p.id), c.cfg.Now()); err != nil {
				c.fail(w, r, p, err)
				return
			}
		}
		if err := h(w, r, p); err != nil {
			c.fail(w, r, p, err)
		}
	})
}

// maxFormBytes bounds a form body.
const maxFormBytes = 64 << 10

// checkForm parses a form and checks its CSRF token (and, when the
// browser says where the request comes from, that it is this origin).
func (c *Console) checkForm(r *http.Request, want string) error {
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return vigil.Errorf(vigil.EMALFORMED, "the form could not be read")
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return vigil.Errorf(vigil.EFORBIDDEN, "the form was not sent from this site (CSRF protection)")
	}
	got := r.PostForm.Get("csrf")
	if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return vigil.Errorf(vigil.EFORBIDDEN, "the form's CSRF token is missing or wrong; reload the page and try again")
	}
	return nil
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := c.cfg.Users.DeleteSession(r.Context(), sessionHash(p.id)); err != nil {
		return err
	}
	c.setCookie(w, r, sessionCookie, "", cookiePath, -1, http.SameSiteStrictMode)
	c.recordAs(r, p.User, ActionSignOut, vigil.OutcomeSuccess, map[string]string{"reason": endSignOut})
	http.Redirect(w, r, "/console/signin?reason="+endSignOut, http.StatusSeeOther)
	return nil
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, p *principal) error {
	target := "/console/dashboard"
	if p.Role == vigil.RoleAdmin {
		target = "/console/admin/keys"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}
