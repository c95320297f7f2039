package http_test

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/fhir"
	vhttp "github.com/vigilhq/vigil/http"
)

func fhirFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "fhir", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fhirFixtures(t testing.TB, pattern string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("..", "fhir", "testdata", pattern))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures %s", pattern)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

func (e *env) fhirPost(key string, body []byte, headers ...string) response {
	e.t.Helper()
	return e.do("POST", "/fhir/R4/AuditEvent", key, body, append([]string{"Content-Type", "application/fhir+json"}, headers...)...)
}

// outcome checks a body is an OperationOutcome served as FHIR and returns
// its issues.
func (r response) outcome(t testing.TB) []fhir.Issue {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Fatalf("Content-Type %q, body %s", ct, r.body)
	}
	var oo fhir.OperationOutcome
	r.json(t, &oo)
	if oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("not an OperationOutcome: %s", r.body)
	}
	for _, is := range oo.Issue {
		if is.Severity == "" || is.Code == "" || is.Diagnostics == "" {
			t.Fatalf("incomplete issue %+v", is)
		}
	}
	return oo.Issue
}

func expressions(issues []fhir.Issue) []string {
	var out []string
	for _, is := range issues {
		out = append(out, is.Expression...)
	}
	return out
}

// TestFHIRCreateReadRoundTrip: each published example goes in through the
// FHIR endpoint and comes back with every element, plus id and meta; the
// events are in the ledger and the reads in the meta-audit.
func TestFHIRCreateReadRoundTrip(t *testing.T) {
	e := newEnv(t)
	names := append(fhirFixtures(t, "r4-*.json"), fhirFixtures(t, "balp-*.json")...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			body := fhirFixture(t, name)
			r := e.fhirPost(e.ingest, body)
			wantStatus(t, r, 201)
			var created fhir.AuditEvent
			r.json(t, &created)
			if created.ID == "" || created.Meta == nil || created.Meta.VersionID != "1" || created.Meta.LastUpdated == "" {
				t.Fatalf("created without id or meta: %s", r.body)
			}
			loc := r.header.Get("Location")
			if !strings.HasSuffix(loc, "/fhir/R4/AuditEvent/"+created.ID+"/_history/1") || !strings.HasPrefix(loc, "http://") {
				t.Fatalf("Location %q", loc)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
				t.Fatalf("Content-Type %q", ct)
			}
			read := e.get("/fhir/R4/AuditEvent/"+created.ID, e.auditor)
			wantStatus(t, read, 200)
			// The Location names version 1, which vread serves.
			u, _ := url.Parse(loc)
			if vread := e.get(u.Path, e.auditor); vread.status != 200 || string(vread.body) != string(read.body) {
				t.Errorf("vread %s: %d %s", u.Path, vread.status, vread.body)
			}
			if strings.Contains(string(body), "<div") && !strings.Contains(string(read.body), "<div") {
				t.Errorf("the narrative is HTML-escaped: %s", read.body)
			}
			if string(read.body) != string(r.body) {
				t.Errorf("read differs from the create's answer:\n%s\n%s", read.body, r.body)
			}
			want := jsonMap(t, body)
			got := jsonMap(t, read.body)
			delete(want, "id")
			delete(got, "id")
			gm := got["meta"].(map[string]any)
			delete(gm, "versionId")
			delete(gm, "lastUpdated")
			if len(gm) == 0 {
				delete(got, "meta")
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round trip changed the resource:\nsent %s\nread %s", body, read.body)
			}
			// The same record in Vigil's own view.
			var ev api.Data[api.Event]
			e.get("/api/v1/events/"+created.ID, e.auditor).json(t, &ev)
			if ev.Data.Integrity == nil || ev.Data.Integrity.EventHash == "" {
				t.Errorf("no ledger entry: %+v", ev.Data)
			}
		})
	}
	var v api.Data[api.Verification]
	e.get("/api/v1/verify", e.auditor).json(t, &v)
	if !v.Data.Valid || v.Data.EventsChecked < int64(len(names)) {
		t.Fatalf("verification %+v", v.Data)
	}
	// Each FHIR read was recorded through the meta-audit.
	var list api.EventList
	e.get("/api/v1/events?action=vigil.events.read&limit=100", e.auditor).json(t, &list)
	fhirReads := 0
	for _, ev := range list.Data {
		var m struct{ Path string }
		json.Unmarshal(ev.Metadata, &m)
		if strings.HasPrefix(m.Path, "/fhir/R4/AuditEvent/") {
			fhirReads++
		}
	}
	if fhirReads != 2*len(names) { // read and vread
		t.Fatalf("%d FHIR reads recorded, want %d", fhirReads, 2*len(names))
	}
}

func jsonMap(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

func TestFHIRPreferReturn(t *testing.T) {
	e := newEnv(t)
	body := fhirFixture(t, "r4-example-login.json")
	r := e.fhirPost(e.ingest, body, "Prefer", "return=minimal")
	wantStatus(t, r, 201)
	if len(r.body) != 0 || r.header.Get("Location") == "" {
		t.Fatalf("minimal: %q %v", r.body, r.header)
	}
	r = e.fhirPost(e.ingest, body, "Prefer", "return=OperationOutcome")
	wantStatus(t, r, 201)
	if is := r.outcome(t); is[0].Severity != "information" {
		t.Fatalf("%+v", is)
	}
	// Plain application/json is accepted too.
	wantStatus(t, e.do("POST", "/fhir/R4/AuditEvent", e.ingest, body), 201)
}

// TestFHIRErrors: every error on the FHIR routes is an OperationOutcome
// with the status of the one table.
func TestFHIRErrors(t *testing.T) {
	e := newEnv(t)
	valid := string(fhirFixture(t, "r4-example-login.json"))
	id := func() string {
		var a fhir.AuditEvent
		e.fhirPost(e.ingest, []byte(valid)).json(t, &a)
		return a.ID
	}()
	cases := []struct {
		name       string
		method     string
		path, key  string
		body       string
		headers    []string
		status     int
		expression string
	}{
		{"malformed JSON", "POST", "/fhir/R4/AuditEvent", e.ingest, `{"resourceType":"AuditEvent",`, nil, 400, ""},
		{"not an object", "POST", "/fhir/R4/AuditEvent", e.ingest, `"AuditEvent"`, nil, 400, ""},
		{"empty body", "POST", "/fhir/R4/AuditEvent", e.ingest, ``, nil, 400, ""},
		{"wrong resourceType", "POST", "/fhir/R4/AuditEvent", e.ingest, `{"resourceType":"Patient"}`, nil, 422, "resourceType"},
		{"missing recorded", "POST", "/fhir/R4/AuditEvent", e.ingest, strings.Replace(valid, `"recorded": "2013-06-20T23:41:23Z",`, "", 1), nil, 422, "AuditEvent.recorded"},
		{"missing observer", "POST", "/fhir/R4/AuditEvent", e.ingest, strings.Replace(valid, `"observer": {`, `"x": {`, 1), nil, 422, "AuditEvent.source.x"},
		{"unknown element", "POST", "/fhir/R4/AuditEvent", e.ingest, strings.Replace(valid, `"outcome": "0",`, `"outcome": "0", "severity": "high",`, 1), nil, 422, "AuditEvent.severity"},
		{"bad action", "POST", "/fhir/R4/AuditEvent", e.ingest, strings.Replace(valid, `"action": "E"`, `"action": "read"`, 1), nil, 422, "AuditEvent.action"},
		{"wrong content type", "POST", "/fhir/R4/AuditEvent", e.ingest, valid, []string{"Content-Type", "application/fhir+xml"}, 415, "Content-Type"},
		{"larger than metadata", "POST", "/fhir/R4/AuditEvent", e.ingest, strings.Replace(valid, `"outcome": "0",`, `"outcome": "0", "text": {"status": "generated", "div": "<div>`+strings.Repeat("x", 70<<10)+`</div>"},`, 1), nil, 413, "AuditEvent"},
		{"too large", "POST", "/fhir/R4/AuditEvent", e.ingest, `{"resourceType":"AuditEvent","text":{"status":"generated","div":"` + strings.Repeat("x", 300<<10) + `"}}`, nil, 413, ""},
		{"no key", "POST", "/fhir/R4/AuditEvent", "", valid, nil, 401, ""},
		{"bad key", "GET", "/fhir/R4/AuditEvent", "vgl_nope", "", nil, 401, ""},
		{"auditor may not create", "POST", "/fhir/R4/AuditEvent", e.auditor, valid, nil, 403, ""},
		{"admin may not create", "POST", "/fhir/R4/AuditEvent", e.admin, valid, nil, 403, ""},
		{"ingest may not read", "GET", "/fhir/R4/AuditEvent/" + id, e.ingest, "", nil, 403, ""},
		{"ingest may not search", "GET", "/fhir/R4/AuditEvent", e.ingest, "", nil, 403, ""},
		{"admin may not search", "GET", "/fhir/R4/AuditEvent", e.admin, "", nil, 403, ""},
		{"unknown id", "GET", "/fhir/R4/AuditEvent/0193a6f0-0000-7000-8000-000000000009", e.auditor, "", nil, 404, ""},
		{"unknown version", "GET", "/fhir/R4/AuditEvent/" + id + "/_history/2", e.auditor, "", nil, 404, ""},
		{"history", "GET", "/fhir/R4/AuditEvent/" + id + "/_history", e.auditor, "", nil, 404, ""},
		{"unknown resource", "GET", "/fhir/R4/Patient/1", e.auditor, "", nil, 404, ""},
		{"PUT", "PUT", "/fhir/R4/AuditEvent/" + id, e.ingest, valid, nil, 405, ""},
		{"PATCH", "PATCH", "/fhir/R4/AuditEvent/" + id, e.ingest, `[]`, nil, 405, ""},
		{"DELETE", "DELETE", "/fhir/R4/AuditEvent/" + id, e.admin, "", nil, 405, ""},
		{"DELETE type", "DELETE", "/fhir/R4/AuditEvent", e.admin, "", nil, 405, ""},
		{"bad date prefix", "GET", "/fhir/R4/AuditEvent?date=xx2024", e.auditor, "", nil, 422, "date"},
		{"unsupported prefix", "GET", "/fhir/R4/AuditEvent?date=ap2024", e.auditor, "", nil, 422, "date"},
		{"unknown parameter, strict", "GET", "/fhir/R4/AuditEvent?subject=x", e.auditor, "", []string{"Prefer", "handling=strict"}, 422, "subject"},
		{"unsupported modifier", "GET", "/fhir/R4/AuditEvent?agent:identifier=x", e.auditor, "", nil, 422, "agent:identifier"},
		{"bad cursor", "GET", "/fhir/R4/AuditEvent?_cursor=abc", e.auditor, "", nil, 422, "_cursor"},
		{"bad count", "GET", "/fhir/R4/AuditEvent?_count=1000", e.auditor, "", nil, 422, "_count"},
		{"XML wanted", "GET", "/fhir/R4/AuditEvent/" + id, e.auditor, "", []string{"Accept", "application/fhir+xml"}, 406, ""},
		{"XML metadata", "GET", "/fhir/R4/metadata", "", "", []string{"Accept", "application/fhir+xml;q=1"}, 406, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			} else if c.method == "POST" {
				body = []byte{}
			}
			r := e.do(c.method, c.path, c.key, body, c.headers...)
			wantStatus(t, r, c.status)
			issues := r.outcome(t)
			if c.status == 405 {
				if r.header.Get("Allow") == "" || issues[0].Code != "not-supported" {
					t.Fatalf("405 without Allow or not-supported: %v %+v", r.header, issues)
				}
			}
			if c.expression != "" && !contains(expressions(issues), c.expression) {
				t.Fatalf("no issue names %s: %+v", c.expression, issues)
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestFHIRMetadata(t *testing.T) {
	e := newEnv(t)
	r := e.get("/fhir/R4/metadata", "")
	wantStatus(t, r, 200)
	for _, accept := range []string{"application/fhir+json", "application/xml, application/fhir+json;q=0.9", "*/*", "application/json"} {
		wantStatus(t, e.do("GET", "/fhir/R4/metadata", "", nil, "Accept", accept), 200)
	}
	var cs fhir.CapabilityStatement
	r.json(t, &cs)
	if cs.ResourceType != "CapabilityStatement" || cs.FHIRVersion != "4.0.1" || len(cs.Rest) != 1 || len(cs.Rest[0].Resource) != 1 {
		t.Fatalf("%s", r.body)
	}
	// R4's cpb-14: a statement of an instance names the implementation.
	if cs.Kind != "instance" || cs.Implementation == nil || cs.Implementation.Description == "" || cs.Implementation.URL != e.srv.URL+"/fhir/R4" {
		t.Fatalf("implementation %+v", cs.Implementation)
	}
	res := cs.Rest[0].Resource[0]
	var interactions []string
	for _, i := range res.Interaction {
		interactions = append(interactions, i["code"])
	}
	if strings.Join(interactions, ",") != "create,read,vread,search-type" || res.UpdateCreate || res.ReadHistory {
		t.Fatalf("claims %v", interactions)
	}
	// Each declared parameter is one the server takes in strict mode.
	for _, p := range res.SearchParam {
		v := "x"
		switch p.Name {
		case "date", "_lastUpdated":
			v = "ge2024"
		case "_summary":
			v = "count"
		case "_count":
			v = "1"
		case "_sort":
			v = "date"
		case "_total":
			v = "none"
		}
		r := e.do("GET", "/fhir/R4/AuditEvent?"+url.Values{p.Name: {v}}.Encode(), e.auditor, nil, "Prefer", "handling=strict")
		wantStatus(t, r, 200)
	}
	if len(res.SearchParam) != len(fhir.SearchParams)+len(fhir.ResourceParams)+4 {
		t.Fatalf("%d parameters declared", len(res.SearchParam))
	}
}

type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int64 `json:"total"`
	Link         []struct {
		Relation, URL string
	} `json:"link"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   struct{ Mode string }
	} `json:"entry"`
}

func (b bundle) link(rel string) string {
	for _, l := range b.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

// search runs a FHIR search and returns the ids of the matches.
func (e *env) search(t testing.TB, query string, headers ...string) (bundle, []fhir.AuditEvent) {
	t.Helper()
	r := e.do("GET", "/fhir/R4/AuditEvent?"+query, e.auditor, nil, headers...)
	wantStatus(t, r, 200)
	var b bundle
	r.json(t, &b)
	if b.ResourceType != "Bundle" || b.Type != "searchset" || b.link("self") == "" {
		t.Fatalf("not a searchset Bundle: %s", r.body)
	}
	var out []fhir.AuditEvent
	for _, en := range b.Entry {
		if en.Search.Mode != "match" {
			continue
		}
		var a fhir.AuditEvent
		if err := json.Unmarshal(en.Resource, &a); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(en.FullURL, "/fhir/R4/AuditEvent/"+a.ID) {
			t.Fatalf("fullUrl %s for %s", en.FullURL, a.ID)
		}
		out = append(out, a)
	}
	return b, out
}

// TestFHIRSearchParameters: each search parameter finds exactly the
// events whose AuditEvent view carries the value, FHIR-ingested or not.
func TestFHIRSearchParameters(t *testing.T) {
	e := newEnv(t)
	ids := map[string]string{}
	for _, name := range append(fhirFixtures(t, "r4-*.json"), fhirFixtures(t, "balp-*.json")...) {
		var a fhir.AuditEvent
		r := e.fhirPost(e.ingest, fhirFixture(t, name))
		wantStatus(t, r, 201)
		r.json(t, &a)
		ids[strings.TrimSuffix(name, ".json")] = a.ID
	}
	var native api.Stored
	e.post("/api/v1/events", e.ingest, `{"actor_id":"dr_m4k8p2","actor_name":"Dr. Emily Nakamura","actor_type":"physician","action":"patient_record.viewed",
		"resource":"patient_record","resource_id":"pat_7f3a9c2d","patient_id":"pat_7f3a9c2d","outcome":"failure",
		"ip_address":"203.0.113.9","occurred_at":"2024-06-15T08:30:00Z","source":"EHR"}`).json(t, &native)
	ids["native"] = native.ID
	all := []string{"r4-example", "r4-example-login", "r4-example-rest", "balp-ex-auditBasicReadServer",
		"balp-ex-auditBasicReadNoPatient", "balp-ex-auditBasicCreate", "balp-ex-auditBasicReadOServer", "native"}
	// Keep the meta-audit records of these searches out of the answers:
	// they were recorded from 2026 on, the events here before 2025.
	const before = "&date=lt2025"
	cases := []struct {
		query string
		want  []string
	}{
		{"", all},
		{"action=E", []string{"r4-example", "r4-example-login"}},
		{"action=C", []string{"balp-ex-auditBasicCreate"}},
		{"action=R", []string{"r4-example-rest", "balp-ex-auditBasicReadServer", "balp-ex-auditBasicReadNoPatient", "balp-ex-auditBasicReadOServer", "native"}},
		{"action=C,E", []string{"r4-example", "r4-example-login", "balp-ex-auditBasicCreate"}},
		{"outcome=8", []string{"native"}},
		{"outcome=0", all[:7]},
		{"type=http://dicom.nema.org/resources/ontology/DCM|110114", []string{"r4-example-login"}},
		{"type=110114", []string{"r4-example-login"}},
		{"type=http://example.org|110114", nil},
		{"type=rest", []string{"r4-example-rest", "balp-ex-auditBasicReadServer", "balp-ex-auditBasicReadNoPatient", "balp-ex-auditBasicCreate", "balp-ex-auditBasicReadOServer", "native"}},
		{"subtype=http://hl7.org/fhir/restful-interaction|create", []string{"balp-ex-auditBasicCreate"}},
		{"subtype=vread", []string{"r4-example-rest"}},
		{"subtype=urn:vigil:action|patient_record.viewed", []string{"native"}},
		{"agent=Device/ex-device", []string{"balp-ex-auditBasicReadServer", "balp-ex-auditBasicReadNoPatient", "balp-ex-auditBasicCreate"}},
		{"agent=Grahame", []string{"r4-example"}},
		{"agent=dr_m4k8p2", []string{"native"}},
		{"agent=35fb1058-7f36-415b-b862-677a37c95f35", []string{"balp-ex-auditBasicReadOServer"}},
		{"agent-name=grahame", []string{"r4-example-login", "r4-example-rest"}},
		{"agent-name=Dr.%20Emily", []string{"native"}},
		{"agent-role=Service%20User", nil}, // a role given as text only has no code to match
		{"agent-role=physician", []string{"native"}},
		{"agent-role=urn:vigil:actor-type|physician", []string{"native"}},
		{"agent-role=http://example.org|physician", nil},
		{"altid=6580", []string{"r4-example"}},
		{"altid=601847123", []string{"r4-example-login", "r4-example-rest"}},
		{"address=127.0.0.1", []string{"r4-example", "r4-example-login", "r4-example-rest"}},
		{"address=203.0.113.9", []string{"native"}},
		{"entity=List/ex-list", []string{"balp-ex-auditBasicReadServer", "balp-ex-auditBasicCreate", "balp-ex-auditBasicReadOServer"}},
		{"entity=ex-measurereport", []string{"balp-ex-auditBasicReadNoPatient"}},
		{"entity-name=grahame's", []string{"r4-example"}},
		{"entity-role=http://terminology.hl7.org/CodeSystem/object-role|1", []string{"balp-ex-auditBasicReadServer", "balp-ex-auditBasicCreate", "balp-ex-auditBasicReadOServer", "native"}},
		{"entity-type=2", []string{"r4-example-rest", "balp-ex-auditBasicReadServer", "balp-ex-auditBasicReadNoPatient", "balp-ex-auditBasicCreate", "balp-ex-auditBasicReadOServer", "native"}},
		{"entity-type=4", []string{"r4-example"}},
		{"patient=Patient/ex-patient", []string{"balp-ex-auditBasicReadServer", "balp-ex-auditBasicCreate", "balp-ex-auditBasicReadOServer"}},
		{"patient=pat_7f3a9c2d", []string{"native"}},
		{"patient=example", []string{"r4-example-rest"}},
		{"policy=C187CC480FAC40A0936902D8BC324F5F", []string{"balp-ex-auditBasicReadOServer"}},
		{"site=Cloud", []string{"r4-example-login", "r4-example-rest"}},
		{"site=server.example.com", []string{"balp-ex-auditBasicReadServer", "balp-ex-auditBasicReadNoPatient", "balp-ex-auditBasicCreate", "balp-ex-auditBasicReadOServer"}},
		{"source=Device/ex-device", []string{"balp-ex-auditBasicReadServer", "balp-ex-auditBasicReadNoPatient", "balp-ex-auditBasicCreate", "balp-ex-auditBasicReadOServer"}},
		{"source=EHR", []string{"native"}},
		{"date=2013-06-20", []string{"r4-example-login", "r4-example-rest"}},
		{"date=ge2013-06-20T23:42:00Z&date=le2019", []string{"r4-example-rest"}},
		{"date=gt2020-04-29&date=lt2025", []string{"native"}},
		{"date=eq2012-10-25T11:04:27Z", []string{"r4-example"}},
		{"action=R&patient=Patient/ex-patient&agent-name=john", nil},
		{"action=R&patient=Patient/ex-patient&entity-type=2", []string{"balp-ex-auditBasicReadServer", "balp-ex-auditBasicReadOServer"}},
	}
	for _, c := range cases {
		b, got := e.search(t, c.query+before)
		var gotNames []string
		for _, a := range got {
			for n, id := range ids {
				if id == a.ID {
					gotNames = append(gotNames, n)
				}
			}
		}
		sort.Strings(gotNames)
		want := append([]string{}, c.want...)
		sort.Strings(want)
		if strings.Join(gotNames, " ") != strings.Join(want, " ") || len(got) != len(want) {
			t.Errorf("%s: got %v (%d), want %v", c.query, gotNames, len(got), want)
		}
		if b.Total == nil || *b.Total != int64(len(want)) {
			t.Errorf("%s: total %v, want %d", c.query, b.Total, len(want))
		}
	}
	// _total=none leaves total out.
	if b, _ := e.search(t, "_total=none"+before); b.Total != nil {
		t.Errorf("_total=none gave total %d", *b.Total)
	}
	// _count=0: only the total.
	if b, got := e.search(t, "_count=0"+before); len(got) != 0 || b.Total == nil || *b.Total != int64(len(all)) {
		t.Errorf("_count=0: %d entries, total %v", len(got), b.Total)
	}
}

// TestFHIRSearchPaging: pages follow next links, in date order either
// way, without repeats or gaps.
func TestFHIRSearchPaging(t *testing.T) {
	e := newEnv(t)
	login := string(fhirFixture(t, "r4-example-login.json"))
	var want []string
	for _, day := range []string{"05", "01", "03", "02", "04", "03", "06"} {
		body := strings.Replace(login, "2013-06-20T23:41:23Z", "2013-06-"+day+"T10:00:00Z", 1)
		var a fhir.AuditEvent
		r := e.fhirPost(e.ingest, []byte(body))
		wantStatus(t, r, 201)
		r.json(t, &a)
		want = append(want, a.Recorded)
	}
	sort.Strings(want)
	for _, sort := range []string{"date", "-date"} {
		var seen []string
		query := "agent=95&date=lt2014&_count=3&_sort=" + sort
		pages := 0
		for query != "" {
			b, got := e.search(t, query)
			pages++
			if *b.Total != 7 {
				t.Fatalf("total %d", *b.Total)
			}
			for _, a := range got {
				seen = append(seen, a.Recorded)
			}
			next := b.link("next")
			if next == "" {
				break
			}
			u, err := url.Parse(next)
			if err != nil || u.Path != "/fhir/R4/AuditEvent" || u.Query().Get("_sort") != sort || u.Query().Get("agent") != "95" {
				t.Fatalf("next link %s", next)
			}
			query = u.RawQuery
		}
		expected := append([]string{}, want...)
		if sort == "-date" {
			for i, j := 0, len(expected)-1; i < j; i, j = i+1, j-1 {
				expected[i], expected[j] = expected[j], expected[i]
			}
		}
		if pages != 3 || strings.Join(seen, " ") != strings.Join(expected, " ") {
			t.Errorf("_sort=%s: %d pages %v, want %v", sort, pages, seen, expected)
		}
	}
}

// TestFHIRSearchLenient: parameters that only shape the entries are
// ignored and reported in the Bundle, and left out of the self link.
func TestFHIRSearchLenient(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.fhirPost(e.ingest, fhirFixture(t, "r4-example-login.json")), 201)
	b, got := e.search(t, "action=E&_include=AuditEvent:agent&_elements=id")
	if len(got) != 1 {
		t.Fatalf("%d matches", len(got))
	}
	last := b.Entry[len(b.Entry)-1]
	if last.Search.Mode != "outcome" || !strings.Contains(string(last.Resource), "_include") || !strings.Contains(string(last.Resource), "_elements") {
		t.Fatalf("no outcome entry: %+v", b.Entry)
	}
	if self := b.link("self"); strings.Contains(self, "_include") || !strings.Contains(self, "action=E") {
		t.Fatalf("self %s", self)
	}
	// The search was recorded, with every parameter it was sent.
	var list api.EventList
	e.get("/api/v1/events?action=vigil.events.query", e.auditor).json(t, &list)
	found := false
	for _, ev := range list.Data {
		var m struct {
			Path   string
			Params map[string]string
		}
		json.Unmarshal(ev.Metadata, &m)
		found = found || m.Path == "/fhir/R4/AuditEvent" && m.Params["_include"] == "AuditEvent:agent" && m.Params["action"] == "E"
	}
	if !found {
		t.Fatal("the FHIR search is not in the meta-audit")
	}
}

// TestFHIRTenantScope: a tenant key writes into its tenant and reads only
// it.
func TestFHIRTenantScope(t *testing.T) {
	e := newEnv(t)
	ingestA := e.key("default", vigil.RoleIngest, "clinic_a")
	auditorB := e.key("default", vigil.RoleAuditor, "clinic_b")
	var a fhir.AuditEvent
	r := e.fhirPost(ingestA, fhirFixture(t, "r4-example-login.json"))
	wantStatus(t, r, 201)
	r.json(t, &a)
	wantStatus(t, e.get("/fhir/R4/AuditEvent/"+a.ID, auditorB), 404)
	r = e.do("GET", "/fhir/R4/AuditEvent?agent=95", auditorB, nil)
	var b bundle
	r.json(t, &b)
	if *b.Total != 0 {
		t.Fatalf("tenant b sees %d", *b.Total)
	}
	var ev api.Data[api.Event]
	e.get("/api/v1/events/"+a.ID, e.auditor).json(t, &ev)
	if ev.Data.TenantID == nil || *ev.Data.TenantID != "clinic_a" {
		t.Fatalf("tenant %v", ev.Data.TenantID)
	}
}

// TestEventViews: any event reads as FHIR and CADF from the REST API, and
// the read is recorded with its format.
func TestEventViews(t *testing.T) {
	e := newEnv(t)
	var s api.Stored
	e.post("/api/v1/events", e.ingest, `{"actor_id":"dr_m4k8p2","action":"patient_record.viewed","patient_id":"pt_1","outcome":"failure"}`).json(t, &s)
	var f api.Data[fhir.AuditEvent]
	r := e.get("/api/v1/events/"+s.ID+"?format=fhir", e.auditor)
	wantStatus(t, r, 200)
	r.json(t, &f)
	if f.Data.ResourceType != "AuditEvent" || f.Data.ID != s.ID || f.Data.Outcome != "8" || f.Data.Entity[0].What.Reference != "Patient/pt_1" {
		t.Fatalf("%s", r.body)
	}
	var c struct {
		Data struct {
			TypeURI, Action, Outcome string
			Initiator, Target        struct{ ID string }
		}
	}
	r = e.get("/api/v1/events/"+s.ID+"?format=cadf", e.auditor)
	wantStatus(t, r, 200)
	r.json(t, &c)
	if c.Data.TypeURI != "http://schemas.dmtf.org/cloud/audit/1.0/event" || c.Data.Action != "read" || c.Data.Outcome != "failure" ||
		c.Data.Initiator.ID != "dr_m4k8p2" || c.Data.Target.ID != "Patient/pt_1" {
		t.Fatalf("%s", r.body)
	}
	wantStatus(t, e.get("/api/v1/events/"+s.ID+"?format=vigil", e.auditor), 200)
	if code := e.get("/api/v1/events/"+s.ID+"?format=xml", e.auditor).errorCode(t); code != "validation_failed" {
		t.Fatal(code)
	}
	if code := e.get("/api/v1/events/"+s.ID+"?fmt=cadf", e.auditor).errorCode(t); code != "validation_failed" {
		t.Fatal(code)
	}
	var list api.EventList
	e.get("/api/v1/events?action=vigil.events.read", e.auditor).json(t, &list)
	formats := map[string]bool{}
	for _, ev := range list.Data {
		var m struct{ Params map[string]string }
		json.Unmarshal(ev.Metadata, &m)
		formats[m.Params["format"]] = true
	}
	if !formats["fhir"] || !formats["cadf"] {
		t.Fatalf("reads recorded with formats %v", formats)
	}
}

// TestReservedMetadata: the REST API may not write the key FHIR events
// keep their resource under, so no event's FHIR view can be forged.
func TestReservedMetadata(t *testing.T) {
	e := newEnv(t)
	r := e.post("/api/v1/events", e.ingest, `{"actor_id":"u","action":"x","metadata":{"fhir":{"resourceType":"AuditEvent"}}}`)
	wantStatus(t, r, 422)
	if !strings.Contains(string(r.body), `"metadata.fhir"`) {
		t.Fatalf("%s", r.body)
	}
	r = e.post("/api/v1/events/batch", e.ingest, `{"events":[{"actor_id":"u","action":"x","metadata":{"fhir":1}}]}`)
	wantStatus(t, r, 422)
	// Other keys, and "fhir" deeper down, are fine.
	wantStatus(t, e.post("/api/v1/events", e.ingest, `{"actor_id":"u","action":"x","metadata":{"source":{"fhir":true},"fhir_version":"4.0.1"}}`), 201)
}

// TestFHIRLinksBehindProxy: behind a trusted proxy that terminated TLS,
// links name https.
func TestFHIRLinksBehindProxy(t *testing.T) {
	e := newEnvWith(t, vhttp.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	r := e.fhirPost(e.ingest, fhirFixture(t, "r4-example-login.json"), "X-Forwarded-Proto", "https")
	wantStatus(t, r, 201)
	if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "https://") {
		t.Fatalf("Location %s", loc)
	}
	// From an untrusted address the header is not believed.
	plain := newEnv(t)
	r = plain.fhirPost(plain.ingest, fhirFixture(t, "r4-example-login.json"), "X-Forwarded-Proto", "https")
	if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "http://") {
		t.Fatalf("Location %s", loc)
	}
}

// TestFHIRUnavailable: when the store cannot write, neither the create nor
// a read (whose meta-audit record cannot be written) goes through: 503
// OperationOutcome with Retry-After.
func TestFHIRUnavailable(t *testing.T) {
	e := newEnv(t)
	var a fhir.AuditEvent
	e.fhirPost(e.ingest, fhirFixture(t, "r4-example-login.json")).json(t, &a)
	e.db.Close()
	for _, r := range []response{
		e.fhirPost(e.ingest, fhirFixture(t, "r4-example-login.json")),
		e.get("/fhir/R4/AuditEvent/"+a.ID, e.auditor),
		e.get("/fhir/R4/AuditEvent?action=E", e.auditor),
	} {
		wantStatus(t, r, 503)
		if is := r.outcome(t); is[0].Code != "transient" || r.header.Get("Retry-After") == "" {
			t.Fatalf("%+v %v", is, r.header)
		}
	}
}
