package console_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/console"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// roleStorage is the example OpenID Provider's storage with a role claim
// in each user's userinfo: id1 is a privacy officer, id2 has no Vigil role.
type roleStorage struct{ *storage.Storage }

func (s roleStorage) addRole(info *zoidc.UserInfo, subject string) {
	if subject == "id1" {
		info.AppendClaims("vigil_role", []string{"staff", "privacy_officer"})
	}
}

func (s roleStorage) SetUserinfoFromToken(ctx context.Context, info *zoidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	s.addRole(info, info.Subject)
	return nil
}

func (s roleStorage) SetUserinfoFromRequest(ctx context.Context, info *zoidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, token, scopes); err != nil {
		return err
	}
	s.addRole(info, token.GetSubject())
	return nil
}

// startProvider starts a real OpenID Provider (zitadel/oidc's, with its
// example login page and storage) that knows the console as a client.
func startProvider(t *testing.T, redirect string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	st := storage.NewStorageWithClients(storage.NewUserStore(issuer),
		map[string]*storage.Client{"vigil-console": storage.WebClient("vigil-console", "console-secret", redirect)})
	srv.Config.Handler = exampleop.SetupServer(issuer, roleStorage{st}, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

// TestBrowserOIDC: a user of the provider signs in through its login page;
// the role comes from the configured claim; a user without a Vigil role
// is refused, and both outcomes are recorded.
func TestBrowserOIDC(t *testing.T) {
	b := newBrowser(t)
	var issuer string
	e := newEnv(t, envOptions{oidc: func(base string) *console.OIDCConfig {
		issuer = startProvider(t, base+"/console/oidc/callback")
		return &console.OIDCConfig{Issuer: issuer, ClientID: "vigil-console", ClientSecret: "console-secret",
			RedirectURL: base + "/console/oidc/callback", RoleClaim: "vigil_role", Name: "Example IdP"}
	}})
	host := strings.Split(strings.TrimPrefix(issuer, "http://"), ":")[0]
	signIn := func(t *testing.T, username string) *tab {
		tb := b.tab(t)
		tb.do(chromedp.Navigate(e.srv.URL+"/console/signin"), chromedp.Click(chromedp.CSS(`#oidc`)))
		tb.waitFor(`location.href.startsWith("`+issuer+`") && document.getElementById("username") !== null`, 10*time.Second)
		tb.do(chromedp.SendKeys(chromedp.CSS(`#username`), username), chromedp.SendKeys(chromedp.CSS(`#password`), "verysecure"),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
		tb.waitFor(`location.href.startsWith("`+e.srv.URL+`") && document.readyState === "complete" && (!location.pathname.startsWith("/console/oidc/") || document.getElementById("signin-error") !== null)`, 15*time.Second)
		return tb
	}

	t.Run("a privacy officer signs in", func(t *testing.T) {
		tb := signIn(t, "test-user@"+host)
		if h := tb.text("h1"); h != "Dashboard" {
			t.Fatalf("after the provider's sign-in: %q at %s", h, tb.location())
		}
		if who := tb.text("form.who"); !strings.Contains(who, "test-user@zitadel.ch") || !strings.Contains(who, "privacy_officer") {
			t.Fatalf("signed in as %q", who)
		}
		users, err := e.db.Users(context.Background(), "default")
		if err != nil || len(users) != 1 || users[0].Issuer != issuer || users[0].Subject != "id1" || users[0].Role != vigil.RolePrivacyOfficer {
			t.Fatalf("users after the sign-in: %+v %v", users, err)
		}
	})

	t.Run("a user without a Vigil role is refused", func(t *testing.T) {
		tb := signIn(t, "test-user2")
		if s := tb.text("#signin-error"); !strings.Contains(s, "no Vigil role") {
			t.Fatalf("refusal says %q", s)
		}
		tb.do(chromedp.Navigate(e.srv.URL + "/console/events"))
		if loc := tb.location(); !strings.HasSuffix(loc, "/console/signin") {
			t.Fatalf("a refused user reached %s", loc)
		}
	})

	outcomes := map[vigil.Outcome]int{}
	for _, ev := range e.events("vigil.console.signin") {
		if strings.Contains(string(ev.Metadata), `"method":"oidc"`) {
			outcomes[ev.Outcome]++
		}
	}
	if outcomes[vigil.OutcomeSuccess] != 1 || outcomes[vigil.OutcomeFailure] != 1 {
		t.Fatalf("OIDC sign-ins recorded: %v", outcomes)
	}
}
