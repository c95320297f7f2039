// Package http serves Vigil's REST API: authentication, strict decoding,
// the routes, and the single table that maps errors to statuses.
package http

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vigilhq/vigil"
)

// Store is what the server needs of storage.
type Store interface {
	vigil.EventStore
	vigil.KeyStore
	vigil.Ledger
	vigil.Findings
	Ready(ctx context.Context) error
}

// Config configures a Server.
type Config struct {
	Store  Store
	Logger *slog.Logger

	// VerifierKey is the ledger's note verifier key, served to auditors.
	VerifierKey string

	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix

	BatchLimit   int   // events per batch request (default 100)
	MaxBodyBytes int64 // request body limit (default 1 MiB + batch allowance)

	// Registry receives the server's metrics; nil means a new registry.
	Registry *prometheus.Registry

	// AuthFailuresPerMinute bounds failed authentications per source
	// address; zero means 30.
	AuthFailuresPerMinute int

	// KeyCacheTTL is how long an authenticated key is remembered; a key
	// revoked outside this server stops working within it. Zero means one
	// second; negative disables the cache.
	KeyCacheTTL time.Duration

	// KeyRate bounds the requests per second of each API key (a token
	// bucket of KeyBurst); past it the key gets 429 with Retry-After.
	// Zero means unlimited.
	KeyRate  float64
	KeyBurst int
	// Alerts keeps alert rules and alerts; when nil, the Store's if it
	// is one. AlertChannels are the configured channel names rules may
	// name, and AlertThrottle the throttle period of rules that set none.
	Alerts        vigil.AlertStore
	AlertChannels []string
	AlertThrottle time.Duration
	// Anchors serves the anchors of checkpoints and anchors on demand;
	// without it their routes answer 503.
	Anchors vigil.AnchorService
	// Reports generates and serves reports and exports; without it their
	// routes answer 503.
	Reports vigil.ReportService
	// DownloadSecret signs expiring export download links (HMAC-SHA256);
	// without it exports are downloaded with a key only.
	DownloadSecret []byte
	// DownloadLinkTTL is how long a signed download link works (default
	// one hour, never past the end of the export's record).
	DownloadLinkTTL time.Duration
	// PublicURL is the URL clients reach the server at (ParsePublicURL's
	// form), which download links start with; without it they are built
	// from each request (see absoluteURL).
	PublicURL string
	// Retention keeps the workspaces' retention policies, and Holds their
	// legal holds; when nil, the Store's if it is one; without them their
	// routes answer 503.
	Retention vigil.RetentionStore
	Holds     vigil.LegalHolds
	// ViewerTokens mints the embeddable viewer's tokens; without it
	// POST /api/v1/viewer-token answers 503.
	ViewerTokens *vigil.ViewerTokens

	Now func() time.Time
}

// Server is the HTTP face of a store.
type Server struct {
	cfg     Config
	store   Store
	logger  *slog.Logger
	metrics *metrics
	mux     *http.ServeMux
	limits  *authLimiter
	rates   *keyLimiter
	keys    *keyCache
	routes  []route
}

// NewServer builds a server over cfg.Store.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BatchLimit <= 0 {
		cfg.BatchLimit = vigil.DefaultBatchLimit
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = int64(cfg.BatchLimit)*int64(vigil.MaxEventBytes) + 1<<20
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.AuthFailuresPerMinute <= 0 {
		cfg.AuthFailuresPerMinute = 30
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Alerts == nil {
		cfg.Alerts, _ = cfg.Store.(vigil.AlertStore)
	}
	if cfg.Retention == nil {
		cfg.Retention, _ = cfg.Store.(vigil.RetentionStore)
	}
	if cfg.Holds == nil {
		cfg.Holds, _ = cfg.Store.(vigil.LegalHolds)
	}
	if cfg.KeyCacheTTL == 0 {
		cfg.KeyCacheTTL = time.Second
	}
	s := &Server{
		cfg:     cfg,
		store:   cfg.Store,
		logger:  cfg.Logger,
		metrics: newMetrics(cfg.Registry),
		mux:     http.NewServeMux(),
		limits:  newAuthLimiter(cfg.AuthFailuresPerMinute, cfg.Now),
		keys:    newKeyCache(cfg.KeyCacheTTL, cfg.Now),
		rates:   newKeyLimiter(cfg.KeyRate, cfg.KeyBurst, cfg.Now),
	}
	if cfg.Store != nil {
		cfg.Registry.MustRegister(breaksCollector{cfg.Store})
	}
	s.registerRoutes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Routes lists every route the server answers, as "METHOD /path".
func (s *Server) Routes() []string {
	out := make([]string, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}

// RouteRoles returns the roles allowed on a route given as in Routes;
// nil for a route open without a key.
func (s *Server) RouteRoles(route string) []vigil.Role {
	for _, rt := range s.routes {
		if rt.method+" "+rt.path == route {
			return rt.roles
		}
	}
	return nil
}

// Registry returns the registry holding the server's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.cfg.Registry }
