package http_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/api"
	vhttp "github.com/vigilhq/vigil/http"
)

// FuzzCreateEvent sends arbitrary bodies to POST /api/v1/events: every
// answer is 201 or a documented 4xx JSON error, never a 5xx.
func FuzzCreateEvent(f *testing.F) {
	for _, s := range []string{seedViewed, seedPrescription, `{"actor_id":"a","action":"b","metadata":{"n":1e400}}`,
		`{"actor_id":"a","action":"b","targets":[{"type":"t","id":"i","metadata":[]}]}`, `{"version":1.5,"actor_id":"a","action":"b"}`, `[]`, `"\ud800"`} {
		f.Add(s)
	}
	e := newEnvFuzz(f)
	f.Fuzz(func(t *testing.T, body string) {
		e.t = t
		r := e.post("/api/v1/events", e.ingest, body)
		switch {
		case r.status == 201:
		case r.status >= 400 && r.status < 500:
			r.errorCode(t)
		default:
			t.Fatalf("status %d for %q: %s", r.status, body, r.body)
		}
	})
}

// FuzzQuery sends arbitrary query strings to GET /api/v1/events.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"actor_id=a&limit=5", "cursor=YzEuNQ", "from=2024-01-01&to=2024-01-02", "action=*.x*", "search=%25_", "limit=0", "outcome=failure"} {
		f.Add(s)
	}
	e := newEnvFuzz(f)
	f.Fuzz(func(t *testing.T, q string) {
		e.t = t
		if _, err := url.ParseQuery(q); err != nil || strings.ContainsFunc(q, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' }) {
			return // not a query string a client could send
		}
		r := e.get("/api/v1/events?"+q, e.auditor)
		if r.status != 200 && (r.status < 400 || r.status >= 500) {
			t.Fatalf("status %d for %q: %s", r.status, q, r.body)
		}
		if r.status != 200 {
			r.errorCode(t)
		}
	})
}

// newEnvFuzz is newEnv for a fuzz target: one server for all inputs,
// without the throttle on failed authentication.
func newEnvFuzz(f *testing.F) *env {
	return newEnvWith(f, vhttp.Config{AuthFailuresPerMinute: 1 << 30})
}

// FuzzCursor sends cursors made of arbitrary bytes, and of the cursor
// prefix followed by arbitrary text, to GET /api/v1/events: each is either
// refused with 422 naming the cursor or answers a page of events before it
// (only a cursor bound to this listing can).
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"c1.5", "c1.-1", "c1.99999999999999999999", "c1.", "c1.0x10", "", "\x00", "c1.1e3", "e2.5.AAAAAAAAAAAAAAAAAAAAAA", "e2.", "e2..", "e2.-1.x", "a2.5.AAAA"} {
		f.Add(s)
	}
	e := newEnvFuzz(f)
	for range 3 {
		e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"cursor.fuzz"}`)
	}
	// A cursor the server issued for this listing, to mutate from: its
	// position may change (the caller's own listing, started elsewhere),
	// its binding may not.
	var page api.EventList
	e.get("/api/v1/events?action=cursor.fuzz&limit=1", e.auditor).json(f, &page)
	if page.Pagination.NextCursor == nil {
		f.Fatal("no cursor issued")
	}
	issued, err := base64.RawURLEncoding.DecodeString(*page.Pagination.NextCursor)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(issued))
	f.Fuzz(func(t *testing.T, raw string) {
		e.t = t
		r := e.get("/api/v1/events?action=cursor.fuzz&cursor="+base64.RawURLEncoding.EncodeToString([]byte(raw)), e.auditor)
		switch r.status {
		case 200:
			var list api.EventList
			r.json(t, &list)
			if len(list.Data) > 3 {
				t.Fatalf("a cursor %q gave %d events", raw, len(list.Data))
			}
		case 422:
			if r.errorCode(t) != "validation_failed" || !strings.Contains(string(r.body), `"field":"cursor"`) {
				t.Fatalf("cursor %q refused with %s", raw, r.body)
			}
		default:
			t.Fatalf("cursor %q: status %d %s", raw, r.status, r.body)
		}
	})
}
