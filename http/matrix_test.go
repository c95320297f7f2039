package http_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/sqlite"
)

// TestBadInputMatrix sends every kind of bad request to every route and
// checks that each gets a documented 4xx JSON error, that none gets a 5xx,
// and that the database files are byte-for-byte what they were before.
func TestBadInputMatrix(t *testing.T) {
	// The PHI guard in refuse mode, vigil serve's default.
	e := newEnvGuarded(t, vhttp.Config{AuthFailuresPerMinute: 1 << 30}, vigil.PHIRefuse, nil)
	keys := map[vigil.Role]string{vigil.RoleIngest: e.ingest, vigil.RoleAuditor: e.auditor, vigil.RoleAdmin: e.admin}
	revoked := e.key("default", vigil.RoleAdmin, "")
	k, err := e.db.KeyByHash(context.Background(), vigil.HashKey(revoked))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.RevokeKey(context.Background(), "default", k.ID); err != nil {
		t.Fatal(err)
	}
	// Data that exists, so ids and keys of another workspace or tenant are real.
	otherAdmin := e.key("other", vigil.RoleAdmin, "")
	otherKeys := map[vigil.Role]string{vigil.RoleAdmin: otherAdmin, vigil.RoleAuditor: e.key("other", vigil.RoleAuditor, ""),
		vigil.RoleIngest: e.key("other", vigil.RoleIngest, "")}
	tenantKeys := map[vigil.Role]string{vigil.RoleAuditor: e.key("default", vigil.RoleAuditor, "t1"),
		vigil.RoleIngest: e.key("default", vigil.RoleIngest, "t1")}
	var stored struct{ ID string }
	e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"seed.read","tenant_id":"t2"}`).json(t, &stored)
	mine := stored.ID
	e.post("/api/v1/events", e.key("other", vigil.RoleIngest, ""), `{"actor_id":"a","action":"seed.read"}`).json(t, &stored)
	theirs := stored.ID
	if mine == "" || theirs == "" {
		t.Fatal("seeding failed")
	}
	// An event under an idempotency key, which the conflict cases reuse
	// with other content.
	if r := e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"seed.keyed","idempotency_key":"matrix-key"}`); r.status != 201 {
		t.Fatalf("seeding a keyed event: %d %s", r.status, r.body)
	}
	otherKeyID := keyID(t, e, otherAdmin)
	cp := e.waitCheckpointOf("default")
	anchored, err := e.db.CreateAnchor(context.Background(), vigil.Anchor{Workspace: "default", Chain: "witness:matrix.test",
		Kind: vigil.AnchorCosignature, Checkpoint: cp.Note, TreeSize: cp.Size, Root: cp.Root})
	if err != nil {
		t.Fatal(err)
	}
	var rule struct{ Data struct{ ID string } }
	r := e.post("/api/v1/alert-rules", e.admin, `{"name":"VIP","rule_type":"watchlist","conditions":{"patients":["pt_vip"]}}`)
	r.json(t, &rule)
	if rule.Data.ID == "" {
		t.Fatalf("creating a rule: %d %s", r.status, r.body)
	}
	var hold struct{ Data struct{ ID string } }
	r = e.post("/api/v1/legal-holds", e.admin, `{"tenant_id":"t2","reason":"matrix"}`)
	r.json(t, &hold)
	if hold.Data.ID == "" {
		t.Fatalf("placing a hold: %d %s", r.status, r.body)
	}
	// idFor is an id that exists in the default workspace for a route.
	idFor := func(pattern string) string {
		switch {
		case strings.Contains(pattern, "/keys/"):
			return keyID(t, e, e.admin)
		case strings.Contains(pattern, "/alert-rules/"):
			return rule.Data.ID
		case strings.Contains(pattern, "/anchors/"):
			return anchored.ID
		case strings.Contains(pattern, "/legal-holds/"):
			return hold.Data.ID
		}
		return mine
	}
	// Cursors of other listings: another workspace's, another tenant
	// scope's, other filters'. Each is refused where it does not belong.
	e.post("/api/v1/events", otherKeys[vigil.RoleIngest], `{"actor_id":"a","action":"seed.read"}`)
	for range 2 {
		e.post("/api/v1/events", e.ingest, `{"actor_id":"vip-reader","action":"seed.read","patient_id":"pt_vip","tenant_id":"t1"}`)
	}
	if n, err := e.db.AlertEvaluator(sqlite.AlertOptions{}).Pass(context.Background()); err != nil || n != 2 {
		t.Fatalf("%d alerts (%v), want 2", n, err)
	}
	foreignCursors := map[string][]string{} // route pattern -> queries with a cursor that is not its own
	for _, l := range []struct {
		pagedListing
		filter string
	}{
		{pagedListing{"/api/v1/events?limit=1", "cursor", restCursor}, "action=seed.read"},
		{pagedListing{"/api/v1/alerts?limit=1", "cursor", restCursor}, "status=open"},
		{pagedListing{"/api/v1/audit-events?limit=1", "cursor", restCursor}, "outcome=0"},
		{pagedListing{"/fhir/R4/AuditEvent?_count=1", "_cursor", fhirCursor}, "subtype=seed.read"},
	} {
		base, query, _ := strings.Cut(l.path, "?")
		for _, key := range []string{otherKeys[vigil.RoleAuditor], tenantKeys[vigil.RoleAuditor], e.auditor} {
			r := e.get(l.path, key)
			if !strings.Contains(string(r.body), `"has_more":true`) && !strings.Contains(string(r.body), `"relation":"next"`) {
				continue // that scope has one page: no cursor to carry
			}
			q := query
			if key == e.auditor {
				q += "&" + l.filter // its own cursor, under other filters
			}
			foreignCursors[base] = append(foreignCursors[base], q+"&"+l.param+"="+url.QueryEscape(l.next(t, r)))
		}
		if len(foreignCursors[base]) < 2 {
			t.Fatalf("%s: only %d foreign cursors", base, len(foreignCursors[base]))
		}
	}

	e.quiesce()
	before := e.dbDigest()

	type request struct {
		name, method, path, key, ctype string
		headers                        []string
		body                           []byte
		want                           int // 0: any 4xx
		// attempt: a well-formed lookup by an allowed key that finds
		// nothing; it is recorded as a failed read of the trail, and
		// nothing else is written.
		attempt bool
		// field: a request wrong in one value only, whose answer must
		// name it (badFields).
		field   *badField
		lenient bool // a FHIR request sent without Prefer: handling=strict
	}
	var cases []request
	var attempts []request
	add := func(c request) {
		if c.want == 404 && c.method == "GET" && looksLikeEventID(c.path) {
			c.attempt = true
			attempts = append(attempts, c)
			return
		}
		cases = append(cases, c)
	}

	routes := vhttp.NewServer(vhttp.Config{}).Routes()
	srv := vhttp.NewServer(vhttp.Config{})
	bigString := strings.Repeat("x", 1<<20)
	for _, rt := range routes {
		method, pattern, _ := strings.Cut(rt, " ")
		roles := srv.RouteRoles(rt)
		pattern = strings.ReplaceAll(pattern, "{vid}", "1")
		paths := map[string]int{}
		if strings.Contains(pattern, "{id}") {
			for _, bad := range []string{"1'%20OR%20'1'='1", "..%2F..%2Fetc%2Fpasswd", "%00", strings.Repeat("9", 10000),
				"%E2%80%AE%F0%9F%98%80", "0190b5a0-0000-7000-8000-000000000000", theirs, otherKeyID} {
				want := 404
				if method != "GET" {
					want = 0 // a bad body may be refused before the id is looked up
				}
				paths[strings.ReplaceAll(pattern, "{id}", bad)] = want
			}
		}
		allowed := func(r vigil.Role) bool { return slices.Contains(roles, r) }
		var good vigil.Role // a role allowed on the route
		for _, r := range []vigil.Role{vigil.RoleAuditor, vigil.RoleIngest, vigil.RoleAdmin} {
			if allowed(r) {
				good = r
				break
			}
		}
		path := strings.ReplaceAll(pattern, "{id}", idFor(pattern))
		writes := method == "POST" || method == "PUT" || method == "PATCH"
		var okBody []byte
		if writes {
			okBody = []byte(`{"zz_unknown":1}`)
		}

		// Who may call it.
		if roles != nil {
			for name, key := range map[string]string{"no key": "", "empty key": " ", "basic auth": "Basic dXNlcjpwYXNz",
				"malformed key": "Bearer imk_sk_123", "unknown key": "Bearer " + vigil.NewKeySecret(), "revoked key": "Bearer " + revoked} {
				add(request{name: name, method: method, path: path, key: key, body: okBody, want: 401})
			}
			for r, key := range keys {
				if !allowed(r) {
					add(request{name: "role " + string(r), method: method, path: path, key: "Bearer " + key, body: okBody, want: 403})
				}
			}
			if strings.Contains(pattern, "{id}") && method == "GET" && !strings.Contains(pattern, "/keys/") {
				add(request{name: "other workspace", method: method, path: path, key: "Bearer " + otherKeys[good], want: 404})
				// Administration is workspace-wide, and so are anchors, which
				// every auditor of the workspace reads.
				if good != vigil.RoleAdmin && !strings.Contains(pattern, "/anchors/") {
					add(request{name: "other tenant", method: method, path: path, key: "Bearer " + tenantKeys[good], want: 404})
				}
			}
		}
		auth := "Bearer " + e.auditor // routes open to all may still read a key (downloads)
		if good != "" {
			auth = "Bearer " + keys[good]
		}
		// What it is sent.
		for p, want := range paths {
			if p != path {
				add(request{name: "bad id", method: method, path: p, key: auth, body: okBody, want: want})
			}
		}
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if !servedBy(routes, m, path) {
				add(request{name: "method " + m, method: m, path: path, key: auth, body: okBody, want: 405})
			}
		}
		if writes {
			bodies := map[string]string{
				"invalid json": `{"a":`, "null": `null`, "array": `[]`, "string": `"s"`, "number": `1`,
				"unknown field": `{"zz_unknown":1}`, "null fields": `{"actor_id":null,"action":null,"role":null,"name":null}`,
				"wrong types":  `{"actor_id":1,"action":true,"role":[],"name":{}}`,
				"deep nesting": strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100),
				"1 MB string":  `{"actor_id":"` + bigString + `","action":"a","name":"` + bigString + `"}`,
				"huge body":    `{"actor_id":"a","action":"b","metadata":{"x":"` + strings.Repeat(bigString, 40) + `"}}`,
				"invalid utf8": "{\"actor_id\":\"\xff\xfe\",\"action\":\"a\"}", "NUL byte": "{\"actor_id\":\"a\x00\",\"action\":\"a\"}",
				"bad time":  `{"actor_id":"a","action":"a","occurred_at":"2024-02-30T25:61:00+99:00"}`,
				"bad zone":  `{"actor_id":"a","action":"a","occurred_at":"2024-02-01T10:00:00 Mars/Olympus"}`,
				"empty":     ``,
				"dup field": `{"actor_id":"a","actor_id":"b","action":"a"}`,
			}
			if !takesBody(t, rt) {
				delete(bodies, "empty") // the one body such a route takes
			}
			for name, body := range bodies {
				add(request{name: "body " + name, method: method, path: path, key: auth, body: []byte(body)})
			}
			add(request{name: "unknown query parameter", method: method, path: path + "?zz_unknown=1", key: auth, body: []byte(`{"actor_id":"a","action":"a","role":"auditor","name":"n"}`)})
			media := 0 // a route without a body refuses the body itself
			if takesBody(t, rt) {
				media = 415
			}
			for name, ct := range map[string]string{"wrong content type": "text/plain", "form content type": "application/x-www-form-urlencoded",
				"latin1 charset": "application/json; charset=latin1", "utf-16 charset": "application/json; charset=utf-16",
				"unknown media parameter": "application/json; version=2", "bad media type": "application/json; charset",
				"FHIR DSTU2 version": "application/fhir+json; fhirVersion=1.0"} {
				add(request{name: name, method: method, path: path, key: auth, ctype: ct, body: []byte(`{"actor_id":"a","action":"a"}`), want: media})
			}
		}
		// A query string that does not parse whole is refused on every
		// route, and an empty value on every route that takes a key.
		for q, want := range map[string]int{"actor_id=%": 400, "actor_id=qz;action=x": 400, "action=%E2%82": 400, "=x": 400} {
			add(request{name: "query " + q, method: method, path: path + "?" + q, key: auth, body: okBody, want: want})
		}
		if roles != nil {
			add(request{name: "query empty value", method: method, path: path + "?action=", key: auth, body: okBody, want: 422})
		}
		if path == "/fhir/R4/AuditEvent" && method == "GET" {
			// Lenient handling still refuses what it cannot honour and
			// could narrow the search.
			for _, q := range []string{"subject=Patient/1", "zz_unknown=1", "_tag=x", "_has:Patient:name:x=1", "agent.name=x",
				"_summary=nope", "_id:not=x", "_lastUpdated=yesterday"} {
				add(request{name: "lenient " + q, method: method, path: path + "?" + q, key: auth, want: 422, lenient: true})
			}
		}
		for _, q := range foreignCursors[path] {
			if method != "GET" {
				break
			}
			add(request{name: "foreign cursor", method: method, path: path + "?" + q, key: auth, want: 422})
		}
		if method == "GET" && roles == nil && !strings.HasPrefix(path, "/fhir/") && !strings.HasSuffix(pattern, "/download") {
			// The operational routes take no parameters.
			add(request{name: "unknown query parameter", method: method, path: path + "?zz_unknown=1", want: 422})
		}
		if method == "GET" && roles != nil {
			for _, q := range []string{"zz_unknown=1", "limit=-1", "limit=0", "limit=99999999999999999999", "limit=ten",
				"cursor=forged", "cursor=eyJzIjo5OTk5OTk5OTk5fQ", "from=yesterday", "from=2024-01-01T00:00:00%2B25:00",
				"to=2024-13-01", "from=2024-06-02&to=2024-06-01", "limit=1&limit=2", "actor_id=%00", "size=-5", "size=abc",
				"first=2&second=1", "action=" + strings.Repeat("a", 5000), "tree_size=0", "tree_size=100000", "from=-1", "from=9&to=3"} {
				add(request{name: "query " + q[:min(len(q), 40)], method: method, path: path + "?" + q, key: auth})
			}
		}
		if pattern == "/api/v1/ledger/leaves" {
			// Ranges the log cannot answer are refused before any
			// checkpoint is signed for them.
			for _, q := range []string{"to=100000", "tree_size=100000", "from=0&to=101", "from=100000", "from=5&to=5", "tree_size=1&to=2"} {
				add(request{name: "range " + q, method: method, path: path + "?" + q, key: auth})
			}
			add(request{name: "tenant key", method: method, path: path, key: "Bearer " + tenantKeys[vigil.RoleAuditor], want: 403})
		}
	}

	// A reused idempotency key with other content: 409 on every route that
	// creates events, alone or in a batch, and nothing stored.
	ingest := "Bearer " + e.ingest
	fhirLogin := fhirFixture(t, "r4-example-login.json")
	for _, c := range []request{
		{name: "key reused", path: "/api/v1/events", body: []byte(`{"actor_id":"a","action":"other","idempotency_key":"matrix-key"}`)},
		{name: "key reused by the header", path: "/api/v1/events", headers: []string{"Idempotency-Key", "matrix-key"}, body: []byte(`{"actor_id":"a","action":"other"}`)},
		{name: "key reused in a batch", path: "/api/v1/events/batch", body: []byte(`{"events":[{"actor_id":"a","action":"new"},{"actor_id":"a","action":"other","idempotency_key":"matrix-key"}]}`)},
		{name: "key twice in a batch", path: "/api/v1/events/batch", body: []byte(`{"events":[{"actor_id":"a","action":"x","idempotency_key":"fresh"},{"actor_id":"a","action":"y","idempotency_key":"fresh"}]}`)},
		{name: "key reused by FHIR", path: "/fhir/R4/AuditEvent", ctype: "application/fhir+json", headers: []string{"Idempotency-Key", "matrix-key"}, body: fhirLogin},
		{name: "key reused by seed 001's shape", path: "/api/v1/audit-events", headers: []string{"Idempotency-Key", "matrix-key"}, body: fhirFixture(t, "seed001-login.json")},
	} {
		c.method, c.key, c.want = "POST", ingest, 409
		add(c)
	}
	for _, c := range []request{
		{name: "conditional create", path: "/fhir/R4/AuditEvent", headers: []string{"If-None-Exist", "identifier=x"}},
		{name: "Idempotency-Key twice", path: "/fhir/R4/AuditEvent", headers: []string{"Idempotency-Key", "a", "Idempotency-Key", "b"}},
		{name: "Idempotency-Key malformed", path: "/api/v1/audit-events", headers: []string{"Idempotency-Key", `"a\x"`}},
		{name: "Idempotency-Key on a batch", path: "/api/v1/events/batch", headers: []string{"Idempotency-Key", "a"}},
	} {
		c.method, c.key, c.want, c.ctype = "POST", ingest, 422, "application/json"
		c.body = fhirLogin
		if c.path == "/api/v1/events/batch" {
			c.body = []byte(`{"events":[{"actor_id":"a","action":"x"}]}`)
		}
		add(c)
	}

	// Requests right in all but one value: out-of-range times in every
	// form on every route, offsets, sub-nanosecond fractions, control
	// characters in each identifier and name, an empty key tenant, limits.
	for _, f := range badFields() {
		c := request{name: f.rule + ": " + f.name, method: f.method, path: f.path, key: "Bearer " + keys[f.role], want: 422, field: &f}
		if f.body != "" {
			c.body = []byte(f.body)
		}
		add(c)
	}

	// Retention and legal holds: right in all but one value.
	holdPath := "/api/v1/legal-holds/" + hold.Data.ID
	for _, f := range []badField{
		{"retention", "under six years", "PUT", "/api/v1/retention", vigil.RoleAdmin, `{"retention_days":2191}`, "retention_days"},
		{"retention", "no days", "PUT", "/api/v1/retention", vigil.RoleAdmin, `{"hipaa":false}`, "retention_days"},
		{"retention", "a century and more", "PUT", "/api/v1/retention", vigil.RoleAdmin, `{"retention_days":40000,"hipaa":false}`, "retention_days"},
		{"hold", "no reason", "POST", "/api/v1/legal-holds", vigil.RoleAdmin, `{"patient_id":"pt_1"}`, "reason"},
		{"hold", "reason of two lines", "POST", "/api/v1/legal-holds", vigil.RoleAdmin, `{"patient_id":"pt_1","reason":"a\nb"}`, "reason"},
		{"hold", "no subject", "POST", "/api/v1/legal-holds", vigil.RoleAdmin, `{"reason":"r"}`, "tenant_id"},
		{"hold", "empty patient", "POST", "/api/v1/legal-holds", vigil.RoleAdmin, `{"patient_id":"","reason":"r"}`, "patient_id"},
		{"hold", "bad from", "POST", "/api/v1/legal-holds", vigil.RoleAdmin, `{"from":"2024-02-30","reason":"r"}`, "from"},
		{"hold", "to far future", "POST", "/api/v1/legal-holds", vigil.RoleAdmin, `{"to":"9999-12-31","reason":"r"}`, "to"},
		{"hold", "release without reason", "DELETE", holdPath, vigil.RoleAdmin, `{"reason":""}`, "reason"},
		{"hold", "release with unknown field", "DELETE", holdPath, vigil.RoleAdmin, `{"reason":"r","by":"me"}`, "by"},
	} {
		add(request{name: f.rule + ": " + f.name, method: f.method, path: f.path, key: "Bearer " + keys[f.role], body: []byte(f.body), want: 422, field: &f})
	}
	add(request{name: "hold: release without body", method: "DELETE", path: holdPath, key: "Bearer " + e.admin, want: 400})

	// Free text that looks like PHI, on every route that takes events.
	for _, p := range phiCases() {
		f := p.badField
		add(request{name: "phi: " + f.name, method: f.method, path: f.path, key: "Bearer " + keys[f.role], ctype: p.contentType(),
			body: []byte(f.body), want: 422, field: &f})
	}

	fivexx := 0
	for i, c := range cases {
		t.Run(fmt.Sprintf("%03d %s %s %s", i, c.method, c.path[:min(len(c.path), 60)], c.name), func(t *testing.T) {
			var headers []string
			if c.key != "" {
				headers = append(headers, "Authorization", c.key)
			}
			if c.ctype != "" {
				headers = append(headers, "Content-Type", c.ctype)
			}
			headers = append(headers, c.headers...)
			if strings.HasPrefix(c.path, "/fhir/") && !c.lenient {
				// Lenient handling (the FHIR default) answers unknown
				// search parameters with a warning; strict refuses them.
				headers = append(headers, "Prefer", "handling=strict")
			}
			var body any
			if c.body != nil {
				body = c.body
			}
			r := e.do(c.method, c.path, "", body, headers...)
			if r.status >= 500 {
				fivexx++
			}
			after := e.dbDigest()
			changed := after != before
			before = after // so the next case is judged on its own
			if r.status < 400 || r.status >= 500 || (c.want != 0 && r.status != c.want) {
				want := "a 4xx"
				if c.want != 0 {
					want = fmt.Sprint(c.want)
				}
				t.Fatalf("status %d, want %s: %.300s", r.status, want, r.body)
			}
			errorBody(t, c.path, r)
			if c.field != nil && !c.field.names(t, r) {
				t.Fatalf("the answer does not name %s: %.600s", c.field.field, r.body)
			}
			if leaks(r.body, c.path, theirs, otherKeyID) {
				t.Fatalf("the answer names another workspace's data: %s", r.body)
			}
			if changed {
				t.Fatal("the database changed")
			}
		})
	}
	// The recorded attempts run last: each adds one meta-audit event (and,
	// later, a checkpoint over it), so the byte comparison ends here.
	for i, c := range attempts {
		t.Run(fmt.Sprintf("attempt %03d %s %s %s", i, c.method, c.path[:min(len(c.path), 60)], c.name), func(t *testing.T) {
			ws := "default"
			if c.key == "Bearer "+otherKeys[vigil.RoleAuditor] {
				ws = "other"
			}
			q := vigil.Query{Workspace: ws, Limit: 1, Before: -1}
			pre, err := e.db.Events(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			r := e.do(c.method, c.path, "", nil, "Authorization", c.key)
			if r.status != 404 {
				t.Fatalf("status %d, want 404: %.300s", r.status, r.body)
			}
			errorBody(t, c.path, r)
			if leaks(r.body, c.path, theirs, otherKeyID) {
				t.Fatalf("the answer names another workspace's data: %s", r.body)
			}
			post, err := e.db.Events(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if post.Total != pre.Total+1 {
				t.Fatalf("%d events written, want the one record of the attempt", post.Total-pre.Total)
			}
			rec := post.Events[0]
			if !strings.HasPrefix(rec.Action, "vigil.") || rec.Outcome != vigil.OutcomeFailure || rec.ActorID != keyID(t, e, strings.TrimPrefix(c.key, "Bearer ")) {
				t.Fatalf("the attempt was recorded as %s by %s with outcome %s", rec.Action, rec.ActorID, rec.Outcome)
			}
			// The server's own records carry no idempotency key: no
			// client's key can make one a duplicate, or refuse it.
			if rec.IdempotencyKey != "" || !rec.IPFromConnection {
				t.Fatalf("the attempt's record has idempotency key %q, address from the connection %v", rec.IdempotencyKey, rec.IPFromConnection)
			}
		})
	}
	t.Logf("bad-input matrix: %d cases over %d routes (%d of them recorded lookups), %d answered 5xx", len(cases)+len(attempts), len(routes), len(attempts), fivexx)
	fmt.Printf("bad-input matrix: %d cases over %d routes, %d answered 5xx\n", len(cases)+len(attempts), len(routes), fivexx)
}

// errorBody checks that an error answer has the documented shape: the
// API's {"error", "message", "details"}, or an OperationOutcome with at
// least one issue on the FHIR routes.
func errorBody(t *testing.T, path string, r response) {
	t.Helper()
	if !strings.HasPrefix(path, "/fhir/") {
		r.errorCode(t)
		return
	}
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Severity, Code, Diagnostics string
		} `json:"issue"`
	}
	r.json(t, &oo)
	if oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 || oo.Issue[0].Severity == "" || oo.Issue[0].Code == "" || oo.Issue[0].Diagnostics == "" {
		t.Fatalf("FHIR error body is not an OperationOutcome with an issue: %s", r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Fatalf("FHIR error Content-Type %q", ct)
	}
}

// eventReadPrefixes are the routes that read one record of the trail by
// its id: an event under each of the API's shapes, an alert, a report or
// an export.
var eventReadPrefixes = []string{"/api/v1/events/", "/api/v1/audit-events/", "/fhir/R4/AuditEvent/", "/api/v1/alerts/",
	"/api/v1/reports/", "/api/v1/exports/"}

// looksLikeEventID reports whether the path names an event by an id of the
// right shape.
func looksLikeEventID(path string) bool {
	for _, prefix := range eventReadPrefixes {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			id, _, _ := strings.Cut(rest, "/")
			return len(id) == 36 && strings.Count(id, "-") == 4
		}
	}
	return false
}

// takesBody reports whether the OpenAPI document gives the route a request
// body.
func takesBody(t *testing.T, route string) bool {
	t.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody json.RawMessage `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	method, path, _ := strings.Cut(route, " ")
	op, ok := doc.Paths[path][strings.ToLower(method)]
	if !ok {
		t.Fatalf("%s is not in openapi.json", route)
	}
	return op.RequestBody != nil
}

// servedBy reports whether some route of routes takes method on path.
func servedBy(routes []string, method, path string) bool {
	for _, rt := range routes {
		m, pattern, _ := strings.Cut(rt, " ")
		if m != method {
			continue
		}
		ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
		if len(ps) != len(xs) {
			continue
		}
		match := true
		for i := range ps {
			if ps[i] != xs[i] && !strings.HasPrefix(ps[i], "{") {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// leaks reports whether the body names one of ids that the request did
// not name itself.
func leaks(body []byte, path string, ids ...string) bool {
	for _, id := range ids {
		if id != "" && strings.Contains(string(body), id) && !strings.Contains(path, id) {
			return true
		}
	}
	return false
}

func keyID(t *testing.T, e *env, secret string) string {
	t.Helper()
	k, err := e.db.KeyByHash(context.Background(), vigil.HashKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k.ID
}

// dbDigest hashes the database and its write-ahead log: any write, even
// one rolled back after spilling, changes one of them.
func (e *env) dbDigest() string {
	h := sha256.New()
	for _, f := range []string{e.dbPath, e.dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			e.t.Fatal(err)
		}
		h.Write(b)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// quiesce waits until the store's work after the last commit (checkpoint
// signing) is done and the files stop changing.
func (e *env) quiesce() {
	prev := ""
	for range 100 {
		d := e.dbDigest()
		if d == prev {
			return
		}
		prev = d
		time.Sleep(1500 * time.Millisecond)
	}
	e.t.Fatal("the database never settled")
}
