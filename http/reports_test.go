package http_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/report"
	"github.com/vigilhq/vigil/sqlite"

	"net/http/httptest"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// reportEnv is a server with the report service running over a real
// store, and a clock the test moves.
type reportEnv struct {
	*env
	clock *testClock
	svc   *report.Service
	dir   string // the data directory
}

func newReportEnv(t *testing.T) *reportEnv {
	t.Helper()
	return newReportEnvWith(t, vhttp.Config{})
}

// newReportEnvWith is newReportEnv with cfg's settings for the server.
func newReportEnvWith(t *testing.T, cfg vhttp.Config) *reportEnv {
	t.Helper()
	dir := t.TempDir()
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), LogName: "test.vigil",
		SigningKey: testKey, WitnessPath: filepath.Join(dir, "ledger.witness")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &testClock{t: time.Now()}
	svc, err := report.New(report.Config{Store: db, Source: db, Dir: filepath.Join(dir, "reports"), VerifierKey: testVKey,
		Poll: 10 * time.Millisecond, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	cfg.Store, cfg.VerifierKey, cfg.Reports, cfg.Now = db, testVKey, svc, c.now
	cfg.DownloadSecret = []byte("0123456789abcdef0123456789abcdef")
	srv := httptest.NewServer(vhttp.NewServer(cfg))
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, srv: srv, dbPath: filepath.Join(dir, "vigil.db")}
	if _, err := db.EnsureWorkspace(context.Background(), "default"); err != nil {
		t.Fatal(err)
	}
	e.ingest = e.key("default", vigil.RoleIngest, "")
	e.auditor = e.key("default", vigil.RoleAuditor, "")
	e.admin = e.key("default", vigil.RoleAdmin, "")
	events := []vigil.Event{
		{ActorID: "dr_a", Action: "patient_record.viewed", PatientID: "pt_1", SessionID: "s1", TenantID: "t1"},
		{ActorID: "dr_a", Action: "patient_record.viewed", PatientID: "pt_2", SessionID: "s1", TenantID: "t1"},
		{ActorID: "dr_b", Action: "patient_record.viewed", PatientID: "pt_1", SessionID: "s2", TenantID: "t1", ActorName: "=HYPERLINK(\"x\")"},
		{ActorID: "nurse_c", Action: "patient_record.viewed", PatientID: "pt_3", SessionID: "s3", TenantID: "t2"},
	}
	if _, err := db.Append(context.Background(), "default", events); err != nil {
		t.Fatal(err)
	}
	return &reportEnv{env: e, clock: c, svc: svc, dir: dir}
}

type job struct {
	ID           string          `json:"id"`
	Status       string          `json:"status"`
	Type         string          `json:"type"`
	Params       json.RawMessage `json:"params"`
	Filters      json.RawMessage `json:"filters"`
	Format       string          `json:"format"`
	RowCount     *int64          `json:"row_count"`
	TotalRows    *int64          `json:"total_rows"`
	FileSize     *int64          `json:"file_size"`
	DownloadURL  *string         `json:"download_url"`
	ErrorMessage *string         `json:"error_message"`
	CreatedAt    string          `json:"created_at"`
	ExpiresAt    *string         `json:"expires_at"`
	Checkpoint   *struct {
		TreeSize int64  `json:"tree_size"`
		RootHash string `json:"root_hash"`
	} `json:"checkpoint"`
}

func (e *reportEnv) submit(path, key string, body any) string {
	e.t.Helper()
	r := e.post(path, key, body)
	wantStatus(e.t, r, 202)
	var out struct{ Data job }
	r.json(e.t, &out)
	if out.Data.ID == "" || out.Data.Status != vigil.JobPending {
		e.t.Fatalf("accepted %s", r.body)
	}
	return out.Data.ID
}

func (e *reportEnv) wait(path, key string) job {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := e.get(path, key)
		wantStatus(e.t, r, 200)
		var out struct{ Data job }
		r.json(e.t, &out)
		if out.Data.Status == vigil.JobCompleted || out.Data.Status == vigil.JobFailed {
			return out.Data
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s still %s", path, out.Data.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metaActions lists the meta-audit actions recorded under prefix.
func (e *reportEnv) metaActions(prefix string) []string {
	e.t.Helper()
	page, err := e.db.Events(context.Background(), vigil.Query{Workspace: "default", Action: prefix + "*", Before: -1, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range slices.Backward(page.Events) {
		out = append(out, ev.Action)
	}
	return out
}

func TestReportLifecycle(t *testing.T) {
	e := newReportEnv(t)
	id := e.submit("/api/v1/reports", e.auditor, `{"type":"session","params":{"session_id":"s1"},"format":"csv"}`)
	j := e.wait("/api/v1/reports/"+id, e.auditor)
	if j.Status != vigil.JobCompleted || *j.RowCount != 2 || j.Checkpoint == nil || j.Checkpoint.TreeSize < 4 || j.DownloadURL == nil ||
		*j.DownloadURL != e.srv.URL+"/api/v1/reports/"+id+"/download" || j.Type != "session" || j.ExpiresAt == nil {
		t.Fatalf("%+v", j)
	}
	r := e.get(*j.DownloadURL, e.auditor)
	wantStatus(t, r, 200)
	if r.header.Get("Content-Type") != "text/csv; charset=utf-8" || r.header.Get("Vigil-Checkpoint-Root") != j.Checkpoint.RootHash ||
		int64(len(r.body)) != *j.FileSize {
		t.Errorf("headers %v, %d bytes", r.header, len(r.body))
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][3] != "dr_a" || rows[2][7] != "pt_2" {
		t.Fatalf("csv %q %v", rows, err)
	}
	r = e.get("/api/v1/reports", e.auditor)
	wantStatus(t, r, 200)
	var list struct{ Data []job }
	r.json(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != id {
		t.Errorf("list %s", r.body)
	}
	// Every step is in the audit trail, the request first.
	acts := e.metaActions("vigil.reports.")
	if acts[0] != vhttp.ActionReportsCreated || !slices.Contains(acts, vhttp.ActionReportsRead) ||
		!slices.Contains(acts, vhttp.ActionReportsDownloaded) || acts[len(acts)-1] != vhttp.ActionReportsListed {
		t.Errorf("meta-audit %q", acts)
	}
	// A PDF too, through the same path.
	id = e.submit("/api/v1/reports", e.auditor, `{"type":"patient_access","params":{"patient_id":"pt_1"},"format":"pdf"}`)
	j = e.wait("/api/v1/reports/"+id, e.auditor)
	r = e.get(*j.DownloadURL, e.auditor)
	if r.status != 200 || r.header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.body, []byte("%PDF-")) {
		t.Errorf("pdf: %d %v", r.status, r.header)
	}
}

func TestReportValidation(t *testing.T) {
	e := newReportEnv(t)
	for body, field := range map[string]string{
		`{"type":"everything"}`: "type",
		`{"params":{}}`:         "type",
		`{"type":"session"}`:    "params.session_id",
		`{"type":"session","params":{"session_id":"s1"},"format":"docx"}`:                          "format",
		`{"type":"session","params":{"session_id":"s1","x":1}}`:                                    "params.x",
		`{"type":"session","params":{"session_id":"s1"},"colour":"red"}`:                           "colour",
		`{"type":"off_hours","params":{}}`:                                                         "params.timezone",
		`{"type":"off_hours","params":{"timezone":"UTC","start_hour":20,"end_hour":20}}`:           "params.end_hour",
		`{"type":"disclosures","params":{"patient_id":"p","from":"2010-01-01","to":"2020-01-01"}}`: "params.from",
		`{"type":"access_by_interval","params":{"from":"2026-03-02","to":"2026-03-01"}}`:           "params.to",
	} {
		r := e.post("/api/v1/reports", e.auditor, body)
		if r.status != 422 || r.errorCode(t) != "validation_failed" || !strings.Contains(string(r.body), `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming %s", body, r.status, r.body, field)
		}
	}
	wantStatus(t, e.post("/api/v1/reports", e.auditor, `{"type":`), 400)
	wantStatus(t, e.post("/api/v1/exports", e.auditor, `{"format":"xlsx"}`), 422)
	r := e.post("/api/v1/exports", e.auditor, `{"from":"last week"}`)
	if r.status != 422 || !strings.Contains(string(r.body), `"field":"from"`) {
		t.Errorf("bad from: %d %s", r.status, r.body)
	}
	wantStatus(t, e.get("/api/v1/reports?limit=0", e.auditor), 422)
	wantStatus(t, e.get("/api/v1/reports?sort=asc", e.auditor), 422)
	// Refused requests leave no job and no record of a created report.
	var list struct{ Data []job }
	e.get("/api/v1/reports", e.auditor).json(t, &list)
	if len(list.Data) != 0 || slices.Contains(e.metaActions("vigil."), vhttp.ActionReportsCreated) {
		t.Errorf("refused requests left %d jobs", len(list.Data))
	}
}

func TestReportAccessControl(t *testing.T) {
	e := newReportEnv(t)
	id := e.submit("/api/v1/reports", e.auditor, `{"type":"patient_access","params":{"patient_id":"pt_1"}}`)
	e.wait("/api/v1/reports/"+id, e.auditor)
	for _, key := range []string{e.ingest, e.admin} {
		for _, r := range []response{e.post("/api/v1/reports", key, `{"type":"session","params":{"session_id":"s1"}}`),
			e.get("/api/v1/reports", key), e.get("/api/v1/reports/"+id, key), e.get("/api/v1/reports/"+id+"/download", key),
			e.post("/api/v1/exports", key, `{}`), e.get("/api/v1/exports", key)} {
			if r.status != 403 || r.errorCode(t) != "forbidden" {
				t.Errorf("%d %s", r.status, r.body)
			}
		}
	}
	wantStatus(t, e.get("/api/v1/reports/"+id, ""), 401)
	wantStatus(t, e.get("/api/v1/reports/"+id+"/download", ""), 401)
	// Another workspace's auditor does not see it.
	other := e.key("other", vigil.RoleAuditor, "")
	wantStatus(t, e.get("/api/v1/reports/"+id, other), 404)
	wantStatus(t, e.get("/api/v1/reports/"+id+"/download", other), 404)
	// A tenant key sees only its tenant's reports, and its reports hold
	// only its tenant's rows.
	t2 := e.key("default", vigil.RoleAuditor, "t2")
	wantStatus(t, e.get("/api/v1/reports/"+id, t2), 404)
	wantStatus(t, e.get("/api/v1/reports/"+id+"/download", t2), 404)
	mine := e.submit("/api/v1/reports", t2, `{"type":"patient_access","params":{"patient_id":"pt_1"}}`)
	j := e.wait("/api/v1/reports/"+mine, t2)
	if *j.RowCount != 0 {
		t.Errorf("t2 sees %d rows of t1's patient", *j.RowCount)
	}
	theirs := e.submit("/api/v1/reports", t2, `{"type":"patient_access","params":{"patient_id":"pt_3"},"format":"json"}`)
	j = e.wait("/api/v1/reports/"+theirs, t2)
	r := e.get(*j.DownloadURL, t2)
	if *j.RowCount != 1 || !strings.Contains(string(r.body), `"tenant_scope":"t2"`) || !strings.Contains(string(r.body), "nurse_c") {
		t.Errorf("t2's own report: %s", r.body)
	}
	var list struct{ Data []job }
	e.get("/api/v1/reports", t2).json(t, &list)
	if len(list.Data) != 2 {
		t.Errorf("t2 lists %d reports", len(list.Data))
	}
	e.get("/api/v1/reports", e.auditor).json(t, &list)
	if len(list.Data) != 3 {
		t.Errorf("the workspace auditor lists %d reports", len(list.Data))
	}
}

func TestExportLinks(t *testing.T) {
	e := newReportEnv(t)
	id := e.submit("/api/v1/exports", e.auditor, `{"tenant_id":"t1","format":"ndjson"}`)
	j := e.wait("/api/v1/exports/"+id, e.auditor)
	if j.Status != vigil.JobCompleted || *j.TotalRows != 3 || j.DownloadURL == nil || string(j.Filters) != `{"tenant_id":"t1"}` || j.ExpiresAt == nil {
		t.Fatalf("%+v", j)
	}
	link, err := url.Parse(*j.DownloadURL)
	if err != nil || link.Query().Get("signature") == "" || link.Query().Get("expires") == "" {
		t.Fatalf("link %q", *j.DownloadURL)
	}
	// The signed link works without a key, and the export verifies offline.
	r := e.get(link.String(), "")
	wantStatus(t, r, 200)
	rep, err := ledger.VerifyExport(bytes.NewReader(r.body), testVKey)
	if err != nil || !rep.Valid || rep.EventsChecked != 3 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	// The key works too.
	wantStatus(t, e.get("/api/v1/exports/"+id+"/download", e.auditor), 200)

	q := link.Query()
	tamper := func(k, v string) string {
		q2 := url.Values{}
		for name, vs := range q {
			q2[name] = vs
		}
		q2.Set(k, v)
		return link.Path + "?" + q2.Encode()
	}
	other := e.submit("/api/v1/exports", e.auditor, `{"format":"csv"}`)
	e.wait("/api/v1/exports/"+other, e.auditor)
	for name, path := range map[string]string{
		"bad signature":     tamper("signature", flipFirst(q.Get("signature"))),
		"another workspace": tamper("workspace", "other"),
		"a later expiry":    tamper("expires", "99999999999"),
		"another export":    strings.Replace(link.String(), id, other, 1),
	} {
		r := e.get(path, "")
		if r.status != 403 || r.errorCode(t) != "forbidden" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	wantStatus(t, e.get(link.String()+"&extra=1", ""), 422)
	// Another workspace's key does not reach it either.
	wantStatus(t, e.get("/api/v1/exports/"+id+"/download", e.key("other", vigil.RoleAuditor, "")), 404)

	// The downloads through the link are recorded as the requesting key's.
	page, _ := e.db.Events(context.Background(), vigil.Query{Workspace: "default", Action: vhttp.ActionExportsDownloaded, Before: -1, Limit: 10})
	if len(page.Events) != 2 || !strings.Contains(string(page.Events[1].Metadata), `"via":"signed_link"`) || page.Events[1].ActorID != page.Events[0].ActorID {
		t.Errorf("download records %+v", page.Events)
	}

	// An hour later the link has expired.
	e.clock.add(time.Hour + time.Second)
	r = e.get(link.String(), "")
	if r.status != 403 || !strings.Contains(string(r.body), "expired") {
		t.Errorf("expired link: %d %s", r.status, r.body)
	}
}

// Bad link signatures count as failed authentications, and a flood of
// them never stops a valid link (or a valid key) from the same address.
func TestExportLinkFailuresThrottled(t *testing.T) {
	e := newReportEnvWith(t, vhttp.Config{AuthFailuresPerMinute: 3})
	id := e.submit("/api/v1/exports", e.auditor, `{"format":"csv"}`)
	j := e.wait("/api/v1/exports/"+id, e.auditor)
	link, err := url.Parse(*j.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	q := link.Query()
	q.Set("signature", flipFirst(q.Get("signature")))
	forged := link.Path + "?" + q.Encode()
	for range 3 {
		wantStatus(t, e.get(forged, ""), 403)
	}
	r := e.get(forged, "")
	if r.status != 429 || r.errorCode(t) != "rate_limited" {
		t.Fatalf("forged link after the flood: %d %s", r.status, r.body)
	}
	// Failed links and failed keys share the source's count.
	wantStatus(t, e.get("/api/v1/events", vigil.NewKeySecret()), 429)
	wantStatus(t, e.get(link.RequestURI(), ""), 200)
	wantStatus(t, e.get("/api/v1/exports/"+id+"/download", e.auditor), 200)
}

func TestExportLinkOfRevokedKey(t *testing.T) {
	e := newReportEnv(t)
	k, secret, err := vigil.CreateKey(context.Background(), e.db, "default", vigil.RoleAuditor, "", "leaver", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id := e.submit("/api/v1/exports", secret, `{"format":"parquet"}`)
	j := e.wait("/api/v1/exports/"+id, secret)
	wantStatus(t, e.get(*j.DownloadURL, ""), 200)
	if _, err := e.db.RevokeKey(context.Background(), "default", k.ID); err != nil {
		t.Fatal(err)
	}
	r := e.get(*j.DownloadURL, "")
	if r.status != 403 || !strings.Contains(string(r.body), "revoked") {
		t.Errorf("%d %s", r.status, r.body)
	}
}

func TestReportsUnconfigured(t *testing.T) {
	e := newEnvReports(t, vhttp.Config{}, false)
	r := e.post("/api/v1/reports", e.auditor, `{"type":"session","params":{"session_id":"s"}}`)
	if r.status != 503 || r.errorCode(t) != "unavailable" {
		t.Errorf("%d %s", r.status, r.body)
	}
}

// flipFirst changes the first character of a base64url string.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// TestJobStatuses: jobs speak the Immutable SDKs' vocabulary, which their
// callers poll for: pending, then completed.
func TestJobStatuses(t *testing.T) {
	e := newReportEnv(t)
	for _, path := range []string{"/api/v1/exports", "/api/v1/reports"} {
		body := `{"format":"csv"}`
		if path == "/api/v1/reports" {
			body = `{"type":"session","params":{"session_id":"s1"}}`
		}
		r := e.post(path, e.auditor, body)
		wantStatus(t, r, 202)
		if !strings.Contains(string(r.body), `"status":"pending"`) {
			t.Errorf("POST %s answered %s", path, r.body)
		}
		var out struct{ Data job }
		r.json(t, &out)
		if j := e.wait(path+"/"+out.Data.ID, e.auditor); j.Status != "completed" {
			t.Errorf("%s: %+v", path, j)
		}
	}
}

// TestDownloadURLAbsolute: download links are absolute, so a client can
// follow them as given: under --public-url when set, else at the host the
// request named; forwarded headers count only from trusted proxies.
func TestDownloadURLAbsolute(t *testing.T) {
	e := newReportEnvWith(t, vhttp.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	exp := e.submit("/api/v1/exports", e.auditor, `{"format":"csv"}`)
	e.wait("/api/v1/exports/"+exp, e.auditor)
	rep := e.submit("/api/v1/reports", e.auditor, `{"type":"session","params":{"session_id":"s1"}}`)
	e.wait("/api/v1/reports/"+rep, e.auditor)
	link := func(path string, headers ...string) string {
		t.Helper()
		r := e.do("GET", path, e.auditor, nil, headers...)
		wantStatus(t, r, 200)
		var out struct{ Data job }
		r.json(t, &out)
		if out.Data.DownloadURL == nil {
			t.Fatalf("no download_url: %s", r.body)
		}
		return *out.Data.DownloadURL
	}
	for name, c := range map[string]struct {
		headers []string
		prefix  string
	}{
		"the request's host":     {nil, e.srv.URL + "/api/v1/exports/" + exp + "/download?"},
		"a named host":           {[]string{"Host", "vigil.example.org:8443"}, "http://vigil.example.org:8443/api/v1/exports/" + exp + "/download?"},
		"an untrusted forwarder": {[]string{"X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https"}, e.srv.URL + "/api/v1/exports/"},
		"a host that is no host": {[]string{"Host", "evil.example;x"}, e.srv.URL + "/api/v1/exports/"},
	} {
		if got := link("/api/v1/exports/"+exp, c.headers...); !strings.HasPrefix(got, c.prefix) {
			t.Errorf("%s: %s, want %s...", name, got, c.prefix)
		}
	}
	if got := link("/api/v1/reports/" + rep); got != e.srv.URL+"/api/v1/reports/"+rep+"/download" {
		t.Errorf("report: %s", got)
	}
	// The link works as given.
	wantStatus(t, e.get(link("/api/v1/exports/"+exp), ""), 200)
	var list struct{ Data []job }
	e.get("/api/v1/exports", e.auditor).json(t, &list)
	if len(list.Data) != 1 || list.Data[0].DownloadURL == nil || !strings.HasPrefix(*list.Data[0].DownloadURL, e.srv.URL+"/") {
		t.Errorf("listing: %+v", list.Data)
	}
}

// TestDownloadURLBehindProxy: a trusted proxy's X-Forwarded-Host and
// -Proto name the link's host and scheme; --public-url overrides both.
func TestDownloadURLBehindProxy(t *testing.T) {
	for _, c := range []struct {
		public, want string
	}{
		{"", "https://audit.example.org/api/v1/exports/"},
		{"https://vigil.example.org/audit", "https://vigil.example.org/audit/api/v1/exports/"},
	} {
		e := newReportEnvWith(t, vhttp.Config{PublicURL: c.public, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		id := e.submit("/api/v1/exports", e.auditor, `{"format":"csv"}`)
		e.wait("/api/v1/exports/"+id, e.auditor)
		r := e.do("GET", "/api/v1/exports/"+id, e.auditor, nil, "X-Forwarded-Host", "audit.example.org, inner.local", "X-Forwarded-Proto", "https")
		var out struct{ Data job }
		r.json(t, &out)
		if out.Data.DownloadURL == nil || !strings.HasPrefix(*out.Data.DownloadURL, c.want+id+"/download?") {
			t.Errorf("public URL %q: %v", c.public, out.Data.DownloadURL)
		}
	}
}

func TestParsePublicURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://vigil.example.org":        "https://vigil.example.org",
		"https://vigil.example.org/":       "https://vigil.example.org",
		"http://10.0.0.5:8080/audit/":      "http://10.0.0.5:8080/audit",
		"https://[2001:db8::1]:8443":       "https://[2001:db8::1]:8443",
		"ftp://vigil.example.org":          "",
		"vigil.example.org":                "",
		"https://user@vigil.example.org":   "",
		"https://vigil.example.org/?a=b":   "",
		"https://vigil.example.org/#top":   "",
		"https://":                         "",
		"https://vigil example.org":        "",
		"https://vigil.example.org:99999/": "",
	} {
		got, err := vhttp.ParsePublicURL(in)
		if want == "" && err == nil || want != "" && (err != nil || got != want) {
			t.Errorf("ParsePublicURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestReportRecordOutlivesFile: a report's record (parameters,
// checkpoint, file hash, who asked, when, until when it is kept) stays
// after its file was removed, and a download then regenerates the same
// file at the recorded checkpoint.
func TestReportRecordOutlivesFile(t *testing.T) {
	e := newReportEnv(t)
	id := e.submit("/api/v1/reports", e.auditor, `{"type":"patient_access","params":{"patient_id":"pt_1"},"format":"pdf"}`)
	j := e.wait("/api/v1/reports/"+id, e.auditor)
	first := e.get(*j.DownloadURL, e.auditor)
	wantStatus(t, first, 200)
	k, err := e.db.KeyByHash(context.Background(), vigil.HashKey(e.auditor))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Data struct {
			RequestedBy string          `json:"requested_by"`
			CreatedAt   string          `json:"created_at"`
			GeneratedAt *string         `json:"generated_at"`
			RetainUntil *string         `json:"retain_until"`
			SHA256      *string         `json:"sha256"`
			Params      json.RawMessage `json:"params"`
			Checkpoint  *struct {
				TreeSize int64  `json:"tree_size"`
				RootHash string `json:"root_hash"`
			} `json:"checkpoint"`
			DownloadURL *string `json:"download_url"`
		} `json:"data"`
	}
	e.get("/api/v1/reports/"+id, e.auditor).json(t, &rec)
	created, _ := time.Parse(time.RFC3339Nano, rec.Data.CreatedAt)
	if rec.Data.RequestedBy != k.ID || rec.Data.GeneratedAt == nil || rec.Data.RetainUntil == nil || rec.Data.SHA256 == nil ||
		*rec.Data.RetainUntil != created.Add(report.DefaultRetention).Format(time.RFC3339Nano) || rec.Data.Checkpoint == nil {
		t.Fatalf("record %+v", rec.Data)
	}
	// A week and a day later the file is gone, the record is not.
	e.clock.add(8 * 24 * time.Hour)
	e.svc.Sweep(context.Background())
	if files, _ := filepath.Glob(filepath.Join(e.dir, "reports", id+".*")); len(files) != 0 {
		t.Fatalf("file still there: %v", files)
	}
	e.get("/api/v1/reports/"+id, e.auditor).json(t, &rec)
	if rec.Data.SHA256 == nil || rec.Data.DownloadURL == nil {
		t.Fatalf("record after the file's removal: %+v", rec.Data)
	}
	again := e.get(*rec.Data.DownloadURL, e.auditor)
	wantStatus(t, again, 200)
	if !bytes.Equal(again.body, first.body) || again.header.Get("Vigil-Content-SHA256") != *rec.Data.SHA256 {
		t.Errorf("the regenerated report differs from the first (%d and %d bytes)", len(again.body), len(first.body))
	}
	// Exports too, through their signed links.
	exp := e.submit("/api/v1/exports", e.auditor, `{"format":"ndjson"}`)
	ej := e.wait("/api/v1/exports/"+exp, e.auditor)
	firstExport := e.get(*ej.DownloadURL, "")
	wantStatus(t, firstExport, 200)
	e.clock.add(8 * 24 * time.Hour)
	e.svc.Sweep(context.Background())
	ej = e.wait("/api/v1/exports/"+exp, e.auditor)
	if ej.DownloadURL == nil {
		t.Fatalf("no link after the file's removal: %+v", ej)
	}
	if r := e.get(*ej.DownloadURL, ""); r.status != 200 || !bytes.Equal(r.body, firstExport.body) {
		t.Errorf("regenerated export: %d, %d bytes, want %d", r.status, len(r.body), len(firstExport.body))
	}
}
