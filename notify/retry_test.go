package notify_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vigilhq/vigil/notify"
)

func TestBackoff(t *testing.T) {
	p := notify.Policy{Initial: 5 * time.Second, Max: time.Hour, Attempts: 20}
	for attempt := 1; attempt <= 100; attempt++ {
		ceiling := p.Initial
		for i := 1; i < attempt && ceiling < p.Max; i++ {
			ceiling *= 2
		}
		ceiling = min(ceiling, p.Max)
		seen := map[time.Duration]bool{}
		for range 50 {
			d := p.Backoff(attempt)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", attempt, d, ceiling/2, ceiling)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("Backoff(%d) took only %d values in 50 draws: no jitter?", attempt, len(seen))
		}
	}
	if d := notify.Backoff(0); d < 2500*time.Millisecond || d > 5*time.Second {
		t.Errorf("Backoff(0) = %s, want the first attempt's", d)
	}
	if d := notify.Backoff(1 << 30); d < 30*time.Minute || d > time.Hour {
		t.Errorf("Backoff(huge) = %s, want capped at an hour", d)
	}
}

func TestDefaultPolicyTotal(t *testing.T) {
	// The documented "some 11 hours": the ceilings of all waits.
	var total time.Duration
	p := notify.DefaultPolicy
	for attempt := 1; attempt < p.Attempts; attempt++ {
		total += min(p.Initial<<min(attempt-1, 30), p.Max)
	}
	if total < 10*time.Hour || total > 12*time.Hour {
		t.Errorf("DefaultPolicy spans %s", total)
	}
}

func TestPermanent(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("connection refused"), false},
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{&notify.PermanentError{Err: errors.New("550 no such user")}, true},
		{fmt.Errorf("wrapped: %w", &notify.PermanentError{Err: errors.New("x")}), true},
		{&notify.HTTPError{StatusCode: 404}, true},
		{fmt.Errorf("wrapped: %w", &notify.HTTPError{StatusCode: 429}), false},
		{&notify.HTTPError{StatusCode: 408}, false},
		{&notify.HTTPError{StatusCode: 500}, false},
	} {
		if got := notify.Permanent(tt.err); got != tt.want {
			t.Errorf("Permanent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestPolicyRetry(t *testing.T) {
	p := notify.Policy{Initial: time.Second, Max: time.Minute, Attempts: 3}
	temp := errors.New("connection reset")
	if w, ok := p.Retry(1, temp); !ok || w < 500*time.Millisecond || w > time.Second {
		t.Errorf("Retry(1) = %s, %v", w, ok)
	}
	if w, ok := p.Retry(2, temp); !ok || w < time.Second || w > 2*time.Second {
		t.Errorf("Retry(2) = %s, %v", w, ok)
	}
	if _, ok := p.Retry(3, temp); ok {
		t.Error("Retry after the last attempt")
	}
	if _, ok := p.Retry(1, &notify.HTTPError{StatusCode: 400}); ok {
		t.Error("Retry of a permanent error")
	}
	if _, ok := p.Retry(1, nil); ok {
		t.Error("Retry of a success")
	}
	if w, ok := p.Retry(1, &notify.HTTPError{StatusCode: 503, RetryAfter: time.Hour}); !ok || w != time.Minute {
		t.Errorf("Retry-After beyond Max: %s, %v; want Max", w, ok)
	}
}
