// Package console serves Vigil's web console for privacy officers,
// auditors and administrators (/console/), and the embeddable read-only
// viewer (/viewer, /viewer.js). Pages are rendered on the server with
// html/template; the little JavaScript there is (the in-browser proof
// check, idle logoff, progress polling, the viewer element) is embedded
// with the templates and served from the same origin, under a strict
// Content-Security-Policy with no inline script or style.
//
// The console reads and writes through the domain interfaces only, and
// records every page view, search, export and download in the audit trail
// as the API records its reads.
package console

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Config configures a Console.
type Config struct {
	// Workspace is the workspace the console shows and its users belong to.
	Workspace string

	Events      vigil.EventStore
	Scanner     vigil.EventScanner // streams events for charts and reports
	Ledger      vigil.Ledger
	Keys        vigil.KeyStore
	Users       vigil.UserStore
	Alerts      vigil.AlertStore    // optional: without it the alert pages say so
	Reports     vigil.ReportService // optional, likewise
	VerifierKey string              // the ledger's note verifier key

	// Secret (at least 32 bytes, kept in the data directory) keys the
	// sealing of TOTP secrets and the CSRF tokens.
	Secret []byte
	// ViewerTokens checks the embeddable viewer's tokens; without it the
	// viewer answers 503.
	ViewerTokens *vigil.ViewerTokens

	// OIDC, when set, offers sign-in through an OpenID Connect provider.
	OIDC *OIDCConfig

	// IdleTimeout ends a session after this long without a user action
	// (default 15 minutes); SessionLifetime ends it whatever the activity
	// (default 12 hours).
	IdleTimeout     time.Duration
	SessionLifetime time.Duration
	// SecureCookies marks cookies Secure even on plain HTTP requests (a
	// TLS-terminating proxy in front); requests over TLS always get them.
	SecureCookies bool
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// SignInFailures bounds failed sign-ins per account in 15 minutes
	// (default 5); an address gets four times as many.
	SignInFailures int

	// AlertChannels and AlertThrottle are the server's, for rule editing.
	AlertChannels []string
	AlertThrottle time.Duration

	Logger *slog.Logger
	Now    func() time.Time
}

// Console is the web console's handler.
type Console struct {
	cfg      Config
	mux      *http.ServeMux
	pages    *pages
	keys     derivedKeys
	throttle *signInThrottle
	oidc     *oidcClient
	log      *slog.Logger
}

// New returns the console over cfg.
func New(cfg Config) (*Console, error) {
	if cfg.Workspace == "" {
		cfg.Workspace = "default"
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 15 * time.Minute
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 12 * time.Hour
	}
	if cfg.SignInFailures <= 0 {
		cfg.SignInFailures = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	keys, err := deriveKeys(cfg.Secret)
	if err != nil {
		return nil, err
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, mux: http.NewServeMux(), pages: p, keys: keys, log: cfg.Logger,
		throttle: newSignInThrottle(cfg.SignInFailures, cfg.Now)}
	if cfg.OIDC != nil {
		if c.oidc, err = newOIDCClient(*cfg.OIDC); err != nil {
			return nil, err
		}
	}
	c.routes()
	return c, nil
}

// ServeHTTP implements http.Handler for /console/, /viewer and /viewer.js.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// Paths are the path patterns the console answers, for a server that
// mounts it beside the API.
var Paths = []string{"/console/", "/viewer", "/viewer.js", "/viewer/events"}

// roles of the console's pages.
var (
	readers  = []vigil.Role{vigil.RoleAuditor, vigil.RolePrivacyOfficer}
	officers = []vigil.Role{vigil.RolePrivacyOfficer}
	admins   = []vigil.Role{vigil.RoleAdmin}
)

func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", c.static()))
	m.HandleFunc("GET /console/signin", c.signInPage)
	m.HandleFunc("POST /console/signin", c.signIn)
	m.HandleFunc("GET /console/oidc/start", c.oidcStart)
	m.HandleFunc("GET /console/oidc/callback", c.oidcCallback)
	m.Handle("POST /console/signout", c.user(nil, c.signOut))
	m.Handle("GET /console/{$}", c.user(nil, c.home))

	m.Handle("GET /console/dashboard", c.user(readers, c.dashboard))
	m.Handle("GET /console/events", c.user(readers, c.events))
	m.Handle("GET /console/events/{id}", c.user(readers, c.event))
	m.Handle("GET /console/events/{id}/proof.json", c.user(readers, c.eventProof))
	m.Handle("GET /console/patients", c.user(readers, c.patient))
	m.Handle("GET /console/sessions", c.user(readers, c.session))
	m.Handle("GET /console/disclosures", c.user(readers, c.disclosures))
	m.Handle("GET /console/alerts", c.user(readers, c.alerts))
	m.Handle("GET /console/alerts/{id}", c.user(readers, c.alert))
	m.Handle("POST /console/alerts/{id}", c.user(officers, c.updateAlert))
	m.Handle("GET /console/reports", c.user(readers, c.reports))
	m.Handle("POST /console/reports", c.user(readers, c.requestReport))
	m.Handle("POST /console/exports", c.user(readers, c.requestExport))
	for _, kind := range []string{"reports", "exports"} {
		m.Handle("GET /console/"+kind+"/{id}/status.json", c.user(readers, c.jobStatus))
		m.Handle("GET /console/"+kind+"/{id}/download", c.user(readers, c.download))
	}
	m.Handle("GET /console/ledger", c.user(readers, c.ledgerPage))
	m.Handle("POST /console/ledger/verify", c.user(readers, c.verifyNow))

	m.Handle("GET /console/admin/keys", c.user(admins, c.keysPage))
	m.Handle("POST /console/admin/keys", c.user(admins, c.createKey))
	m.Handle("POST /console/admin/keys/{id}/revoke", c.user(admins, c.revokeKey))
	m.Handle("GET /console/admin/rules", c.user(admins, c.rulesPage))
	m.Handle("POST /console/admin/rules", c.user(admins, c.createRule))
	m.Handle("POST /console/admin/rules/{id}/{state}", c.user(admins, c.setRuleEnabled))
	m.Handle("GET /console/admin/users", c.user(admins, c.usersPage))
	m.Handle("POST /console/admin/users", c.user(admins, c.createUser))
	m.Handle("POST /console/admin/users/{id}/disable", c.user(admins, c.disableUser))
	m.HandleFunc("/console/", c.notFound)

	m.HandleFunc("GET /viewer", c.viewerPage)
	m.HandleFunc("GET /viewer.js", c.viewerScript)
	m.HandleFunc("GET /viewer/events", c.viewerEvents)
	m.HandleFunc("OPTIONS /viewer/events", c.viewerPreflight)
}

// static serves the embedded scripts and styles (files only, no listing).
func (c *Console) static() http.Handler {
	sub, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err) // the directory is embedded
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// Mount serves the console beside another handler (the API): the
// console's paths go to c, everything else to h.
func Mount(h http.Handler, c *Console) http.Handler {
	mux := http.NewServeMux()
	for _, p := range Paths {
		mux.Handle(p, c)
	}
	mux.Handle("/", h)
	return mux
}
