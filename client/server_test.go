package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/client"
	"github.com/vigilhq/vigil/embedded"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

// server is a real Vigil server (a SQLite file, the real HTTP API) behind
// a front that tests can take down or put a proxy into.
type server struct {
	db      *embedded.Store
	srv     *httptest.Server
	url     string
	ingest  string // an ingest key of workspace "default"
	auditor string // an auditor key of workspace "default"

	mu    sync.Mutex
	down  bool                                                   // drop every connection, as a dead server does
	proxy func(http.ResponseWriter, *http.Request, http.Handler) // stands in front when set
	posts int                                                    // event POSTs that reached the front
}

// openServer starts a server over a database in dir; stop it with close.
func openServer(dir string) (*server, error) {
	ctx := context.Background()
	skey, vkey, err := ledger.GenerateKey("sdk.test")
	if err != nil {
		return nil, err
	}
	db, err := embedded.Open(ctx, embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), LogName: "sdk.test", SigningKey: skey}})
	if err != nil {
		return nil, err
	}
	if _, err := db.EnsureWorkspace(ctx, "default"); err != nil {
		db.Close()
		return nil, err
	}
	s := &server{db: db}
	if _, s.ingest, err = vigil.CreateKey(ctx, db, "default", vigil.RoleIngest, "", "sdk test", time.Now()); err != nil {
		db.Close()
		return nil, err
	}
	if _, s.auditor, err = vigil.CreateKey(ctx, db, "default", vigil.RoleAuditor, "", "sdk test", time.Now()); err != nil {
		db.Close()
		return nil, err
	}
	api := vhttp.NewServer(vhttp.Config{Store: db, VerifierKey: vkey})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		down, proxy := s.down, s.proxy
		if r.Method == "POST" {
			s.posts++
		}
		s.mu.Unlock()
		switch {
		case down:
			hangUp(w)
		case proxy != nil:
			proxy(w, r, api)
		default:
			api.ServeHTTP(w, r)
		}
	}))
	s.url = s.srv.URL
	return s, nil
}

func (s *server) close() {
	s.srv.Close()
	s.db.Close()
}

// newServer starts a server for one test.
func newServer(t testing.TB) *server {
	t.Helper()
	s, err := openServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

// hangUp drops the connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *server) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func (s *server) setProxy(p func(http.ResponseWriter, *http.Request, http.Handler)) {
	s.mu.Lock()
	s.proxy = p
	s.mu.Unlock()
}

func (s *server) postCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts
}

// stored returns the events of an action, newest first, as an auditor
// reads them through the SDK.
func (s *server) stored(t testing.TB, action string) []client.StoredEvent {
	t.Helper()
	c, err := client.New(s.url, s.auditor)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var out []client.StoredEvent
	for e, err := range c.Events(context.Background(), client.Query{Action: action}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// deliveredOnce fails unless every key is stored exactly once under
// action, and nothing else is.
func (s *server) deliveredOnce(t testing.TB, action string, keys []string) {
	t.Helper()
	got := map[string]int{}
	for _, e := range s.stored(t, action) {
		got[e.IdempotencyKey]++
	}
	for _, k := range keys {
		if got[k] != 1 {
			t.Fatalf("event %s stored %d times", k, got[k])
		}
	}
	if len(got) != len(keys) {
		t.Fatalf("%d distinct events stored under %s, %d tracked", len(got), action, len(keys))
	}
}

// fastRetry keeps retry tests short.
func fastRetry() client.Option {
	return client.WithRetry(client.RetryPolicy{MaxAttempts: 6, Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, MaxElapsed: 10 * time.Second})
}

func mustNew(t testing.TB, url, key string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func asAPIError(t testing.TB, err error) *client.Error {
	t.Helper()
	e, ok := errors.AsType[*client.Error](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *client.Error", err, err)
	}
	return e
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exampleServer starts a server for a runnable example, which has no
// *testing.T; stop removes it.
func exampleServer() (s *server, stop func()) {
	dir, err := os.MkdirTemp("", "vigil-example-")
	if err != nil {
		panic(err)
	}
	if s, err = openServer(dir); err != nil {
		panic(fmt.Sprint("starting the example server: ", err))
	}
	return s, func() { s.close(); os.RemoveAll(dir) }
}
