package client

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy bounds how a request is retried after a network error or a
// temporary answer (429, 502, 503, 504). Other answers, 4xx validation
// errors above all, are never retried. Retrying a write is safe because
// every event carries an idempotency key.
//
// Zero fields take the defaults of DefaultRetry; MaxAttempts 1 disables
// retries.
type RetryPolicy struct {
	MaxAttempts int           // attempts including the first (default 5)
	Initial     time.Duration // backoff before the first retry (default 100ms), doubling
	Max         time.Duration // largest backoff (default 5s)
	MaxElapsed  time.Duration // no retry starts later than this after the first attempt (default 30s)
}

// DefaultRetry is the policy of a client without WithRetry.
var DefaultRetry = RetryPolicy{MaxAttempts: 5, Initial: 100 * time.Millisecond, Max: 5 * time.Second, MaxElapsed: 30 * time.Second}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if p.Initial <= 0 {
		p.Initial = DefaultRetry.Initial
	}
	if p.Max <= 0 {
		p.Max = DefaultRetry.Max
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = DefaultRetry.MaxElapsed
	}
	return p
}

// backoff is the wait before retry n (1-based): exponential with "equal
// jitter" (half fixed, half random), so that clients that failed together
// spread out without any of them retrying almost at once.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.Initial << min(n-1, 30)
	if d <= 0 || d > p.Max {
		d = p.Max
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// It reports false when there is none.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
