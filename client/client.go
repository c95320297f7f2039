// Package client is the Go SDK of Vigil. It records accesses to protected
// health information the way Immutable's SDKs do
// (c.Actor(...).Session(...).Track(...)), and adds what HIPAA's
// "write ahead, never lose a record" asks of the application:
//
//   - every event carries an idempotency key, so retries (exponential
//     backoff with jitter on network errors, 429 and 503) never store it
//     twice (a retry is answered "duplicate"; a key reused with other
//     content is refused with a 409 conflict, which is never retried);
//   - WithSpool keeps a local write-ahead spool: Track returns once the
//     event is fsync'd there, and a background sender delivers it
//     (at least once, which idempotency keys make exactly once on the
//     server) across server outages and process crashes;
//   - Guard runs a function that touches PHI only after its access is on
//     record ("no audit record, no access"), and records the result;
//   - Middleware does the same for HTTP handlers.
//
// It also reads the trail for auditors: Events (an iterator following
// cursors), Event, Verify, Proof, Checkpoint and Consistency.
//
// The package shares only wire types (package api) with the server.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const userAgent = "vigil-go-client/1"

// Client talks to one Vigil server with one API key. It is safe for
// concurrent use; make one and share it.
type Client struct {
	base    *url.URL
	key     string
	http    *http.Client
	timeout time.Duration
	retry   RetryPolicy
	log     *slog.Logger

	spoolDir string
	spoolCfg spoolConfig
	spool    *spool // nil without WithSpool

	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
}

// Option configures a Client.
type Option func(*Client) error

// WithTimeout bounds each HTTP attempt (default 30s); retries have their
// own bound, RetryPolicy.MaxElapsed.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return errors.New("client: WithTimeout: the timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithHTTPClient sends every request through hc (for TLS settings,
// proxies, instrumentation). Its own Timeout, if any, applies too.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("client: WithHTTPClient: nil *http.Client")
		}
		c.http = hc
		return nil
	}
}

// WithRetry sets the retry policy (default DefaultRetry).
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error { c.retry = p.withDefaults(); return nil }
}

// WithLogger sends the client's own diagnostics (retries, spool recovery,
// delivery failures; never event contents or keys) to l. The default
// discards them.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("client: WithLogger: nil logger")
		}
		c.log = l
		return nil
	}
}

// New returns a client for the server at baseURL (such as
// "https://vigil.example.org") that authenticates with apiKey: an ingest
// key to record events, an auditor key to read them. With WithSpool it
// opens the spool, recovers it after a crash and starts delivering what
// an earlier process left in it.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: the base URL %q is not an http(s) URL", baseURL)
	}
	if apiKey == "" {
		return nil, errors.New("client: empty API key")
	}
	// Concurrent Track calls without a spool each hold a connection; the
	// default of two idle connections per host would close and reopen
	// most of them.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	c := &Client{
		base: u, key: apiKey,
		http:    &http.Client{Transport: tr},
		timeout: 30 * time.Second,
		retry:   DefaultRetry,
		log:     slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.spoolDir != "" {
		if c.spool, err = openSpool(c, c.spoolDir, c.spoolCfg); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Close stops the client. With a spool it first waits, until ctx ends,
// for every spooled event to be delivered (as Flush), then stops the
// sender; events still spooled then are delivered by the next client
// opened on the same directory, and the error says how much is left.
// After Close, Track, TrackBatch, Guard and Flush return ErrClosed (reads
// still work); Close itself may be called again and returns the first
// call's result.
func (c *Client) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if c.spool != nil {
			c.closeErr = c.spool.close(ctx)
		}
		c.http.CloseIdleConnections()
	})
	return c.closeErr
}

func (c *Client) isClosed() bool { return c.closed.Load() }
