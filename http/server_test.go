package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/anchor"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/fhir"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/report"
	"github.com/vigilhq/vigil/sqlite"
)

var testKey, testVKey = func() (string, string) {
	s, v, err := ledger.GenerateKey("test.vigil")
	if err != nil {
		panic(err)
	}
	return s, v
}()

// testViewerSecret signs the test servers' viewer tokens.
var testViewerSecret = []byte("viewer-secret-0123456789abcdef01")

// env is a running server over a real SQLite file, with a key per role.
type env struct {
	t       testing.TB
	db      *embedded.Store
	dbPath  string
	srv     *httptest.Server
	ingest  string
	auditor string
	admin   string
}

func newEnv(t *testing.T) *env {
	return newEnvWith(t, vhttp.Config{})
}

func newEnvWith(t testing.TB, cfg vhttp.Config) *env {
	t.Helper()
	return newEnvReports(t, cfg, true)
}

// newEnvReports is newEnvWith, with a report service unless withReports
// is false (or cfg brings its own).
func newEnvReports(t testing.TB, cfg vhttp.Config, withReports bool) *env {
	t.Helper()
	return newEnvStore(t, cfg, withReports, nil)
}

// newEnvStore is newEnvReports with the store's configuration adjusted by
// store, when not nil.
func newEnvStore(t testing.TB, cfg vhttp.Config, withReports bool, store func(*embedded.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	scfg := sqlite.Config{
		Path: filepath.Join(dir, "vigil.db"), LogName: "test.vigil", SigningKey: testKey,
		WitnessPath: filepath.Join(dir, "ledger.witness"), Index: fhir.Terms,
	}
	ecfg := embedded.Config{ReadWait: time.Minute, SQLite: scfg}
	if store != nil {
		store(&ecfg)
	}
	db, err := embedded.Open(context.Background(), ecfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.VerifierKey = db, testVKey
	if cfg.Anchors == nil {
		// Every server answers anchors, as vigil serve does; anchoring on
		// demand needs a witness, which tests that use it configure.
		cfg.Anchors = anchor.New(anchor.Config{Log: db, Store: db})
	}
	stopReports := func() {}
	if cfg.Reports == nil && withReports {
		// Every server answers reports and exports, as vigil serve does.
		svc, err := report.New(report.Config{Store: db, Source: db, Dir: filepath.Join(dir, "reports"), VerifierKey: testVKey,
			Poll: 10 * time.Millisecond, OffHours: report.RuleOffHours(db)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { svc.Run(ctx); close(done) }()
		stopReports = func() { cancel(); <-done }
		cfg.Reports = svc
		if cfg.DownloadSecret == nil {
			cfg.DownloadSecret = []byte("0123456789abcdef0123456789abcdef")
		}
	}
	if cfg.ViewerTokens == nil {
		cfg.ViewerTokens = vigil.NewViewerTokens(testViewerSecret)
	}
	srv := httptest.NewServer(vhttp.NewServer(cfg))
	t.Cleanup(func() { srv.Close(); stopReports(); db.Close() })
	e := &env{t: t, db: db, srv: srv, dbPath: filepath.Join(dir, "vigil.db")}
	if _, err := db.EnsureWorkspace(context.Background(), "default"); err != nil {
		t.Fatal(err)
	}
	e.ingest = e.key("default", vigil.RoleIngest, "")
	e.auditor = e.key("default", vigil.RoleAuditor, "")
	e.admin = e.key("default", vigil.RoleAdmin, "")
	return e
}

func (e *env) key(ws string, role vigil.Role, tenant string) string {
	e.t.Helper()
	if _, err := e.db.EnsureWorkspace(context.Background(), ws); err != nil {
		e.t.Fatal(err)
	}
	_, secret, err := vigil.CreateKey(context.Background(), e.db, ws, role, tenant, string(role)+" test key", time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

type response struct {
	status int
	header nethttp.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d body %q: %v", r.status, r.body, err)
	}
}

// errorCode returns the error body's code, failing unless the body is the
// documented error shape.
func (r response) errorCode(t testing.TB) string {
	t.Helper()
	var e struct {
		Error   string            `json:"error"`
		Message string            `json:"message"`
		Details []json.RawMessage `json:"details"`
	}
	r.json(t, &e)
	if e.Error == "" || e.Message == "" || e.Details == nil {
		t.Fatalf("error body %s lacks error, message or details", r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q", ct)
	}
	return e.Error
}

func (e *env) do(method, path, key string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = e.srv.URL + path
	}
	req, err := nethttp.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	given := map[string]bool{}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		// The first value of a header replaces the default; a header
		// given again is sent twice.
		if given[headers[i]] {
			req.Header.Add(headers[i], headers[i+1])
			continue
		}
		given[headers[i]] = true
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func (e *env) post(path, key string, body any) response { return e.do("POST", path, key, body) }
func (e *env) get(path, key string) response            { return e.do("GET", path, key, nil) }

func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}
