package storetest

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Clock is the time a store under test reads (its Now), moved by hand, so
// the suites can assert the exact times a store assigns. Readings are whole
// milliseconds: every backend keeps those exactly (PostgreSQL keeps
// microseconds, SQLite nanoseconds).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d (rounded to the millisecond) and returns
// the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d.Round(time.Millisecond))
	return c.t
}

// sameTime fails the test unless got is want, to the nanosecond.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// ensure creates workspaces, failing the test on error.
func ensure(t *testing.T, s interface {
	EnsureWorkspace(ctx context.Context, name string) (bool, error)
}, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := s.EnsureWorkspace(ctx(t), n); err != nil {
			t.Fatalf("EnsureWorkspace(%q): %v", n, err)
		}
	}
}
