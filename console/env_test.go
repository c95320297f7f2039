package console_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/console"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/fhir"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/report"
	"github.com/vigilhq/vigil/sqlite"
)

// clock is a settable clock for the console and the API.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// setTo moves the clock so that it reads t now (it keeps running).
func (c *clock) setTo(t time.Time) {
	c.mu.Lock()
	c.off = time.Until(t)
	c.mu.Unlock()
}

// env is the API and the console over one real SQLite store, as vigil
// serve mounts them.
type env struct {
	t      testing.TB
	dir    string
	db     *embedded.Store
	srv    *httptest.Server
	clock  *clock
	secret []byte
	admin  string // an admin API key
	ingest string
}

type envOptions struct {
	idle  time.Duration
	oidc  func(base string) *console.OIDCConfig // given the console's URL
	setup func(*console.Config)
}

func newEnv(t testing.TB, opt envOptions) *env {
	t.Helper()
	dir := t.TempDir()
	// A verifier key whose base64 holds a "+" (most do), which a parser
	// splitting on "+" would break on.
	var skey, vkey string
	for strings.Count(vkey, "+") < 3 {
		var err error
		if skey, vkey, err = ledger.GenerateKey("test.vigil"); err != nil {
			t.Fatal(err)
		}
	}
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), LogName: "test.vigil",
		SigningKey: skey, WitnessPath: filepath.Join(dir, "ledger.witness"), Index: fhir.Terms}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnsureWorkspace(context.Background(), "default"); err != nil {
		t.Fatal(err)
	}
	svc, err := report.New(report.Config{Store: db, Source: db, Dir: filepath.Join(dir, "reports"), VerifierKey: vkey,
		Poll: 20 * time.Millisecond, OffHours: report.RuleOffHours(db)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	secret := make([]byte, 32)
	rand.Read(secret)
	vk, err := console.ViewerKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	tokens := vigil.NewViewerTokens(vk)
	clk := &clock{}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	var oidc *console.OIDCConfig
	if opt.oidc != nil {
		oidc = opt.oidc(base)
	}
	api := vhttp.NewServer(vhttp.Config{Store: db, VerifierKey: vkey, Reports: svc, ViewerTokens: tokens, Now: clk.now,
		AlertChannels: []string{"email"}})
	cfg := console.Config{Events: db, Scanner: db, Ledger: db, Keys: db, Users: db, Alerts: db, Reports: svc,
		VerifierKey: vkey, Secret: secret, ViewerTokens: tokens, OIDC: oidc, IdleTimeout: opt.idle, Now: clk.now,
		AlertChannels: []string{"email"}}
	if opt.setup != nil {
		opt.setup(&cfg)
	}
	cons, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = console.Mount(api, cons)
	srv.Start()
	t.Cleanup(func() { srv.Close(); cancel(); <-done; db.Close() })
	e := &env{t: t, dir: dir, db: db, srv: srv, clock: clk, secret: secret}
	e.admin = e.key(vigil.RoleAdmin, "")
	e.ingest = e.key(vigil.RoleIngest, "")
	return e
}

func (e *env) key(role vigil.Role, tenant string) string {
	e.t.Helper()
	_, s, err := vigil.CreateKey(context.Background(), e.db, "default", role, tenant, string(role)+" key", time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// user is a local account and what it signs in with.
type user struct {
	vigil.User
	password, totp string
}

const testPassword = "correct horse battery"

func (e *env) user(email string, role vigil.Role) user {
	e.t.Helper()
	u, cred, uri, err := console.NewLocalUser("default", email, role, testPassword, e.secret, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.CreateUser(context.Background(), u, cred); err != nil {
		e.t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		e.t.Fatal(err)
	}
	return user{User: u, password: testPassword, totp: key.Secret()}
}

// code is the user's TOTP code for a moment; steps tells signings apart
// (each code is accepted once).
func (u user) code(t testing.TB, at time.Time) string {
	c, err := totp.GenerateCode(u.totp, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// send posts events through the API and returns their ids.
func (e *env) send(bodies ...string) []string {
	e.t.Helper()
	var ids []string
	for _, b := range bodies {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/events", strings.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+e.ingest)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			e.t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			e.t.Fatalf("event %s: %d %s", b, resp.StatusCode, body)
		}
		ids = append(ids, regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(string(body))[1])
	}
	return ids
}

// waitCheckpoint waits until the signed log covers n events or more.
func (e *env) waitCheckpoint(n int64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cp, err := e.db.Checkpoint(context.Background(), "default", -1); err == nil && cp.Size >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("no checkpoint of %d events", n)
}

// client is a browser-like HTTP client: a cookie jar, no redirects
// followed unless asked.
type client struct {
	t   testing.TB
	e   *env
	hc  *http.Client
	jar http.CookieJar
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, jar: jar, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, path string, form url.Values, headers ...string) page {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(b)}
}

func (c *client) get(path string, headers ...string) page { return c.do("GET", path, nil, headers...) }

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of a page's forms.
func csrf(t testing.TB, p page) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token on the page (%d): %.300s", p.status, p.body)
	}
	return m[1]
}

// signIn signs u in with a code of the moment at.
func (c *client) signIn(u user, at time.Time) page {
	c.t.Helper()
	form := c.get("/console/signin")
	return c.do("POST", "/console/signin", url.Values{"csrf": {csrf(c.t, form)}, "email": {u.Email},
		"password": {u.password}, "code": {u.code(c.t, at)}})
}

func (c *client) mustSignIn(u user, at time.Time) {
	c.t.Helper()
	p := c.signIn(u, at)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/" {
		c.t.Fatalf("sign-in: %d %s %.500s", p.status, p.header.Get("Location"), p.body)
	}
}

// events returns the workspace's events with an action, newest first.
func (e *env) events(action string) []vigil.Event {
	e.t.Helper()
	page, err := e.db.Events(context.Background(), vigil.Query{Workspace: "default", Action: action, Before: -1, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Events
}

func sqliteAlertOptions() sqlite.AlertOptions { return sqlite.AlertOptions{} }

// watch adds a watchlist rule on an actor and raises its alerts.
func (e *env) watch(actor string) {
	e.t.Helper()
	if _, err := e.db.CreateRule(context.Background(), vigil.AlertRule{Workspace: "default", Name: "watch " + actor, Type: vigil.RuleWatchlist,
		Conditions: []byte(`{"actors":["` + actor + `"]}`), Enabled: true}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.AlertEvaluator(sqlite.AlertOptions{}).Pass(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}
