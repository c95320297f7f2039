package http_test

import (
	"context"
	"io"
	nethttp "net/http"
	"strings"
	"testing"

	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/sqlite"
)

// bodyRoutes gives every route that takes a body a request that succeeds
// when sent as application/json: the key to send it with and the body.
func bodyRoutes(t *testing.T, e *env) map[string][2]string {
	t.Helper()
	var rule struct{ Data struct{ ID string } }
	r := e.post("/api/v1/alert-rules", e.admin, `{"name":"media","rule_type":"watchlist","conditions":{"actors":["media-actor"]}}`)
	r.json(t, &rule)
	if rule.Data.ID == "" {
		t.Fatalf("rule: %d %s", r.status, r.body)
	}
	wantStatus(t, e.post("/api/v1/events", e.ingest, `{"actor_id":"media-actor","action":"media.seed"}`), 201)
	if n, err := e.db.AlertEvaluator(sqlite.AlertOptions{}).Pass(context.Background()); err != nil || n != 1 {
		t.Fatalf("%d alerts raised (%v), want 1", n, err)
	}
	var alerts struct{ Data []struct{ ID string } }
	e.get("/api/v1/alerts", e.auditor).json(t, &alerts)
	if len(alerts.Data) != 1 {
		t.Fatalf("%d alerts", len(alerts.Data))
	}
	return map[string][2]string{
		"POST /api/v1/events":                       {e.ingest, `{"actor_id":"a","action":"media.test"}`},
		"POST /api/v1/events/batch":                 {e.ingest, `{"events":[{"actor_id":"a","action":"media.test"}]}`},
		"POST /api/v1/keys":                         {e.admin, `{"role":"auditor","name":"media"}`},
		"POST /api/v1/audit-events":                 {e.ingest, string(fhirFixture(t, "seed001-rest.json"))},
		"POST /fhir/R4/AuditEvent":                  {e.ingest, string(fhirFixture(t, "balp-ex-auditBasicCreate.json"))},
		"POST /api/v1/alert-rules":                  {e.admin, `{"name":"media 2","rule_type":"watchlist","conditions":{"actors":["x"]}}`},
		"PUT /api/v1/alert-rules/" + rule.Data.ID:   {e.admin, `{"name":"media","rule_type":"watchlist","conditions":{"actors":["media-actor","y"]}}`},
		"PATCH /api/v1/alerts/" + alerts.Data[0].ID: {e.auditor, `{"status":"investigating"}`},
		"POST /api/v1/reports":                      {e.auditor, `{"type":"access_by_interval","params":{"from":"2000-01-01T00:00:00Z","to":"2099-01-01T00:00:00Z"},"format":"csv"}`},
		"POST /api/v1/exports":                      {e.auditor, `{"format":"ndjson"}`},
		"POST /api/v1/viewer-token":                 {e.admin, `{"tenant_id":"t1"}`},
		"PUT /api/v1/retention":                     {e.admin, `{"retention_days":2557}`},
		"POST /api/v1/legal-holds":                  {e.admin, `{"tenant_id":"t1","reason":"media"}`},
	}
}

// TestBodyMediaTypes: every route that takes a body refuses, with 415 and
// its error shape, a Content-Type whose charset is not UTF-8, whose
// parameters it does not know, or that is not JSON; UTF-8 in any spelling
// and (on FHIR) application/fhir+json of R4 are accepted.
func TestBodyMediaTypes(t *testing.T) {
	e := newEnv(t)
	reqs := bodyRoutes(t, e)
	seen := 0
	for _, rt := range vhttp.NewServer(vhttp.Config{}).Routes() {
		method, _, _ := strings.Cut(rt, " ")
		if method == "GET" || method == "DELETE" || !takesBody(t, rt) {
			continue
		}
		var key, body, path string
		for name, req := range reqs {
			m, p, _ := strings.Cut(name, " ")
			if m == method && servedBy([]string{rt}, m, p) {
				key, body, path = req[0], req[1], p
			}
		}
		if path == "" {
			t.Fatalf("%s takes a body but has no case here", rt)
		}
		seen++
		fhirRoute := strings.HasPrefix(path, "/fhir/")
		refused := []string{
			"application/json; charset=latin1", "application/json; charset=ISO-8859-1", "application/json;charset=utf-16",
			"application/json; charset=utf8", "application/json; charset=utf-8; charset=latin1", "application/json; profile=x",
			"application/json; charset", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
			"application/merge-patch+json", "application/fhir+json; fhirVersion=3.0",
		}
		accepted := []string{"application/json; charset=UTF-8", `application/json;charset="utf-8"`, "Application/JSON"}
		if fhirRoute {
			accepted = append(accepted, "application/fhir+json", "application/fhir+json; charset=utf-8; fhirVersion=4.0")
		} else {
			refused = append(refused, "application/fhir+json")
		}
		for _, ct := range refused {
			r := e.do(method, path, key, body, "Content-Type", ct)
			if r.status != 415 {
				t.Fatalf("%s as %q: %d, want 415: %s", rt, ct, r.status, r.body)
			}
			if fhirRoute {
				if is := r.outcome(t); is[0].Code != "not-supported" {
					t.Fatalf("%s as %q: issue %+v", rt, ct, is[0])
				}
			} else if code := r.errorCode(t); code != "unsupported_media_type" || !strings.Contains(string(r.body), `"field":"Content-Type"`) {
				t.Fatalf("%s as %q: %s", rt, ct, r.body)
			}
		}
		// Two Content-Type headers that disagree are refused too.
		req, err := nethttp.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Add("Content-Type", "application/json")
		req.Header.Add("Content-Type", "application/json; charset=latin1")
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 415 {
			t.Fatalf("%s with two Content-Types: %d, want 415", rt, resp.StatusCode)
		}
		for _, ct := range accepted {
			if r := e.do(method, path, key, body, "Content-Type", ct); r.status >= 300 {
				t.Fatalf("%s as %q: %d %s", rt, ct, r.status, r.body)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d routes with a body checked", seen)
	}
	// Nothing refused was stored: only the accepted requests' events.
	var list struct{ Data []struct{ ID string } }
	e.get("/api/v1/events?action=media.test", e.auditor).json(t, &list)
	if want := 2 * 3; len(list.Data) != want {
		t.Fatalf("%d events stored, want %d", len(list.Data), want)
	}
}
