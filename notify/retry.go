package notify

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// Policy is how an outbox retries a delivery: exponential backoff with
// jitter, up to a number of attempts.
type Policy struct {
	Initial  time.Duration // the wait after the first failed attempt, before jitter
	Max      time.Duration // the longest wait
	Attempts int           // attempts in all, the first included
}

// DefaultPolicy waits about 5 s, 10 s, 20 s, ... up to an hour between
// attempts and gives up after 20 attempts, some 11 hours after the first:
// long enough to ride out a mail server's maintenance window, short
// enough that a dead channel is reported the same day.
var DefaultPolicy = Policy{Initial: 5 * time.Second, Max: time.Hour, Attempts: 20}

// Backoff returns DefaultPolicy's wait after the attempt-th failed
// attempt (1 for the first).
func Backoff(attempt int) time.Duration { return DefaultPolicy.Backoff(attempt) }

// Backoff returns the wait after the attempt-th failed attempt (1 for the
// first): Initial doubled per attempt, capped at Max, then jittered to a
// random point in its upper half. Jitter spreads the retries of many
// alerts that failed together (a mail server restart); keeping the lower
// half out keeps the growth that gives the server time to recover.
func (p Policy) Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := p.Max
	if attempt <= 62 && p.Initial > 0 && p.Initial <= p.Max>>(attempt-1) {
		d = p.Initial << (attempt - 1)
	}
	if d <= 1 {
		return d
	}
	half := d / 2
	return d - half + rand.N(half+1)
}

// Retry decides what follows the attempt-th failed attempt: the wait
// before the next one and true, or false when err is nil or permanent or
// the attempts are used up. A server's Retry-After (429, 503) lengthens
// the wait, within Max.
func (p Policy) Retry(attempt int, err error) (time.Duration, bool) {
	if err == nil || Permanent(err) || attempt >= p.Attempts {
		return 0, false
	}
	wait := p.Backoff(attempt)
	var h *HTTPError
	if errors.As(err, &h) && h.RetryAfter > wait {
		wait = min(h.RetryAfter, p.Max)
	}
	return wait, true
}

// PermanentError marks an error that retrying cannot cure: a rejected
// recipient, failed authentication, a webhook answering 4xx, a
// configuration the server does not support.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports whether err is permanent: a PermanentError, or an
// HTTPError whose status retrying cannot change (3xx, and 4xx other than
// 408 Request Timeout and 429 Too Many Requests). Everything else
// (network errors, timeouts, cancellation, 5xx) is worth retrying.
func Permanent(err error) bool {
	var p *PermanentError
	if errors.As(err, &p) {
		return true
	}
	var h *HTTPError
	if errors.As(err, &h) {
		return permanentStatus(h.StatusCode)
	}
	return false
}

func permanentStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return false
	case code >= 300 && code < 500:
		// Redirects are not followed (a signed POST must reach the URL
		// configured) and will not go away by themselves either.
		return true
	}
	return false
}

// HTTPError is a webhook's answer other than 2xx.
type HTTPError struct {
	StatusCode int
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Body is the start of the answer, for the operator.
	Body string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("notify: webhook answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}
