package http_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	vhttp "github.com/vigilhq/vigil/http"
)

func TestErrorCodes(t *testing.T) {
	e := newEnv(t)
	revoked := e.key("default", vigil.RoleAuditor, "")
	k, err := e.db.KeyByHash(context.Background(), vigil.HashKey(revoked))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.RevokeKey(context.Background(), "default", k.ID); err != nil {
		t.Fatal(err)
	}
	huge := `{"actor_id":"a","action":"b","metadata":{"x":"` + strings.Repeat("y", 300<<10) + `"}}`
	cases := []struct {
		name, method, path, key string
		body                    any
		status                  int
		code                    string
		field                   string
	}{
		{"missing actor", "POST", "/api/v1/events", e.ingest, `{"action":"x"}`, 422, "validation_failed", "actor_id"},
		{"unknown field", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"b","actor_email":"x@y"}`, 422, "validation_failed", "actor_email"},
		{"wrong type", "POST", "/api/v1/events", e.ingest, `{"actor_id":5,"action":"b"}`, 422, "validation_failed", "actor_id"},
		{"bad outcome", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"b","outcome":"ok"}`, 422, "validation_failed", "outcome"},
		{"bad time", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"b","occurred_at":"2024-13-01T00:00:00Z"}`, 422, "validation_failed", "occurred_at"},
		{"metadata not object", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"b","metadata":[1,2]}`, 422, "validation_failed", "metadata"},
		{"syntax", "POST", "/api/v1/events", e.ingest, `{"actor_id":`, 400, "invalid_json", ""},
		{"not an object", "POST", "/api/v1/events", e.ingest, `[1]`, 400, "invalid_json", ""},
		{"two values", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"b"}{}`, 400, "invalid_json", ""},
		{"empty body", "POST", "/api/v1/events", e.ingest, ``, 400, "invalid_json", ""},
		{"invalid UTF-8", "POST", "/api/v1/events", e.ingest, "{\"actor_id\":\"a\xff\",\"action\":\"b\"}", 400, "invalid_json", ""},
		{"lone surrogate", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a\ud800","action":"b"}`, 400, "invalid_json", ""},
		{"NUL escape", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a\u0000","action":"b"}`, 400, "invalid_json", ""},
		{"too deep", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"b","metadata":{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`, 400, "invalid_json", ""},
		{"too large", "POST", "/api/v1/events", e.ingest, huge, 413, "payload_too_large", ""},
		{"no key", "GET", "/api/v1/events", "", nil, 401, "unauthorized", ""},
		{"malformed key", "GET", "/api/v1/events", "imk_sk_a1b2c3d4e5f6g7h8i9j0", nil, 401, "unauthorized", ""},
		{"unknown key", "GET", "/api/v1/events", vigil.NewKeySecret(), nil, 401, "unauthorized", ""},
		{"revoked key", "GET", "/api/v1/events", revoked, nil, 401, "unauthorized", ""},
		{"ingest reads", "GET", "/api/v1/events", e.ingest, nil, 403, "forbidden", ""},
		{"auditor writes", "POST", "/api/v1/events", e.auditor, `{"actor_id":"a","action":"b"}`, 403, "forbidden", ""},
		{"admin reads events", "GET", "/api/v1/events", e.admin, nil, 403, "forbidden", ""},
		{"auditor manages keys", "GET", "/api/v1/keys", e.auditor, nil, 403, "forbidden", ""},
		{"unknown event", "GET", "/api/v1/events/0190b5a0-0000-7000-8000-000000000000", e.auditor, nil, 404, "not_found", ""},
		{"path-like id", "GET", "/api/v1/events/..%2F..%2Fetc%2Fpasswd", e.auditor, nil, 404, "not_found", ""},
		{"sql-like id", "GET", "/api/v1/events/1'%20OR%20'1'='1", e.auditor, nil, 404, "not_found", ""},
		{"unknown route", "GET", "/api/v1/nothing", e.auditor, nil, 404, "not_found", ""},
		{"wrong method", "PUT", "/api/v1/events", e.ingest, `{}`, 405, "method_not_allowed", ""},
		{"unknown query parameter", "GET", "/api/v1/events?actor=x", e.auditor, nil, 422, "validation_failed", "actor"},
		{"forged cursor", "GET", "/api/v1/events?cursor=bm9wZQ", e.auditor, nil, 422, "validation_failed", "cursor"},
		{"negative limit", "GET", "/api/v1/events?limit=-1", e.auditor, nil, 422, "validation_failed", "limit"},
		{"huge limit", "GET", "/api/v1/events?limit=100000000000000000000", e.auditor, nil, 422, "validation_failed", "limit"},
		{"bad from", "GET", "/api/v1/events?from=last+week", e.auditor, nil, 422, "validation_failed", "from"},
		{"from after to", "GET", "/api/v1/events?from=2024-06-02&to=2024-06-01", e.auditor, nil, 422, "validation_failed", "to"},
		{"bad tree size", "GET", "/api/v1/ledger/consistency?first=0&second=1", e.auditor, nil, 422, "validation_failed", "first"},
		{"bad key role", "POST", "/api/v1/keys", e.admin, `{"role":"root"}`, 422, "validation_failed", "role"},
		{"wrong content type", "POST", "/api/v1/events", e.ingest, "actor_id=a", 415, "unsupported_media_type", "Content-Type"},
		{"repeated member", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"b","actor_id":"c"}`, 400, "invalid_json", ""},
		{"repeated escaped member", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"b","\u0061ction":"c"}`, 400, "invalid_json", ""},
		{"repeated among many members", "POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"b","metadata":{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":18,"k19":19,"k7":0}}`, 400, "invalid_json", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var headers []string
			if c.name == "wrong content type" {
				headers = []string{"Content-Type", "application/x-www-form-urlencoded"}
			}
			r := e.do(c.method, c.path, c.key, c.body, headers...)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if got := r.errorCode(t); got != c.code {
				t.Fatalf("code %q, want %q", got, c.code)
			}
			if c.field != "" && !strings.Contains(string(r.body), `"field":"`+c.field+`"`) {
				t.Fatalf("body does not name %q: %s", c.field, r.body)
			}
		})
	}
	// Nothing above was stored.
	var list struct {
		Data []json.RawMessage `json:"data"`
	}
	e.get("/api/v1/events?action=b", e.auditor).json(t, &list)
	if len(list.Data) != 0 {
		t.Fatalf("rejected requests stored %d events", len(list.Data))
	}
}

// A flood of bad credentials from one address throttles those failures,
// never a valid key from the same address: behind one proxy or NAT, an
// attacker would otherwise stop a hospital application's audit logging.
func TestAuthFailuresThrottled(t *testing.T) {
	e := newEnvWith(t, vhttp.Config{AuthFailuresPerMinute: 3, KeyCacheTTL: -1})
	for range 3 {
		wantStatus(t, e.get("/api/v1/events", vigil.NewKeySecret()), 401)
	}
	for name, key := range map[string]string{
		"a well-formed unknown key": vigil.NewKeySecret(),
		"a malformed key":           "vgl_short",
		"no key":                    "",
	} {
		r := e.get("/api/v1/events", key)
		if r.status != 429 || r.errorCode(t) != "rate_limited" || r.header.Get("Retry-After") == "" {
			t.Fatalf("%s after the flood: %d %s %v", name, r.status, r.body, r.header)
		}
	}
	// The same source's valid keys pass, with no cache to help them
	// (KeyCacheTTL < 0: every request looks its key up).
	wantStatus(t, e.get("/api/v1/events", e.auditor), 200)
	wantStatus(t, e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"b"}`), 201)
	wantStatus(t, e.get("/api/v1/keys", e.admin), 200)
	// So does a key created after the flood began.
	wantStatus(t, e.get("/api/v1/events", e.key("default", vigil.RoleAuditor, "")), 200)
	// A valid key's request does not reset the count: the next bad one is
	// still refused.
	wantStatus(t, e.get("/api/v1/events", vigil.NewKeySecret()), 429)
	// A revoked key is a failure like any other.
	k, secret, err := vigil.CreateKey(context.Background(), e.db, "default", vigil.RoleAuditor, "", "leaver", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.do("DELETE", "/api/v1/keys/"+k.ID, e.admin, nil), 200)
	wantStatus(t, e.get("/api/v1/events", secret), 429)
	// The FHIR routes share the throttle.
	wantStatus(t, e.get("/fhir/R4/AuditEvent", vigil.NewKeySecret()), 429)
	wantStatus(t, e.get("/fhir/R4/AuditEvent", e.auditor), 200)
}

func TestUnavailable(t *testing.T) {
	e := newEnv(t)
	e.db.Close()
	r := e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"b"}`)
	if r.status != 503 || r.errorCode(t) != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("closed store answered %d %s", r.status, r.body)
	}
	wantStatus(t, e.get("/readyz", ""), 503)
}

func TestOpenAPIListsEveryRoute(t *testing.T) {
	srv := vhttp.NewServer(vhttp.Config{})
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(vhttp.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	routes := srv.Routes()
	if len(routes) < 15 {
		t.Fatalf("only %d routes", len(routes))
	}
	documented := 0
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is not in openapi.json", rt)
		}
	}
	for path, ops := range doc.Paths {
		documented += len(ops)
		for m := range ops {
			found := false
			for _, rt := range routes {
				found = found || rt == strings.ToUpper(m)+" "+path
			}
			if !found {
				t.Errorf("openapi.json documents %s %s, which the server does not serve", m, path)
			}
		}
	}
	if documented != len(routes) {
		t.Errorf("%d documented operations, %d routes", documented, len(routes))
	}
}

// TestSameMemberInOtherObjects: a name may repeat across objects (nested
// or side by side); only a repeat inside one object is refused.
func TestSameMemberInOtherObjects(t *testing.T) {
	e := newEnv(t)
	body := `{"actor_id":"a","action":"b","metadata":{"action":"x","n":{"action":"y","n":1},"list":[{"n":1},{"n":2}]},` +
		`"targets":[{"type":"t","id":"1"},{"type":"t","id":"2"}]}`
	if r := e.post("/api/v1/events", e.ingest, body); r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}
