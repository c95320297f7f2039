package console

import (
	"net/http"
	"strings"

	"github.com/vigilhq/vigil"
	vhttp "github.com/vigilhq/vigil/http"
)

type signInData struct {
	CSRF     string
	Email    string
	Message  string // why the user is here (signed out, idle)
	Error    string
	OIDC     bool
	OIDCName string
}

var endMessages = map[string]string{
	endIdle:    "You were signed out after a period of inactivity.",
	endExpired: "Your session ended; sign in again.",
	endSignOut: "You signed out.",
}

// signInPage shows the form. It never extends a session: a browser sent
// here by the idle timer is signed out (the server noticed, or notices
// now).
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, _, err := c.current(r); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	reason := r.URL.Query().Get("reason")
	if reason == endIdle {
		// The page's timer fired: end the session whatever the server's
		// clock says, so the two never disagree.
		if ck, err := r.Cookie(sessionCookie); err == nil {
			if _, u, err := c.cfg.Users.Session(r.Context(), sessionHash(ck.Value)); err == nil {
				if err := c.cfg.Users.DeleteSession(r.Context(), sessionHash(ck.Value)); err != nil {
					c.fail(w, r, nil, err)
					return
				}
				c.recordAs(r, u, ActionSignOut, vigil.OutcomeSuccess, map[string]string{"reason": endIdle})
			}
		}
		c.setCookie(w, r, sessionCookie, "", cookiePath, -1, http.SameSiteStrictMode)
	}
	c.renderSignIn(w, r, http.StatusOK, signInData{Message: endMessages[reason]})
}

func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData) {
	seed := ""
	if ck, err := r.Cookie(signInCookie); err == nil && len(ck.Value) == 43 {
		seed = ck.Value
	} else {
		seed = randomToken()
		c.setCookie(w, r, signInCookie, seed, cookiePath, 3600, http.SameSiteStrictMode)
	}
	d.CSRF = c.csrfToken("signin", seed)
	if c.oidc != nil {
		d.OIDC, d.OIDCName = true, c.oidc.cfg.Name
	}
	c.pages.render(w, status, "signin", pageData{Title: "Sign in", Data: d})
}

// signIn checks email, password and TOTP code. Each failure is recorded
// in the audit trail (HIPAA asks that failed access be logged) and
// counted; past the limit, attempts are refused unchecked.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, nil, vigil.Errorf(vigil.EMALFORMED, "the form could not be read"))
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	d := signInData{Email: email}
	ck, err := r.Cookie(signInCookie)
	if err != nil || !equalTokens(r.PostForm.Get("csrf"), c.csrfToken("signin", ck.Value)) {
		d.Error = "The form expired; try again."
		c.renderSignIn(w, r, http.StatusForbidden, d)
		return
	}
	addr := vhttp.ClientAddr(r, c.cfg.TrustedProxies).String()
	account := strings.ToLower(email)
	failed := func(reason string, status int, msg string) {
		c.throttle.fail(account, addr)
		if err := c.recordAs(r, vigil.User{Email: email}, ActionSignIn, vigil.OutcomeFailure,
			map[string]string{"method": "password", "reason": reason}); err != nil {
			c.fail(w, r, nil, err)
			return
		}
		d.Error = msg
		c.renderSignIn(w, r, status, d)
	}
	if !c.throttle.allow(account, addr) {
		failed("throttled", http.StatusTooManyRequests, "Too many failed sign-ins; wait 15 minutes and try again.")
		return
	}
	password, code := r.PostForm.Get("password"), r.PostForm.Get("code")
	u, cred, err := c.cfg.Users.LocalUser(r.Context(), c.cfg.Workspace, email)
	switch {
	case vigil.ErrorCode(err) == vigil.ENOTFOUND:
		CheckPassword(dummyHash, password)
		failed("unknown_user", http.StatusUnauthorized, "The email, password or code is wrong.")
		return
	case err != nil:
		c.fail(w, r, nil, err)
		return
	case !CheckPassword(cred.PasswordHash, password):
		failed("wrong_password", http.StatusUnauthorized, "The email, password or code is wrong.")
		return
	case u.Disabled():
		failed("disabled", http.StatusUnauthorized, "The email, password or code is wrong.")
		return
	}
	secret, err := unseal(c.keys.seal, u.ID, cred.TOTPSecret)
	if err != nil {
		c.log.Error("a TOTP secret does not open with this console secret", "user", u.ID)
		failed("totp_secret_unreadable", http.StatusUnauthorized, "The email, password or code is wrong.")
		return
	}
	step := matchTOTP(string(secret), code, c.cfg.Now())
	if step < 0 {
		failed("wrong_code", http.StatusUnauthorized, "The email, password or code is wrong.")
		return
	}
	if ok, err := c.cfg.Users.UseTOTPStep(r.Context(), u.ID, step); err != nil {
		c.fail(w, r, nil, err)
		return
	} else if !ok {
		failed("replayed_code", http.StatusUnauthorized, "That code was used already; wait for the next one.")
		return
	}
	c.signedIn(w, r, u, "password")
}

// signedIn records a successful sign-in, then starts the session: a
// sign-in that cannot be recorded does not happen.
func (c *Console) signedIn(w http.ResponseWriter, r *http.Request, u vigil.User, method string) {
	if err := c.recordAs(r, u, ActionSignIn, vigil.OutcomeSuccess, map[string]string{"method": method}); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if err := c.startSession(r.Context(), w, r, u); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if method == "password" {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	// After a provider's redirect the navigation is cross-site, and the
	// browser would withhold the SameSite=Strict cookie from a redirect;
	// a page that moves on by itself is a same-site navigation.
	c.pages.render(w, http.StatusOK, "continue", pageData{Title: "Signed in"})
}
