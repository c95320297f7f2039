package client

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Extractor says who makes a request and what it touches, as an Event
// (actor, action, resource, patient, purpose...); false means the request
// is not recorded (a health check, a static asset). It runs before the
// handler. It may set IPAddress itself, from a header your own trusted
// proxy sets; otherwise the connection's address is used.
type Extractor func(*http.Request) (Event, bool)

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*middleware)

type middleware struct {
	c          *Client
	extract    Extractor
	failClosed bool
	timeout    time.Duration
	refused    http.Handler
}

// FailClosed records each request before its handler runs, as Guard does,
// and answers 503 without running the handler when the record cannot be
// made ("no audit record, no access").
func FailClosed() MiddlewareOption { return func(m *middleware) { m.failClosed = true } }

// RecordTimeout bounds the recording of one event (default 10s).
func RecordTimeout(d time.Duration) MiddlewareOption { return func(m *middleware) { m.timeout = d } }

// Refused sets the handler that answers requests FailClosed refuses
// (default: 503 with a plain-text message and Retry-After: 5).
func Refused(h http.Handler) MiddlewareOption { return func(m *middleware) { m.refused = h } }

// Middleware records the requests extract accepts, with the outcome
// taken from the response status:
//
//	1xx-3xx   success
//	401, 403  failure: denied access, which HIPAA wants logged
//	other 4xx minor_failure (a malformed or unknown request: FHIR's 4)
//	5xx       failure (FHIR's 8, "often equivalent to an HTTP 500")
//	panic     serious_failure (FHIR's 12; the panic goes on)
//
// and metadata "http.method" and "http.status" (but for a panic) added to
// the extractor's.
// The client's IP address (the connection's, unless the extractor set
// one) and user agent are recorded too.
//
// By default it records one event per request, after the handler: a
// request it cannot record is logged (WithLogger) and still served. With
// FailClosed it records two, as Guard: the attempt before the handler
// (refusing the request with 503 if that fails) and the result after.
//
// Recording is synchronous, so that it is bounded and never piles up in
// memory: with a spool it costs a shared fsync per request; without one,
// a round trip to the server, and during an outage up to RecordTimeout.
// Use WithSpool for busy services.
func Middleware(c *Client, extract Extractor, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	m := &middleware{c: c, extract: extract, timeout: 10 * time.Second}
	for _, o := range opts {
		o(m)
	}
	if m.refused == nil {
		m.refused = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "the access could not be recorded in the audit trail, so it was not allowed", http.StatusServiceUnavailable)
		})
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
			e.Metadata = withMeta(e.Metadata, map[string]any{"http.method": r.Method})
			if m.failClosed {
				m.guarded(w, r, next, e)
				return
			}
			m.recorded(w, r, next, e)
		})
	}
}

// recorded serves the request, then records it.
func (m *middleware) recorded(w http.ResponseWriter, r *http.Request, next http.Handler, e Event) {
	sw := &statusWriter{ResponseWriter: w}
	record := func(o Outcome) {
		// The client may have gone: record what happened all the same.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), m.timeout)
		defer cancel()
		e.Outcome = o
		if o != SeriousFailure { // a panicking handler has no status of its own
			e.Metadata = withMeta(e.Metadata, map[string]any{"http.status": sw.code()})
		}
		if _, err := m.c.Track(ctx, e); err != nil {
			m.c.log.Error("vigil client: middleware: recording a request failed", "method", r.Method, "err", err)
		}
	}
	defer func() {
		if v := recover(); v != nil {
			record(SeriousFailure)
			panic(v)
		}
	}()
	next.ServeHTTP(sw, r)
	record(outcomeOf(sw.code()))
}

// guarded records the attempt, serves the request only if that worked,
// then records the result.
func (m *middleware) guarded(w http.ResponseWriter, r *http.Request, next http.Handler, e Event) {
	ctx, cancel := context.WithTimeout(r.Context(), m.timeout)
	defer cancel()
	sw := &statusWriter{ResponseWriter: w}
	err := m.c.guard(ctx, e, m.timeout, func() (map[string]any, error) {
		next.ServeHTTP(sw, r)
		extra := map[string]any{"http.status": sw.code()}
		if o := outcomeOf(sw.code()); o != Success {
			return extra, &OutcomeError{Outcome: o, Err: fmt.Errorf("HTTP %d", sw.code())}
		}
		return extra, nil
	})
	if ge, refused := err.(*GuardError); refused {
		m.c.log.Error("vigil client: middleware: refusing a request that could not be recorded", "method", r.Method, "err", ge)
		m.refused.ServeHTTP(w, r)
	} else if err != nil {
		if _, handled := err.(*OutcomeError); !handled {
			m.c.log.Error("vigil client: middleware: recording a request's result failed", "method", r.Method, "err", err)
		}
	}
}

func outcomeOf(status int) Outcome {
	switch {
	case status < 400:
		return Success
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Failure
	case status < 500:
		return MinorFailure
	default:
		return Failure
	}
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK // what net/http sends for a handler that set none
	}
	return w.status
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
