package http_test

import (
	"database/sql"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/api"
	vhttp "github.com/vigilhq/vigil/http"
)

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.get("/healthz", ""), 200)
	wantStatus(t, e.get("/readyz", ""), 200)
	wantStatus(t, e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"b"}`), 201)
	wantStatus(t, e.post("/api/v1/events", e.ingest, `{"actor_id":"a"}`), 422)
	r := e.get("/metrics", "")
	wantStatus(t, r, 200)
	for _, want := range []string{
		`vigil_http_requests_total{code="201",route="/api/v1/events"} 1`,
		`vigil_http_requests_total{code="422",route="/api/v1/events"} 1`,
		"vigil_ingest_duration_seconds_count 1",
		"vigil_commit_batch_events",
		"vigil_store_errors_total",
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The OpenAPI document is served as well as kept in the repository.
	r = e.get("/api/v1/openapi.json", "")
	wantStatus(t, r, 200)
	if string(r.body) != string(vhttp.OpenAPI()) {
		t.Fatal("served OpenAPI differs from the embedded one")
	}
}

func TestClientAddress(t *testing.T) {
	trusting := newEnvWith(t, vhttp.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	plain := newEnv(t)
	for _, c := range []struct {
		name string
		e    *env
		xff  string
		want string
	}{
		{"direct", plain, "", "127.0.0.1"},
		{"forwarded header from an untrusted peer is ignored", plain, "203.0.113.9", "127.0.0.1"},
		{"trusted proxy", trusting, "203.0.113.9", "203.0.113.9"},
		{"last untrusted hop wins", trusting, "198.51.100.1, 203.0.113.9, 127.0.0.2", "203.0.113.9"},
		{"garbage stops at the proxy", trusting, "not-an-ip", "127.0.0.1"},
	} {
		r := c.e.do("POST", "/api/v1/events", c.e.ingest, `{"actor_id":"a","action":"addr"}`, "X-Forwarded-For", c.xff)
		wantStatus(t, r, 201)
		var s api.Stored
		r.json(t, &s)
		var got api.Data[api.Event]
		c.e.get("/api/v1/events/"+s.ID, c.e.auditor).json(t, &got)
		if got.Data.IPAddress == nil || *got.Data.IPAddress != c.want {
			t.Errorf("%s: ip_address %v, want %s", c.name, got.Data.IPAddress, c.want)
		}
	}
	// A client-supplied ip_address is kept as sent.
	r := plain.post("/api/v1/events", plain.ingest, `{"actor_id":"a","action":"addr","ip_address":"2001:db8::1"}`)
	var s api.Stored
	r.json(t, &s)
	var got api.Data[api.Event]
	plain.get("/api/v1/events/"+s.ID, plain.auditor).json(t, &got)
	if *got.Data.IPAddress != "2001:db8::1" {
		t.Fatalf("ip_address %s", *got.Data.IPAddress)
	}
}

// TestVerifyEndpointSeesTampering edits the database behind the running
// server's back and asks /api/v1/verify.
func TestVerifyEndpointSeesTampering(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		wantStatus(t, e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"x"}`), 201)
	}
	e.latestCheckpoint(5)
	var v api.Data[api.Verification]
	e.get("/api/v1/verify", e.auditor).json(t, &v)
	if !v.Data.Valid {
		t.Fatalf("untouched: %+v", v.Data)
	}
	path := filepath.Join(filepath.Dir(e.dbPath), "vigil.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, stmt := range []string{"DROP TRIGGER events_no_update", "UPDATE events SET actor_id = 'b' WHERE seq = 2"} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	r := e.get("/api/v1/verify", e.auditor)
	wantStatus(t, r, 200)
	r.json(t, &v)
	if v.Data.Valid || len(v.Data.Breaks) == 0 || v.Data.Breaks[0].Type != "modified" || v.Data.Breaks[0].EventID == nil {
		t.Fatalf("tampered: %s", r.body)
	}
}
