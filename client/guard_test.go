package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigilhq/vigil/client"
)

func TestGuard(t *testing.T) {
	s := newServer(t)
	c, _ := client.New(s.srv.URL, s.ingest, fastRetry())
	e := client.Event{ActorID: "dr", Action: "guard.read", PatientID: "pt_1"}
	ran := false
	if err := c.Guard(context.Background(), e, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("ran=%v err=%v", ran, err)
	}
	boom := errors.New("the record is locked")
	if err := c.Guard(context.Background(), e, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Guard returned %v, want fn's error", err)
	}
	got := s.stored("guard.read")
	if len(got) != 4 {
		t.Fatalf("%d events, want attempt+result twice", len(got))
	}
	// Newest first: result (failure), attempt, result (success), attempt.
	phases := ""
	for _, ev := range got {
		phases += ev.Outcome + ":" + string(ev.Metadata) + " "
	}
	for i, want := range []string{"failure", "success", "success", "success"} {
		if got[i].Outcome != want {
			t.Fatalf("outcomes: %s", phases)
		}
	}
	if string(got[0].Metadata) == "" || *got[0].IdempotencyKey != *got[1].IdempotencyKey+".result" {
		t.Fatalf("result not linked to its attempt: %s", phases)
	}

	// Server down and no spool: fn must not run.
	s.setDown(true)
	ran = false
	err := c.Guard(context.Background(), e, func() error { ran = true; return nil })
	var ge *client.GuardError
	if ran || !errors.As(err, &ge) {
		t.Fatalf("Guard ran=%v with the server down: %v", ran, err)
	}
}

func TestMiddleware(t *testing.T) {
	s := newServer(t)
	c, _ := client.New(s.srv.URL, s.ingest, fastRetry())
	extract := func(r *http.Request) (client.Event, bool) {
		if r.URL.Path == "/healthz" {
			return client.Event{}, false
		}
		return client.Event{ActorID: r.Header.Get("X-User"), Action: "http." + r.Method, Resource: client.Resource{Type: "path", ID: r.URL.Path}}, true
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/denied":
			w.WriteHeader(http.StatusForbidden)
		case "/missing":
			http.NotFound(w, r)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.Write([]byte("ok"))
		}
	})
	h := client.Middleware(c, extract)(app)
	for _, p := range []string{"/ok", "/denied", "/missing", "/broken", "/healthz"} {
		req := httptest.NewRequest("GET", p, nil)
		req.Header.Set("X-User", "u1")
		req.Header.Set("User-Agent", "browser/1")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	want := map[string]string{"/ok": "success", "/denied": "failure", "/missing": "minor_failure", "/broken": "serious_failure"}
	got := s.stored("http.GET")
	if len(got) != len(want) {
		t.Fatalf("%d events recorded, want %d (health checks are not)", len(got), len(want))
	}
	for _, e := range got {
		if want[*e.Resource.ID] != e.Outcome || *e.UserAgent != "browser/1" || *e.IPAddress != "192.0.2.1" || e.ActorID != "u1" {
			t.Errorf("%s recorded as %s from %v %v", *e.Resource.ID, e.Outcome, *e.IPAddress, *e.UserAgent)
		}
	}

	// Fail closed: with the server down the handler does not run.
	closed := client.Middleware(c, extract, client.FailClosed(), client.RecordTimeout(time.Second))(app)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/ok", nil)
	req.Header.Set("X-User", "u2")
	closed.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("fail-closed with the server up: %d", rec.Code)
	}
	s.setDown(true)
	ran := false
	guarded := client.Middleware(c, extract, client.FailClosed())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
	rec = httptest.NewRecorder()
	guarded.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || ran {
		t.Fatalf("fail-closed with the server down: %d, handler ran=%v", rec.Code, ran)
	}
}
