package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/client"
)

// lossyProxy lets the server store the first n event POSTs and then
// loses their answers, by how: "hangup" drops the connection, "503"
// answers 503 with Retry-After: 0.
func lossyProxy(n int, how string) func(http.ResponseWriter, *http.Request, http.Handler) {
	var mu sync.Mutex
	return func(w http.ResponseWriter, r *http.Request, api http.Handler) {
		mu.Lock()
		lose := r.Method == "POST" && n > 0
		if lose {
			n--
		}
		mu.Unlock()
		if !lose {
			api.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r) // stored (or found stored by an earlier try)...
		if rec.Code != http.StatusCreated && rec.Code != http.StatusOK {
			panic("the server did not store the event: " + rec.Body.String())
		}
		if how == "hangup" { // ...but the answer is lost
			hangUp(w)
			return
		}
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
	}
}

// TestRetriesDeduplicate: the server stores the event but the answer is
// lost, twice; the client retries with the same idempotency key and the
// server stores it once, answering the last attempt "duplicate".
func TestRetriesDeduplicate(t *testing.T) {
	for _, how := range []string{"hangup", "503"} {
		t.Run(how, func(t *testing.T) {
			s := newServer(t)
			s.setProxy(lossyProxy(2, how))
			c := mustNew(t, s.url, s.ingest, fastRetry())
			r, err := c.Track(context.Background(), client.Event{ActorID: "dr", Action: "retry.me"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != "duplicate" || s.postCount() != 3 {
				t.Fatalf("receipt %+v after %d attempts: the third should find the event stored", r, s.postCount())
			}
			got := s.stored(t, "retry.me")
			if len(got) != 1 || got[0].ID != r.ID {
				t.Fatalf("stored %d times", len(got))
			}
		})
	}
}

// TestBatchRetriesDeduplicate: the same for a batch, all or nothing.
func TestBatchRetriesDeduplicate(t *testing.T) {
	s := newServer(t)
	s.setProxy(lossyProxy(1, "hangup"))
	c := mustNew(t, s.url, s.ingest, fastRetry())
	events := make([]client.Event, 120)
	for i := range events {
		events[i] = client.Event{ActorID: "svc", Action: "retry.batch"}
	}
	rs, err := c.TrackBatch(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.IdempotencyKey
		if want := map[bool]string{true: "duplicate", false: "stored"}[i < 100]; r.Status != want {
			t.Fatalf("receipt %d: %s, want %s", i, r.Status, want)
		}
	}
	s.deliveredOnce(t, "retry.batch", keys)
}

// TestRetryAfterIsHonoured: 503 and 429 with Retry-After: 1 make the
// client wait a second, not its own 5ms backoff.
func TestRetryAfterIsHonoured(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		s := newServer(t)
		var once sync.Once
		s.setProxy(func(w http.ResponseWriter, r *http.Request, api http.Handler) {
			refused := false
			once.Do(func() {
				refused = true
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(status)
			})
			if !refused {
				api.ServeHTTP(w, r)
			}
		})
		c := mustNew(t, s.url, s.ingest, fastRetry())
		start := time.Now()
		r, err := c.Track(context.Background(), client.Event{ActorID: "dr", Action: "retry.after"})
		if err != nil || r.Status != "stored" {
			t.Fatalf("%d: %+v %v", status, r, err)
		}
		if d := time.Since(start); d < time.Second {
			t.Fatalf("%d: retried after %v despite Retry-After: 1", status, d)
		}
	}
}

// TestValidationErrorsAreNotRetried: a 422 is final.
func TestValidationErrorsAreNotRetried(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest, fastRetry())
	_, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "b", IPAddress: "not-an-address"})
	e := asAPIError(t, err)
	if e.Status != 422 || e.Code != "validation_failed" || len(e.Details) != 1 || e.Details[0].Field != "ip_address" {
		t.Fatalf("error %+v", e)
	}
	if n := s.postCount(); n != 1 {
		t.Fatalf("a 422 was sent %d times", n)
	}
}

// TestRetriesAreBounded: by attempts, and by time however many attempts
// the policy allows; the transport error stays inspectable.
func TestRetriesAreBounded(t *testing.T) {
	s := newServer(t)
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithRetry(client.RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond}))
	_, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "b"})
	if err == nil || s.postCount() != 3 {
		t.Fatalf("%d attempts, %v", s.postCount(), err)
	}
	if _, ok := errors.AsType[*client.Error](err); ok {
		t.Fatalf("a network error surfaced as a server answer: %v", err)
	}
	c = mustNew(t, s.url, s.ingest, client.WithRetry(client.RetryPolicy{MaxAttempts: 1000, Initial: 20 * time.Millisecond, MaxElapsed: 300 * time.Millisecond}))
	start := time.Now()
	if _, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "b"}); err == nil {
		t.Fatal("no error with the server down")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("retried for %v with MaxElapsed 300ms", d)
	}
	// A refused connection is a *net.OpError inside the wrapping.
	dead := mustNew(t, "http://127.0.0.1:1", s.ingest, client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
	_, err = dead.Track(context.Background(), client.Event{ActorID: "a", Action: "b"})
	if _, ok := errors.AsType[*net.OpError](err); !ok {
		t.Fatalf("error %v does not wrap the transport's", err)
	}
}

// TestContextEndsRetries: the caller's context wins over the policy.
func TestContextEndsRetries(t *testing.T) {
	s := newServer(t)
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithRetry(client.RetryPolicy{MaxAttempts: 1000, Initial: 10 * time.Millisecond, MaxElapsed: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Track(ctx, client.Event{ActorID: "a", Action: "b"})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("%v after %v", err, time.Since(start))
	}
}
