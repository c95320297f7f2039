// Package client is the Go SDK of Vigil: a fluent client for recording
// PHI-access events, with retries that never duplicate, a durable spool
// for at-least-once delivery, a fail-closed guard ("no audit record, no
// access") and HTTP middleware. It shares only wire types (package api)
// with the server.
package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to one Vigil server with one API key. It is safe for
// concurrent use.
type Client struct {
	base   *url.URL
	key    string
	http   *http.Client
	retry  RetryPolicy
	log    *slog.Logger
	spool  *spool
	spoolC spoolConfig
}

// Option configures a Client.
type Option func(*Client) error

// WithTimeout bounds each HTTP attempt (default 30s).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return errors.New("client: timeout must be positive")
		}
		c.http.Timeout = d
		return nil
	}
}

// WithHTTPClient uses hc for every request.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("client: nil http.Client")
		}
		c.http = hc
		return nil
	}
}

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error { c.retry = p; return nil }
}

// WithLogger sends the client's own diagnostics (never event contents or
// keys) to l.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error { c.log = l; return nil }
}

// WithSpool makes Track durable locally: it returns once the event is
// appended and fsync'd in dir, and a background sender ships spooled
// events and forgets them only after the server acknowledged them.
// maxBytes bounds the spool (0 means 256 MiB); past it, Track returns
// ErrSpoolFull.
func WithSpool(dir string, maxBytes int64) Option {
	return func(c *Client) error {
		if dir == "" {
			return errors.New("client: empty spool directory")
		}
		if maxBytes <= 0 {
			maxBytes = 256 << 20
		}
		c.spoolC = spoolConfig{dir: dir, maxBytes: maxBytes}
		return nil
	}
}

// New returns a client for the server at baseURL (e.g.
// "https://vigil.example.org") using apiKey.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q is not an http(s) URL", baseURL)
	}
	if apiKey == "" {
		return nil, errors.New("client: empty API key")
	}
	c := &Client{base: u, key: apiKey, http: &http.Client{Timeout: 30 * time.Second},
		retry: DefaultRetry, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.spoolC.dir != "" {
		if c.spool, err = openSpool(c, c.spoolC); err != nil {
			return nil, err
		}
	}
	return c, nil
}
