package client

import (
	"context"
	"net"
	"net/http"
	"time"
)

// Extractor says who is making a request and what it touches; false means
// the request is not recorded (a health check, a static asset).
type Extractor func(*http.Request) (Event, bool)

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*middleware)

type middleware struct {
	c          *Client
	extract    Extractor
	failClosed bool
	timeout    time.Duration
}

// FailClosed records each request before the handler runs (as Guard) and
// answers 503 without running it when the record cannot be made.
func FailClosed() MiddlewareOption { return func(m *middleware) { m.failClosed = true } }

// RecordTimeout bounds recording one event (default 10s).
func RecordTimeout(d time.Duration) MiddlewareOption { return func(m *middleware) { m.timeout = d } }

// Middleware records one event per request that extract accepts: the
// actor and action from extract, the outcome from the response status
// (2xx and 3xx success; 401 and 403 failure, since denied access must be
// logged; other 4xx minor_failure; 5xx serious_failure), the client's IP
// address and user agent. By default the event is recorded after the
// response; with FailClosed, an attempt is recorded before the handler
// and the result after it.
func Middleware(c *Client, extract Extractor, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	m := &middleware{c: c, extract: extract, timeout: 10 * time.Second}
	for _, o := range opts {
		o(m)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e, ok := m.extract(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			if e.IPAddress == "" {
				if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
					e.IPAddress = host
				}
			}
			if e.UserAgent == "" {
				e.UserAgent = r.UserAgent()
			}
			rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), m.timeout)
			defer cancel()
			if m.failClosed {
				err := m.c.Guard(ctx, e, func() error {
					next.ServeHTTP(rec, r)
					if o := outcomeOf(rec.status); o != Success {
						return statusError(rec.status)
					}
					return nil
				})
				if _, refused := err.(*GuardError); refused {
					m.c.log.Error("middleware: refusing a request that could not be recorded", "err", err)
					http.Error(w, "the access could not be recorded", http.StatusServiceUnavailable)
				}
				return
			}
			next.ServeHTTP(rec, r)
			e.Outcome = outcomeOf(rec.status)
			if _, err := m.c.Track(ctx, e); err != nil {
				m.c.log.Error("middleware: recording a request failed", "err", err)
			}
		})
	}
}

type statusError int

func (s statusError) Error() string    { return http.StatusText(int(s)) }
func (s statusError) Outcome() Outcome { return outcomeOf(int(s)) }

func outcomeOf(status int) Outcome {
	switch {
	case status < 400:
		return Success
	case status == 401 || status == 403:
		return Failure
	case status < 500:
		return MinorFailure
	default:
		return SeriousFailure
	}
}

type statusWriter struct {
	http.ResponseWriter
	status  int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.status, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
