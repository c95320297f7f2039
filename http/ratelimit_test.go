package http_test

import (
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	vhttp "github.com/vigilhq/vigil/http"
)

func TestKeyRateLimit(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := newEnvWith(t, vhttp.Config{KeyRate: 2, KeyBurst: 3, Now: clock})
	other := e.key("default", vigil.RoleIngest, "")

	for i := range 3 {
		r := e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"rate.test"}`)
		if r.status != 201 {
			t.Fatalf("request %d within the burst: %d %s", i, r.status, r.body)
		}
	}
	r := e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"rate.test"}`)
	if r.status != 429 || r.errorCode(t) != "rate_limited" {
		t.Fatalf("past the burst: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1 (one token every half second)", got)
	}
	// Another key is not held back by the first one's use.
	if r := e.post("/api/v1/events", other, `{"actor_id":"a","action":"rate.test"}`); r.status != 201 {
		t.Fatalf("other key: %d %s", r.status, r.body)
	}
	// Refused requests stored nothing: three events from the first key, one from the other.
	var list struct{ Data []any }
	e.get("/api/v1/events?action=rate.test", e.auditor).json(t, &list)
	if len(list.Data) != 4 {
		t.Fatalf("%d events stored, want 4", len(list.Data))
	}
	// Tokens come back with time.
	now = now.Add(500 * time.Millisecond)
	if r := e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"rate.test"}`); r.status != 201 {
		t.Fatalf("after refill: %d %s", r.status, r.body)
	}
	if r := e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"rate.test"}`); r.status != 429 {
		t.Fatalf("refill gave more than one token: %d", r.status)
	}
}

func TestKeyRateUnlimitedByDefault(t *testing.T) {
	e := newEnv(t)
	for i := range 200 {
		if r := e.get("/api/v1/ledger/key", e.ingest); r.status != 200 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
}
