package client_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/client"
)

// TestTrackConflict: an idempotency key reused with other content is
// refused for good (409 conflict), answered at once and not retried; the
// same content again is a duplicate, which is success.
func TestTrackConflict(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest, fastRetry())
	defer c.Close(context.Background())
	at := time.Date(2024, 6, 15, 8, 30, 0, 0, time.UTC)
	e := client.Event{ActorID: "a", Action: "track.conflict", IdempotencyKey: "rx-1", OccurredAt: at, Metadata: map[string]any{"dose": 1}}
	first, err := c.Track(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Track(context.Background(), e)
	if err != nil || again.Status != "duplicate" || again.ID != first.ID {
		t.Fatalf("the same event again = %+v, %v; want a duplicate of %s", again, err, first.ID)
	}
	before := s.postCount()
	e.Metadata = map[string]any{"dose": 2}
	_, err = c.Track(context.Background(), e)
	ae := asAPIError(t, err)
	if ae.Status != 409 || ae.Code != "conflict" || ae.Temporary() || !strings.Contains(ae.Message, "sequence") {
		t.Fatalf("other content under the key: %v", err)
	}
	if n := s.postCount() - before; n != 1 {
		t.Fatalf("a conflict was sent %d times, want once", n)
	}
}

// TestSpoolSetsAsideConflicts: a spooled event whose key the server
// already holds with other content is set aside in rejected.jsonl with
// the server's answer, like an invalid one, instead of being retried
// forever; the events around it are delivered, a duplicate among them
// counting as delivered.
func TestSpoolSetsAsideConflicts(t *testing.T) {
	s := newServer(t)
	at := time.Date(2024, 6, 15, 8, 30, 0, 0, time.UTC)
	held := client.Event{ActorID: "a", Action: "spool.conflict", IdempotencyKey: "held", OccurredAt: at, Metadata: map[string]any{"v": 1}}
	direct := mustNew(t, s.url, s.ingest, fastRetry())
	if _, err := direct.Track(context.Background(), held); err != nil {
		t.Fatal(err)
	}
	direct.Close(context.Background())

	dir := t.TempDir()
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithSpool(dir), fastRetry())
	keys := []string{"held"}
	for i := range 6 {
		e := client.Event{ActorID: "a", Action: "spool.conflict"}
		switch i {
		case 2:
			e = held // the same event: a duplicate
		case 4:
			e = held
			e.Metadata = map[string]any{"v": 2} // other content under its key
		}
		r, err := c.Track(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		if i != 2 && i != 4 {
			keys = append(keys, r.IdempotencyKey)
		}
	}
	s.setDown(false)
	if err := c.Close(ctxT(t, 30*time.Second)); err != nil {
		t.Fatalf("Close: %v (a conflict must not be retried forever)", err)
	}
	s.deliveredOnce(t, "spool.conflict", keys)
	rejected, err := os.ReadFile(filepath.Join(dir, "rejected.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(rejected)), "\n")
	if err != nil || len(lines) != 1 || !strings.Contains(lines[0], `"status":409`) || !strings.Contains(lines[0], `"error":"conflict"`) ||
		!strings.Contains(lines[0], `"v":2`) {
		t.Fatalf("rejected.jsonl: %s %v", rejected, err)
	}
	if st := c.SpoolStats(); st.Rejected != 1 || st.Delivered != 5 {
		t.Fatalf("stats %+v, want 1 rejected and 5 delivered", st)
	}
}
