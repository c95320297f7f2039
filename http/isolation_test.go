package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/console"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/sqlite"
)

// scope is one workspace and tenant of the isolation matrix.
type scope struct{ ws, tenant string }

func (s scope) marker() string { return "marker-" + s.ws + "-" + s.tenant }

// sees reports whether a key of scope k may see data of scope d: its own
// workspace, and its own tenant unless the key is not tenant-restricted.
func (k scope) sees(d scope) bool { return k.ws == d.ws && (k.tenant == "" || k.tenant == d.tenant) }

// TestIsolationMatrix: two workspaces with two tenants each; keys of every
// role, unrestricted and restricted to each tenant, call every route that
// answers data with every id there is. No answer carries anything of a
// workspace or tenant the key may not see, and counts add up to what it may.
func TestIsolationMatrix(t *testing.T) {
	e := newEnvWith(t, vhttp.Config{AuthFailuresPerMinute: 1 << 30})
	data := []scope{{"default", "t1"}, {"default", "t2"}, {"other", "t1"}, {"other", "t2"}}
	ids := map[string]scope{} // event id -> its scope
	// Every scope's events use the same idempotency keys: keys are per
	// workspace and tenant, so each is stored.
	seedBody := func(d scope, i int) string {
		return fmt.Sprintf(`{"actor_id":"%[1]s-actor","action":"seed.read","tenant_id":"%[2]s","patient_id":"%[1]s-pt-%[3]d",`+
			`"resource":"record","resource_id":"%[1]s-rec","session_id":"%[1]s-sess","metadata":{"note":"%[1]s"},"idempotency_key":"seed-%[3]d"}`, d.marker(), d.tenant, i)
	}
	seeded := map[scope][]string{} // scope -> the id of its event with key seed-i
	for _, d := range data {
		ingest := e.key(d.ws, vigil.RoleIngest, "")
		for i := range 3 {
			var s api.Stored
			r := e.post("/api/v1/events", ingest, seedBody(d, i))
			r.json(t, &s)
			if r.status != 201 || s.Status != "stored" {
				t.Fatalf("seeding %v: %d %s", d, r.status, r.body)
			}
			ids[s.ID] = d
			seeded[d] = append(seeded[d], s.ID)
		}
	}
	// A watchlist rule per workspace raises an alert for each event, in the
	// event's tenant.
	var ruleIDs []string
	for _, ws := range []string{"default", "other"} {
		var rule struct{ Data struct{ ID string } }
		body := fmt.Sprintf(`{"name":"watch %s","rule_type":"watchlist","conditions":{"actors":["%s-actor","%s-actor"]}}`,
			ws, scope{ws, "t1"}.marker(), scope{ws, "t2"}.marker())
		r := e.post("/api/v1/alert-rules", e.key(ws, vigil.RoleAdmin, ""), body)
		r.json(t, &rule)
		if rule.Data.ID == "" {
			t.Fatalf("rule: %d %s", r.status, r.body)
		}
		ruleIDs = append(ruleIDs, rule.Data.ID)
	}
	if n, err := e.db.AlertEvaluator(sqlite.AlertOptions{}).Pass(context.Background()); err != nil || n != len(ids) {
		t.Fatalf("%d alerts raised (%v), want %d", n, err, len(ids))
	}
	alertIDs := map[string]scope{}
	for _, d := range data {
		var list struct{ Data []struct{ ID string } }
		e.get("/api/v1/alerts", e.key(d.ws, vigil.RoleAuditor, d.tenant)).json(t, &list)
		for _, a := range list.Data {
			alertIDs[a.ID] = d
		}
	}
	if len(alertIDs) != len(ids) {
		t.Fatalf("%d alerts seen by their tenants' auditors, want %d", len(alertIDs), len(ids))
	}

	// Reports and exports, each made by one scope's auditor (a
	// tenant-restricted one, or the workspace-wide one) and visible only
	// to keys that see all of that scope.
	jobs := map[string]scope{} // report or export id -> the scope that made it
	jobPaths := map[string]string{}
	for _, d := range append(slices.Clone(data), scope{"default", ""}, scope{"other", ""}) {
		auditor := e.key(d.ws, vigil.RoleAuditor, d.tenant)
		for _, req := range [][2]string{
			{"/api/v1/reports", `{"type":"access_by_interval","params":{"from":"2000-01-01T00:00:00Z","to":"2099-01-01T00:00:00Z"},"format":"csv"}`},
			{"/api/v1/reports", `{"type":"patient_access","params":{"patient_id":"` + d.marker() + `-pt-0"},"format":"json"}`},
			{"/api/v1/exports", `{"format":"ndjson"}`},
		} {
			var job struct{ Data struct{ ID string } }
			r := e.post(req[0], auditor, req[1])
			r.json(t, &job)
			if r.status != 202 {
				t.Fatalf("%s by %v: %d %s", req[0], d, r.status, r.body)
			}
			jobs[job.Data.ID], jobPaths[job.Data.ID] = d, req[0]+"/"+job.Data.ID
			waitJob(t, e, req[0]+"/"+job.Data.ID, auditor)
		}
	}

	// An anchor per workspace: workspace-wide, seen by every auditor of its
	// workspace, tenant-restricted or not, and by no one else.
	anchorIDs := map[string]string{} // anchor id -> its workspace
	for _, ws := range []string{"default", "other"} {
		cp, err := e.db.Checkpoint(context.Background(), ws, -1)
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.db.CreateAnchor(context.Background(), vigil.Anchor{Workspace: ws, Chain: "witness:isolation.test",
			Kind: vigil.AnchorCosignature, Checkpoint: cp.Note, TreeSize: cp.Size, Root: cp.Root})
		if err != nil {
			t.Fatal(err)
		}
		anchorIDs[a.ID] = ws
	}

	type key struct {
		scope
		role   vigil.Role
		secret string
	}
	var keys []key
	for _, ws := range []string{"default", "other"} {
		for _, tenant := range []string{"", "t1", "t2"} {
			for _, role := range vigil.KeyRoles {
				if tenant != "" && role == vigil.RoleAdmin {
					continue // administration is workspace-wide
				}
				keys = append(keys, key{scope{ws, tenant}, role, e.key(ws, role, tenant)})
			}
		}
	}
	var allIDs []string
	for id := range ids {
		allIDs = append(allIDs, id)
	}
	byID := "/fhir/R4/AuditEvent?_id=" + strings.Join(allIDs, ",")
	srv := vhttp.NewServer(vhttp.Config{})
	requests, checked := 0, 0
	for _, rt := range srv.Routes() {
		method, pattern, _ := strings.Cut(rt, " ")
		roles := srv.RouteRoles(rt)
		if method != "GET" || roles == nil {
			continue
		}
		var paths []string
		pattern = strings.ReplaceAll(pattern, "{vid}", "1")
		switch {
		case eventIDIn(pattern) != "":
			for id := range ids {
				paths = append(paths, strings.ReplaceAll(pattern, "{id}", id))
			}
		case strings.HasPrefix(pattern, "/api/v1/alerts/"):
			for id := range alertIDs {
				paths = append(paths, strings.ReplaceAll(pattern, "{id}", id))
			}
		case strings.HasPrefix(pattern, "/api/v1/alert-rules/"):
			for _, id := range ruleIDs {
				paths = append(paths, strings.ReplaceAll(pattern, "{id}", id))
			}
		case strings.HasPrefix(pattern, "/api/v1/reports/") || strings.HasPrefix(pattern, "/api/v1/exports/"):
			for id, p := range jobPaths {
				if strings.HasPrefix(p, pattern[:strings.Index(pattern, "{id}")]) {
					paths = append(paths, strings.ReplaceAll(pattern, "{id}", id))
				}
			}
		case strings.HasPrefix(pattern, "/api/v1/anchors/"):
			for id := range anchorIDs {
				paths = append(paths, strings.ReplaceAll(pattern, "{id}", id))
			}
		case strings.Contains(pattern, "{id}"):
			continue // keys: administration, covered by the key tests
		case pattern == "/api/v1/events":
			paths = []string{pattern, pattern + "?action=seed.read", pattern + "?search=marker", pattern + "?limit=1",
				pattern + "?tenant_id=t1", pattern + "?tenant_id=t2", pattern + "?patient_id=" + data[0].marker() + "-pt-0"}
		case pattern == "/fhir/R4/AuditEvent":
			paths = []string{pattern, pattern + "?action=R", pattern + "?agent=" + data[0].marker() + "-actor", pattern + "?_count=1", byID,
				pattern + "?_lastUpdated=ge2000"}
		case pattern == "/api/v1/audit-events":
			paths = []string{pattern, pattern + "?action=R"}
		case pattern == "/api/v1/alerts":
			paths = []string{pattern, pattern + "?rule_type=watchlist", pattern + "?limit=1"}
		case pattern == "/api/v1/reports" || pattern == "/api/v1/exports":
			paths = []string{pattern, pattern + "?limit=1"}
		case pattern == "/api/v1/ledger/consistency":
			paths = []string{pattern + "?first=1&second=2"}
		case pattern == "/api/v1/ledger/leaves":
			paths = []string{pattern, pattern + "?from=0&to=5", pattern + "?from=3"}
		default:
			paths = []string{pattern}
		}
		for _, k := range keys {
			for _, p := range paths {
				r := e.get(p, k.secret)
				requests++
				if r.status >= 500 {
					t.Fatalf("%s by %s key of %v: %d %s", p, k.role, k.scope, r.status, r.body)
				}
				if !slices.Contains(roles, k.role) {
					if r.status != 403 {
						t.Fatalf("%s by %s key: %d, want 403", p, k.role, r.status)
					}
					continue
				}
				checked++
				if strings.HasPrefix(p, "/api/v1/ledger/leaves") {
					// The log holds this matrix's own recorded probes, which
					// name what was asked for; the events are what counts.
					r.body = withoutMetaAudit(t, r.body)
				}
				for _, d := range data {
					if !k.sees(d) && strings.Contains(withoutLinks(r.body), d.marker()) {
						t.Fatalf("%s by %s key of %v shows data of %v: %.400s", p, k.role, k.scope, d, r.body)
					}
				}
				for id, d := range ids {
					if !k.sees(d) && strings.Contains(string(r.body), id) && !strings.Contains(p, id) {
						t.Fatalf("%s by %s key of %v names event %s of %v", p, k.role, k.scope, id, d)
					}
				}
				if id := eventIDIn(p); id != "" && !k.sees(ids[id]) && r.status != 404 {
					t.Fatalf("%s by %s key of %v: %d, want 404", p, k.role, k.scope, r.status)
				}
				if id := alertIDIn(p); id != "" && !k.sees(alertIDs[id]) && r.status != 404 {
					t.Fatalf("%s by %s key of %v: %d, want 404", p, k.role, k.scope, r.status)
				}
				if id := alertIDIn(p); id != "" && k.sees(alertIDs[id]) && r.status != 200 {
					t.Fatalf("%s by %s key of %v: %d, want 200", p, k.role, k.scope, r.status)
				}
				if id := jobIDIn(p); id != "" {
					d := jobs[id]
					visible := k.ws == d.ws && (k.tenant == "" || k.tenant == d.tenant) && (d.tenant != "" || k.tenant == "")
					if !visible && r.status != 404 {
						t.Fatalf("%s by %s key of %v: %d, want 404", p, k.role, k.scope, r.status)
					}
					if visible && r.status != 200 {
						t.Fatalf("%s by %s key of %v: %d, want 200: %s", p, k.role, k.scope, r.status, r.body)
					}
				}
				for id, d := range jobs {
					visible := k.ws == d.ws && (k.tenant == "" || k.tenant == d.tenant) && (d.tenant != "" || k.tenant == "")
					if !visible && strings.Contains(string(r.body), id) && !strings.Contains(p, id) {
						t.Fatalf("%s by %s key of %v names job %s of %v", p, k.role, k.scope, id, d)
					}
				}
				for id, d := range alertIDs {
					if !k.sees(d) && strings.Contains(string(r.body), id) && !strings.Contains(p, id) {
						t.Fatalf("%s by %s key of %v names alert %s of %v", p, k.role, k.scope, id, d)
					}
				}
				if p == byID {
					// Searching by every id finds the visible ones only.
					var b struct{ Total int64 }
					r.json(t, &b)
					want := 0
					for _, d := range ids {
						if k.sees(d) {
							want++
						}
					}
					if b.Total != int64(want) {
						t.Fatalf("%v finds %d events by id, want %d", k.scope, b.Total, want)
					}
				}
				for id, ws := range anchorIDs {
					switch {
					case ws != k.ws && strings.Contains(string(r.body), id) && !strings.Contains(p, id):
						t.Fatalf("%s by %s key of %v names anchor %s of %s", p, k.role, k.scope, id, ws)
					case strings.HasPrefix(p, "/api/v1/anchors/"+id) && ws != k.ws && r.status != 404:
						t.Fatalf("%s by %s key of %v: %d, want 404", p, k.role, k.scope, r.status)
					case strings.HasPrefix(p, "/api/v1/anchors/"+id) && ws == k.ws && r.status != 200:
						t.Fatalf("%s by %s key of %v: %d, want 200: %s", p, k.role, k.scope, r.status, r.body)
					}
				}
				if p == "/api/v1/events?action=seed.read" {
					var list api.EventList
					r.json(t, &list)
					want := 0
					for _, d := range data {
						if k.sees(d) {
							want += 3
						}
					}
					if len(list.Data) != want || list.Pagination.Total != int64(want) {
						t.Fatalf("%v sees %d events (total %d), want %d", k.scope, len(list.Data), list.Pagination.Total, want)
					}
				}
			}
		}
	}
	// Cursors: the auditor of each scope pages every listing, and its
	// cursor is tried by the auditor of every scope. Only its own scope
	// continues with it; any other is refused (422) with nothing of the
	// scope that issued it.
	for _, l := range []pagedListing{
		{"/api/v1/events?limit=1", "cursor", restCursor},
		{"/api/v1/alerts?limit=1", "cursor", restCursor},
		{"/api/v1/audit-events?limit=1", "cursor", restCursor},
		{"/fhir/R4/AuditEvent?_count=1", "_cursor", fhirCursor},
	} {
		for _, a := range keys {
			if a.role != vigil.RoleAuditor {
				continue
			}
			c := l.next(t, e.get(l.path, a.secret))
			for _, b := range keys {
				if b.role != vigil.RoleAuditor {
					continue
				}
				r := e.get(l.path+"&"+l.param+"="+url.QueryEscape(c), b.secret)
				requests++
				want := 422
				if a.scope == b.scope {
					want = 200
				}
				if r.status != want {
					t.Fatalf("%s with a cursor of %v used by %v: %d, want %d: %.300s", l.path, a.scope, b.scope, r.status, want, r.body)
				}
				for _, d := range data {
					if !b.sees(d) && strings.Contains(withoutLinks(r.body), d.marker()) {
						t.Fatalf("%s with a cursor of %v used by %v shows data of %v", l.path, a.scope, b.scope, d)
					}
				}
			}
		}
	}

	// Writes that reuse the keys: every ingest key sends every scope's
	// events again, and other content under the same keys. A repeat is
	// answered with the event of the key's own scope (its tenant applied
	// first), a conflict names only that event, and no answer names an
	// event of a workspace or tenant the key may not see.
	writes := 0
	for _, k := range keys {
		if k.role != vigil.RoleIngest {
			continue
		}
		for _, d := range data {
			for i := range 3 {
				r := e.post("/api/v1/events", k.secret, seedBody(d, i))
				writes++
				mine := scope{k.ws, d.tenant} // where the event would go
				switch {
				case k.tenant != "" && k.tenant != d.tenant:
					if r.status != 403 {
						t.Fatalf("%v's event by the ingest key of %v: %d %s, want 403", d, k.scope, r.status, r.body)
					}
				case mine == d:
					var s api.Stored
					r.json(t, &s)
					if r.status != 200 || s.Status != "duplicate" || s.ID != seeded[d][i] {
						t.Fatalf("%v's event again by the ingest key of %v: %d %s, want a duplicate of %s", d, k.scope, r.status, r.body, seeded[d][i])
					}
				default: // another workspace's content under a key of k's own
					if r.status != 409 || !strings.Contains(string(r.body), seeded[mine][i]) {
						t.Fatalf("%v's event sent by the ingest key of %v: %d %s, want a conflict naming %s", d, k.scope, r.status, r.body, seeded[mine][i])
					}
				}
				noForeignIDs(t, k.scope, r.body, ids)
			}
		}
		// Other content under a seeded key, the tenant left to the key.
		r := e.post("/api/v1/events", k.secret, `{"actor_id":"probe","action":"probe.write","idempotency_key":"seed-0"}`)
		writes++
		if k.tenant != "" && (r.status != 409 || !strings.Contains(string(r.body), seeded[k.scope][0])) {
			t.Fatalf("other content by the ingest key of %v: %d %s, want a conflict naming %s", k.scope, r.status, r.body, seeded[k.scope][0])
		}
		if k.tenant == "" && r.status != 201 { // no tenant is a scope of its own, with no seed-0 yet
			t.Fatalf("other content without a tenant by the ingest key of %v: %d %s, want it stored", k.scope, r.status, r.body)
		}
		noForeignIDs(t, k.scope, r.body, ids)
	}
	t.Logf("isolation matrix: %d keys, %d requests, %d answered with data checked, %d writes reusing keys", len(keys), requests, checked, writes)
}

// noForeignIDs fails if body names an event of a scope k may not see.
func noForeignIDs(t *testing.T, k scope, body []byte, ids map[string]scope) {
	t.Helper()
	for id, d := range ids {
		if !k.sees(d) && strings.Contains(string(body), id) {
			t.Fatalf("an answer to %v names event %s of %v: %s", k, id, d, body)
		}
	}
}

// eventIDIn returns the event id a path names, if any.
func eventIDIn(path string) string {
	for _, prefix := range []string{"/api/v1/events/", "/api/v1/audit-events/", "/fhir/R4/AuditEvent/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			id, _, _ := strings.Cut(rest, "/")
			return id
		}
	}
	return ""
}

// withoutMetaAudit is a leaves answer without the server's records of
// reads (source "vigil"), which echo what each read asked for.
func withoutMetaAudit(t *testing.T, body []byte) []byte {
	var lv api.Data[api.Leaves]
	if json.Unmarshal(body, &lv) != nil {
		return body
	}
	events := lv.Data.Events[:0]
	for _, e := range lv.Data.Events {
		if e.Source == nil || *e.Source != "vigil" {
			events = append(events, e)
		}
	}
	lv.Data.Events = events
	b, err := json.Marshal(lv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withoutLinks is a body without a FHIR Bundle's links, which echo the
// search (and so name what was searched for, found or not).
func withoutLinks(body []byte) string {
	var bundle map[string]json.RawMessage
	if json.Unmarshal(body, &bundle) != nil || bundle["resourceType"] == nil {
		return string(body)
	}
	delete(bundle, "link")
	b, _ := json.Marshal(bundle)
	return string(b)
}

// jobIDIn returns the report or export id a path names, if any.
func jobIDIn(path string) string {
	for _, prefix := range []string{"/api/v1/reports/", "/api/v1/exports/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			id, _, _ := strings.Cut(rest, "/")
			return id
		}
	}
	return ""
}

// waitJob waits until a report or export is generated.
func waitJob(t *testing.T, e *env, path, key string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var job struct {
			Data struct {
				Status       string
				ErrorMessage string `json:"error_message"`
			}
		}
		e.get(path, key).json(t, &job)
		switch job.Data.Status {
		case vigil.JobCompleted:
			return
		case "failed":
			t.Fatalf("%s failed: %s", path, job.Data.ErrorMessage)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still %s", path, job.Data.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alertIDIn returns the alert id a path names, if any.
func alertIDIn(path string) string {
	rest, ok := strings.CutPrefix(path, "/api/v1/alerts/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// TestIsolationViewerTokens: viewer tokens minted by issuer and admin
// keys of each workspace, for each tenant and for one actor, see through
// the viewer page and the web component's endpoint only their tenant's
// events (only the actor's when named), whatever is asked; a token of one
// workspace never sees the other's.
func TestIsolationViewerTokens(t *testing.T) {
	e := newEnvWith(t, vhttp.Config{AuthFailuresPerMinute: 1 << 30})
	data := []scope{{"default", "t1"}, {"default", "t2"}, {"other", "t1"}, {"other", "t2"}}
	for _, d := range data {
		ingest := e.key(d.ws, vigil.RoleIngest, "")
		for i := range 3 {
			body := fmt.Sprintf(`{"actor_id":"%[1]s-actor-%[2]d","action":"seed.read","tenant_id":"%[3]s","metadata":{"note":"%[1]s"}}`, d.marker(), i%2, d.tenant)
			wantStatus(t, e.post("/api/v1/events", ingest, body), 201)
		}
	}
	cons, err := console.New(console.Config{Events: e.db, Scanner: e.db, Ledger: e.db, Keys: e.db, Users: e.db,
		VerifierKey: testVKey, Secret: testViewerSecret, ViewerTokens: vigil.NewViewerTokens(testViewerSecret)})
	if err != nil {
		t.Fatal(err)
	}
	viewer := httptest.NewServer(cons)
	defer viewer.Close()
	get := func(path, token string) (int, string) {
		req, _ := nethttp.NewRequest("GET", viewer.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := nethttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	checked := 0
	for _, ws := range []string{"default", "other"} {
		for _, role := range []vigil.Role{vigil.RoleIssuer, vigil.RoleAdmin} {
			key := e.key(ws, role, "")
			for _, tenant := range []string{"t1", "t2", "t3"} {
				for _, actor := range []string{"", scope{ws, tenant}.marker() + "-actor-0"} {
					body := `{"tenant_id":"` + tenant + `"`
					if actor != "" {
						body += `,"actor_id":"` + actor + `"`
					}
					var tok api.ViewerToken
					r := e.post("/api/v1/viewer-token", key, body+"}")
					wantStatus(t, r, 200)
					r.json(t, &tok)
					own := scope{ws, tenant}
					// A cursor of the token's own listing, far into the past.
					vq, _, err := vhttp.ParseEventQuery(url.Values{"limit": {"50"}})
					if err != nil {
						t.Fatal(err)
					}
					vq.Workspace, vq.TenantScope, vq.ActorID = ws, tenant, actor
					cursor := url.QueryEscape(vhttp.EventCursor(vq, 1<<40))
					for _, path := range []string{"/viewer/events", "/viewer/events?cursor=" + cursor,
						"/viewer?token=" + url.QueryEscape(tok.Token), "/viewer?token=" + url.QueryEscape(tok.Token) + "&cursor=" + cursor} {
						token := tok.Token
						if strings.HasPrefix(path, "/viewer?") {
							token = ""
						}
						status, page := get(path, token)
						if status != 200 {
							t.Fatalf("%s by a %s token of %s for %s: %d %.300s", path, role, ws, tenant, status, page)
						}
						for _, d := range data {
							if d != own && strings.Contains(page, d.marker()) {
								t.Fatalf("%s by a token of %v shows data of %v: %.400s", path, own, d, page)
							}
						}
						want := 3
						switch {
						case tenant == "t3":
							want = 0
						case actor != "":
							want = 2
						}
						if n := strings.Count(page, `"action":"seed.read"`) + strings.Count(page, "<td>seed.read</td>"); n != want {
							t.Fatalf("%s by a token of %v (actor %q) shows %d events, want %d: %.600s", path, own, actor, n, want, page)
						}
						if actor != "" && strings.Contains(page, own.marker()+"-actor-1") {
							t.Fatalf("%s by a token of actor %s shows another actor's events", path, actor)
						}
						checked++
					}
				}
			}
		}
	}
	// A token of one workspace signed for another by a forger is not a
	// token: without the secret the signature fails.
	forged, _ := vigil.NewViewerTokens([]byte("not the server's secret at all!!")).Mint(vigil.ViewerGrant{Workspace: "default", TenantID: "t1",
		IssuedBy: "key_x", ExpiresAt: time.Now().Add(time.Hour)})
	if status, _ := get("/viewer/events", forged); status != 401 {
		t.Fatalf("a forged token: %d", status)
	}
	t.Logf("viewer isolation: %d answers checked", checked)
}
