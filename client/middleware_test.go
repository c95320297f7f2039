package client_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/vigilhq/vigil/client"
)

func recordsExtractor(r *http.Request) (client.Event, bool) {
	if r.URL.Path == "/healthz" {
		return client.Event{}, false
	}
	return client.Event{ActorID: r.Header.Get("X-User"), Action: "http.records." + r.Method,
		Resource: client.Resource{Type: "path", ID: r.URL.Path}}, true
}

var recordsApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/unauthenticated":
		w.WriteHeader(http.StatusUnauthorized)
	case "/denied":
		http.Error(w, "no", http.StatusForbidden)
	case "/missing":
		http.NotFound(w, r)
	case "/broken":
		w.WriteHeader(http.StatusInternalServerError)
	case "/panics":
		panic("handler bug")
	default:
		w.Write([]byte("ok")) // an implicit 200
	}
})

func get(h http.Handler, path, user string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("X-User", user)
	req.Header.Set("User-Agent", "browser/1")
	rec := httptest.NewRecorder()
	func() {
		defer func() { recover() }() // net/http would recover a panicking handler
		h.ServeHTTP(rec, req)
	}()
	return rec
}

// TestMiddlewareRecordsOutcomes: one event per request, denied access as
// failure, the client's address and agent, health checks not at all.
func TestMiddlewareRecordsOutcomes(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest, fastRetry())
	h := client.Middleware(c, recordsExtractor)(recordsApp)
	want := map[string]struct {
		outcome client.Outcome
		status  string
	}{
		"/ok":              {client.Success, "200"},
		"/unauthenticated": {client.Failure, "401"},
		"/denied":          {client.Failure, "403"},
		"/missing":         {client.MinorFailure, "404"},
		"/broken":          {client.Failure, "500"},
		"/panics":          {client.SeriousFailure, ""},
	}
	for p := range want {
		get(h, p, "u1")
	}
	if rec := get(h, "/healthz", "u1"); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	got := s.stored(t, "http.records.GET")
	if len(got) != len(want) {
		t.Fatalf("%d events recorded, want %d (health checks are not)", len(got), len(want))
	}
	for _, e := range got {
		w := want[e.Resource.ID]
		status, _ := e.Metadata["http.status"].(json.Number)
		if e.Outcome != w.outcome || status.String() != w.status || e.Metadata["http.method"] != "GET" ||
			e.UserAgent != "browser/1" || e.IPAddress != "192.0.2.1" || e.ActorID != "u1" {
			t.Errorf("%s recorded as %s %v from %s %s", e.Resource.ID, e.Outcome, e.Metadata, e.IPAddress, e.UserAgent)
		}
	}
}

// TestMiddlewareFailClosed: the handler runs only once its request is on
// record; a denied request leaves an attempt and a failure result.
func TestMiddlewareFailClosed(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest, fastRetry())
	ran := 0
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran++
		recordsApp.ServeHTTP(w, r)
	})
	h := client.Middleware(c, recordsExtractor, client.FailClosed())(app)
	if rec := get(h, "/denied", "u2"); rec.Code != http.StatusForbidden || ran != 1 {
		t.Fatalf("with the server up: %d, ran %d", rec.Code, ran)
	}
	got := s.stored(t, "http.records.GET")
	slices.Reverse(got)
	if len(got) != 2 || got[0].Metadata[client.GuardPhaseKey] != "attempt" || got[0].Outcome != client.Success ||
		got[1].Metadata[client.GuardPhaseKey] != "result" || got[1].Outcome != client.Failure ||
		got[1].Metadata["http.status"].(json.Number).String() != "403" {
		t.Fatalf("recorded %+v", got)
	}

	s.setDown(true)
	rec := get(h, "/ok", "u2")
	if rec.Code != http.StatusServiceUnavailable || ran != 1 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("with the server down: %d, handler ran %d times", rec.Code, ran)
	}
	custom := client.Middleware(c, recordsExtractor, client.FailClosed(),
		client.Refused(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })))(app)
	if rec := get(custom, "/ok", "u2"); rec.Code != http.StatusTeapot || ran != 1 {
		t.Fatalf("custom refusal: %d, ran %d", rec.Code, ran)
	}
}
