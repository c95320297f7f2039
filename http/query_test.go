package http_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	vhttp "github.com/vigilhq/vigil/http"
)

// routeRequest is a request to one route that the route would answer,
// without the query under test: a path with ids of the right shape, a key
// of an allowed role and, for writes, a body it accepts.
type routeRequest struct {
	route, method, path, key, body string
}

func everyRoute(t *testing.T, e *env) []routeRequest {
	t.Helper()
	bodies := bodyRoutes(t, e)
	srv := vhttp.NewServer(vhttp.Config{})
	keys := map[vigil.Role]string{vigil.RoleAuditor: e.auditor, vigil.RoleIngest: e.ingest, vigil.RoleAdmin: e.admin}
	var out []routeRequest
	for _, rt := range srv.Routes() {
		method, pattern, _ := strings.Cut(rt, " ")
		rr := routeRequest{route: rt, method: method}
		for name, req := range bodies {
			if m, p, _ := strings.Cut(name, " "); m == method && servedBy([]string{rt}, m, p) {
				rr.path, rr.key, rr.body = p, req[0], req[1]
			}
		}
		if rr.path == "" {
			rr.path = strings.NewReplacer("{id}", "0190b5a0-0000-7000-8000-000000000000", "{vid}", "1").Replace(pattern)
			for _, role := range []vigil.Role{vigil.RoleAuditor, vigil.RoleIngest, vigil.RoleAdmin} {
				if slices.Contains(srv.RouteRoles(rt), role) {
					rr.key = keys[role]
					break
				}
			}
			if strings.HasSuffix(pattern, "/download") {
				rr.key = e.auditor // downloads take a key or a signed link
			}
		}
		out = append(out, rr)
	}
	return out
}

// TestMalformedQueryStrings: on every route, a query string that does not
// parse whole (a bad percent-escape, a ';' separator, text that is not
// UTF-8) is refused with 400 naming the parameter, rather than read
// without the pairs that did not parse.
func TestMalformedQueryStrings(t *testing.T) {
	e := newEnv(t)
	for _, rr := range everyRoute(t, e) {
		for _, c := range []struct{ query, field string }{
			{"actor_id=%", "actor_id"}, {"actor_id=qz;action=x", "actor_id"}, {"actor_id=%zz", "actor_id"},
			{"limit=5&patient=%", "patient"}, {"a;b=1", "a"}, {"%zz=1", "%zz"}, {"action=%E2%82", "action"},
			{"action=a%00b", "action"}, {"=x", ""},
		} {
			r := e.do(rr.method, rr.path+"?"+c.query, rr.key, rr.body)
			if r.status != 400 {
				t.Fatalf("%s ?%s: %d, want 400: %s", rr.route, c.query, r.status, r.body)
			}
			if strings.HasPrefix(rr.path, "/fhir/") {
				is := r.outcome(t)
				if c.field != "" && (len(is[0].Expression) != 1 || is[0].Expression[0] != c.field) {
					t.Fatalf("%s ?%s: issue %+v does not name %s", rr.route, c.query, is[0], c.field)
				}
				continue
			}
			if code := r.errorCode(t); code != "invalid_query" {
				t.Fatalf("%s ?%s: %s", rr.route, c.query, r.body)
			}
			if c.field != "" && !strings.Contains(string(r.body), `"field":"`+c.field+`"`) {
				t.Fatalf("%s ?%s does not name %s: %s", rr.route, c.query, c.field, r.body)
			}
		}
	}
}

// TestQueryParametersNeverIgnored: every authenticated route refuses a
// parameter it does not take, and a parameter sent without a value, with
// 422 naming it, on a request it would otherwise answer: an ignored
// parameter could be a filter the caller meant.
func TestQueryParametersNeverIgnored(t *testing.T) {
	e := newEnv(t)
	for _, rr := range everyRoute(t, e) {
		if rr.key == "" {
			continue // operational routes: health, metrics, documents
		}
		for _, c := range []struct{ query, field string }{{"zz_unknown=1", "zz_unknown"}, {"zz_empty=", "zz_empty"}, {"zz_bare", "zz_bare"}} {
			r := e.do(rr.method, rr.path+"?"+c.query, rr.key, rr.body)
			if r.status != 422 {
				t.Fatalf("%s ?%s: %d, want 422: %s", rr.route, c.query, r.status, r.body)
			}
			if strings.HasPrefix(rr.path, "/fhir/") {
				if is := r.outcome(t); len(is[0].Expression) != 1 || is[0].Expression[0] != c.field {
					t.Fatalf("%s ?%s: issue %+v does not name %s", rr.route, c.query, is[0], c.field)
				}
			} else if r.errorCode(t) != "validation_failed" || !strings.Contains(string(r.body), `"field":"`+c.field+`"`) {
				t.Fatalf("%s ?%s: %s", rr.route, c.query, r.body)
			}
		}
	}
	// A filter sent empty is refused, not read as no filter.
	for _, p := range []string{"/api/v1/events?action=", "/api/v1/events?actor_id", "/api/v1/alerts?status=", "/api/v1/audit-events?action=",
		"/fhir/R4/AuditEvent?agent=", "/fhir/R4/AuditEvent?_id="} {
		if r := e.get(p, e.auditor); r.status != 422 {
			t.Fatalf("%s: %d, want 422: %s", p, r.status, r.body)
		}
	}
}
