package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/client"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

// server is a real Vigil server (real SQLite file, real HTTP) whose
// handler can be swapped out to simulate an outage.
type server struct {
	t       testing.TB
	db      *sqlite.DB
	srv     *httptest.Server
	ingest  string
	auditor string

	mu    sync.Mutex
	down  bool
	inner http.Handler
	wrap  func(http.Handler) http.Handler
}

func newServer(t testing.TB) *server {
	t.Helper()
	dir := t.TempDir()
	skey, vkey, err := ledger.GenerateKey("sdk.test")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "vigil.db"), LogName: "sdk.test", SigningKey: skey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnsureWorkspace(context.Background(), "default"); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, db: db, inner: vhttp.NewServer(vhttp.Config{Store: db, VerifierKey: vkey})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		down, h := s.down, s.inner
		if s.wrap != nil {
			h = s.wrap(h)
		}
		s.mu.Unlock()
		if down {
			// A server that is down drops the connection.
			hj, ok := w.(http.Hijacker)
			if ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { s.srv.Close(); db.Close() })
	_, s.ingest, _ = vigil.CreateKey(context.Background(), db, "default", vigil.RoleIngest, "", "sdk", time.Now())
	_, s.auditor, _ = vigil.CreateKey(context.Background(), db, "default", vigil.RoleAuditor, "", "sdk", time.Now())
	return s
}

func (s *server) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// stored returns the events of an action, as an auditor sees them.
func (s *server) stored(action string) []client.StoredEvent {
	s.t.Helper()
	c, err := client.New(s.srv.URL, s.auditor)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []client.StoredEvent
	for e, err := range c.Events(context.Background(), client.Query{Action: action}) {
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func fastRetry() client.Option {
	return client.WithRetry(client.RetryPolicy{MaxAttempts: 6, Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond})
}

func TestFluentTrackStoresExactEvent(t *testing.T) {
	s := newServer(t)
	c, err := client.New(s.srv.URL, s.ingest)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2024, 6, 15, 8, 30, 0, 0, time.UTC)
	r, err := c.Actor("dr_m4k8p2", "Dr. Emily Nakamura", "physician").
		Session("sess_e4a2c8f1").Tenant("clinic_bayview_medical").Patient("pt_1").Purpose("TREAT").Source("ehr").
		From("203.0.113.42", "EHR/1.0").
		Track(ctx, "patient_record.viewed", client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d", Name: "Record #7f3a9c2d"},
			client.Metadata(map[string]any{"department": "internal_medicine", "sections": []string{"demographics"}}),
			client.Targets(client.Target{Type: "lab", ID: "lab_9"}), client.At(at), client.Category("phi"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "stored" || r.ID == "" || r.IdempotencyKey == "" {
		t.Fatalf("receipt %+v", r)
	}
	got := s.stored("patient_record.viewed")
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	e := got[0]
	meta, _ := json.Marshal(map[string]any{"department": "internal_medicine", "sections": []string{"demographics"}})
	if e.ID != r.ID || e.ActorID != "dr_m4k8p2" || *e.ActorName != "Dr. Emily Nakamura" || *e.ActorType != "physician" ||
		*e.SessionID != "sess_e4a2c8f1" || *e.TenantID != "clinic_bayview_medical" || *e.PatientID != "pt_1" ||
		*e.PurposeOfUse != "TREAT" || *e.Source != "ehr" || *e.IPAddress != "203.0.113.42" || *e.UserAgent != "EHR/1.0" ||
		*e.Resource.Type != "patient_record" || *e.Resource.ID != "pat_7f3a9c2d" || *e.Resource.Name != "Record #7f3a9c2d" ||
		len(e.Targets) != 1 || e.Targets[0].ID != "lab_9" || string(e.Metadata) != string(meta) ||
		e.OccurredAt != at.Format(time.RFC3339Nano) || *e.ActionCategory != "phi" || *e.IdempotencyKey != r.IdempotencyKey || e.Outcome != "success" {
		b, _ := json.Marshal(e)
		t.Fatalf("stored %s", b)
	}
	// Reads, proofs and verification through the SDK.
	one, err := c.Event(ctx, r.ID)
	var apiErr *client.Error
	if err == nil || !asError(err, &apiErr) || apiErr.Status != 403 || apiErr.Code != "forbidden" {
		t.Fatalf("an ingest key read an event: %+v %v", one, err)
	}
	a, _ := client.New(s.srv.URL, s.auditor)
	if one, err = a.Event(ctx, r.ID); err != nil || one.ID != r.ID {
		t.Fatal(err)
	}
	if _, err := a.Event(ctx, "nope"); !asError(err, &apiErr) || apiErr.Status != 404 {
		t.Fatalf("unknown id: %v", err)
	}
	v, err := a.Verify(ctx, client.VerifyOptions{})
	if err != nil || !v.Valid {
		t.Fatalf("verify %+v %v", v, err)
	}
}

func asError(err error, target **client.Error) bool { return errors.As(err, target) }

func TestValidationErrorsAreNotRetried(t *testing.T) {
	s := newServer(t)
	var calls int
	s.wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			h.ServeHTTP(w, r)
		})
	}
	c, _ := client.New(s.srv.URL, s.ingest, fastRetry())
	_, err := c.Track(context.Background(), client.Event{ActorID: "a"})
	var apiErr *client.Error
	if !asError(err, &apiErr) || apiErr.Status != 422 || apiErr.Code != "validation_failed" || len(apiErr.Details) == 0 || apiErr.Details[0].Field != "action" {
		t.Fatalf("error %#v", err)
	}
	if calls != 1 {
		t.Fatalf("a 422 was sent %d times", calls)
	}
}

// TestRetriesDeduplicate drops the answer after the server stored the
// event: the client retries with the same idempotency key and the event
// is stored once.
func TestRetriesDeduplicate(t *testing.T) {
	s := newServer(t)
	var mu sync.Mutex
	dropped := 0
	s.wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			drop := r.Method == "POST" && dropped < 2
			if drop {
				dropped++
			}
			mu.Unlock()
			if drop {
				h.ServeHTTP(httptest.NewRecorder(), r) // stored, but the answer is lost
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	c, _ := client.New(s.srv.URL, s.ingest, fastRetry())
	r, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "retry.me"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "duplicate" {
		t.Fatalf("receipt %+v: the third attempt should find the event stored", r)
	}
	if got := s.stored("retry.me"); len(got) != 1 || got[0].ID != r.ID {
		t.Fatalf("stored %d times", len(got))
	}
}

func TestTrackBatchChunks(t *testing.T) {
	s := newServer(t)
	c, _ := client.New(s.srv.URL, s.ingest)
	events := make([]client.Event, 250)
	for i := range events {
		events[i] = client.Event{ActorID: "a", Action: "batch.item", Metadata: map[string]any{"i": i}}
	}
	rs, err := c.TrackBatch(context.Background(), events)
	if err != nil || len(rs) != 250 {
		t.Fatalf("%d receipts, %v", len(rs), err)
	}
	if got := s.stored("batch.item"); len(got) != 250 {
		t.Fatalf("stored %d", len(got))
	}
}
