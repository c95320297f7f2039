package client

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy says how often and how long to retry network errors, 429
// and 503 answers. Other 4xx answers are never retried.
type RetryPolicy struct {
	MaxAttempts int           // including the first (default 5)
	Initial     time.Duration // first backoff (default 100ms)
	Max         time.Duration // largest backoff (default 5s)
}

// DefaultRetry is the policy of a new client.
var DefaultRetry = RetryPolicy{MaxAttempts: 5, Initial: 100 * time.Millisecond, Max: 5 * time.Second}

// backoff is the wait before attempt n (1-based retries): exponential with
// full jitter, or the server's Retry-After when it gave one.
func (p RetryPolicy) backoff(n int, resp *http.Response) time.Duration {
	if resp != nil {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, max(p.Max, time.Second))
		}
	}
	d := p.Initial << min(n-1, 20)
	if d <= 0 || d > p.Max {
		d = p.Max
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func (p RetryPolicy) attempts() int {
	if p.MaxAttempts < 1 {
		return 1
	}
	return p.MaxAttempts
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
