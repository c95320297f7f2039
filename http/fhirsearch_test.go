package http_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/fhir"
)

// ids returns the ids of AuditEvents, sorted.
func ids(as []fhir.AuditEvent) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestFHIRSearchIDAndLastUpdated: _id (comma ORs, repeats AND) and
// _lastUpdated (meta.lastUpdated, the event's created_at, with prefixes)
// narrow the search as FHIR says, within the key's scope.
func TestFHIRSearchIDAndLastUpdated(t *testing.T) {
	e := newEnv(t)
	var evs []fhir.AuditEvent
	for i := range 3 {
		var s struct{ ID string }
		e.post("/api/v1/events", e.ingest, `{"actor_id":"lu","action":"lu.read","tenant_id":"t`+string(rune('1'+i%2))+`"}`).json(t, &s)
		var a fhir.AuditEvent
		r := e.get("/fhir/R4/AuditEvent/"+s.ID, e.auditor)
		wantStatus(t, r, 200)
		r.json(t, &a)
		evs = append(evs, a)
		// Over a second apart, so each event has a second of its own
		// (the precision the tests below search in).
		time.Sleep(1100 * time.Millisecond)
	}
	id0, id1, id2 := evs[0].ID, evs[1].ID, evs[2].ID
	lastUpdated := func(i int) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, evs[i].Meta.LastUpdated)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	at := func(prefix string, ts time.Time) string {
		return url.QueryEscape(prefix + ts.UTC().Format("2006-01-02T15:04:05Z"))
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"_id=" + id1, []string{id1}},
		{"_id=" + id0 + "," + id2, sorted(id0, id2)},
		{"_id=" + id0 + "&_id=" + id2, nil},
		{"_id=" + id0 + "," + id1 + "&_id=" + id1 + "," + id2, []string{id1}},
		{"_id=0190b5a0-0000-7000-8000-000000000000", nil},
		{"_id=not-an-event", nil},
		{"_id=" + id1 + "&agent=lu", []string{id1}},
		{"_id=" + id1 + "&agent=nobody", nil},
		{"subtype=lu.read&_lastUpdated=" + at("", lastUpdated(1)), []string{id1}},
		{"subtype=lu.read&_lastUpdated=" + at("ge", lastUpdated(1)), sorted(id1, id2)},
		{"subtype=lu.read&_lastUpdated=" + at("gt", lastUpdated(1)), []string{id2}},
		{"subtype=lu.read&_lastUpdated=" + at("lt", lastUpdated(1)), []string{id0}},
		{"subtype=lu.read&_lastUpdated=" + at("le", lastUpdated(1)), sorted(id0, id1)},
		{"subtype=lu.read&_lastUpdated=" + at("ge", lastUpdated(0)) + "&_lastUpdated=" + at("lt", lastUpdated(2)), sorted(id0, id1)},
		{"subtype=lu.read&_lastUpdated=gt2099", nil},
		{"subtype=lu.read&_lastUpdated=lt2000-01-01", nil},
		{"_id=" + id0 + "&_lastUpdated=" + at("gt", lastUpdated(0)), nil},
	} {
		_, got := e.search(t, c.query)
		if g := ids(got); !slices.Equal(g, c.want) {
			t.Errorf("%s: %v, want %v", c.query, g, c.want)
		}
	}
	// Within the key's scope: a tenant's auditor finds no other tenant's
	// event by its id.
	t2 := e.key("default", vigil.RoleAuditor, "t2")
	r := e.do("GET", "/fhir/R4/AuditEvent?_id="+id0+","+id1, t2, nil)
	var b bundle
	r.json(t, &b)
	if b.Total == nil || *b.Total != 1 || !strings.Contains(string(r.body), id1) || strings.Contains(withoutLinks(r.body), id0) {
		t.Fatalf("tenant t2 searching by id: %s", r.body)
	}
	// Bad values and modifiers are refused, as for every parameter.
	for q, field := range map[string]string{
		"_lastUpdated=yesterday": "_lastUpdated", "_lastUpdated=ne2024": "_lastUpdated", "_lastUpdated:missing=true": "_lastUpdated:missing",
		"_id:not=" + id0: "_id:not", "_id=" + id0 + ",": "_id",
	} {
		r := e.get("/fhir/R4/AuditEvent?"+q, e.auditor)
		if r.status != 422 {
			t.Fatalf("%s: %d, want 422: %s", q, r.status, r.body)
		}
		if is := r.outcome(t); len(is[0].Expression) != 1 || is[0].Expression[0] != field {
			t.Fatalf("%s: issue %+v", q, is[0])
		}
	}
	// The self link carries them.
	bb, _ := e.search(t, "_id="+id1+"&_lastUpdated=ge2000")
	if self := bb.link("self"); !strings.Contains(self, "_id="+id1) || !strings.Contains(self, "_lastUpdated=ge2000") {
		t.Fatalf("self %s", self)
	}
}

// TestFHIRLenientNeverWidens: in lenient handling (the FHIR default) a
// parameter the server does not support is ignored only if honouring it
// could not have narrowed the matches; any other is refused, since
// ignoring it would answer more than was asked.
func TestFHIRLenientNeverWidens(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.fhirPost(e.ingest, fhirFixture(t, "r4-example-login.json")), 201)
	wantStatus(t, e.fhirPost(e.ingest, fhirFixture(t, "balp-ex-auditBasicCreate.json")), 201)
	for _, p := range []string{"subject=Patient/1", "nonsense=1", "_tag=x", "_profile=http://x", "_security=x", "_source=x",
		"_text=x", "_content=x", "_list=x", "_has:Patient:name:x=1", "_type=AuditEvent", "_filter=x", "_query=x", "entity-id=1",
		"agent.name=x", "_summary=yes"} {
		r := e.get("/fhir/R4/AuditEvent?action=E&"+p, e.auditor)
		if r.status != 422 {
			t.Fatalf("%s in lenient mode: %d, want 422: %.300s", p, r.status, r.body)
		}
		name, _, _ := strings.Cut(p, "=")
		if is := r.outcome(t); len(is[0].Expression) != 1 || is[0].Expression[0] != name {
			t.Fatalf("%s: issue %+v", p, is[0])
		}
	}
	// Shaping parameters cannot narrow the matches: ignored, and said so.
	_, all := e.search(t, "action=E")
	for _, p := range []string{"_elements=id", "_include=AuditEvent:agent", "_revinclude=Provenance:target", "_pretty=true",
		"_summary=true", "_summary=text", "_summary=data", "_contained=true", "_containedType=entry"} {
		b, got := e.search(t, "action=E&"+p)
		if !slices.Equal(ids(got), ids(all)) {
			t.Fatalf("%s changed the matches: %v, want %v", p, ids(got), ids(all))
		}
		last := b.Entry[len(b.Entry)-1]
		name, _, _ := strings.Cut(p, "=")
		if last.Search.Mode != "outcome" || !strings.Contains(string(last.Resource), name) {
			t.Fatalf("%s: no outcome entry: %+v", p, b.Entry)
		}
		// Strict handling refuses them.
		if r := e.do("GET", "/fhir/R4/AuditEvent?action=E&"+p, e.auditor, nil, "Prefer", "handling=strict"); r.status != 422 {
			t.Fatalf("%s strict: %d", p, r.status)
		}
	}
	// _summary=count and _summary=false are honoured.
	b, got := e.search(t, "action=E&_summary=count")
	if len(got) != 0 || b.Total == nil || *b.Total != int64(len(all)) {
		t.Fatalf("_summary=count: %d entries, total %v", len(got), b.Total)
	}
	if _, got := e.search(t, "action=E&_summary=false"); len(got) != len(all) {
		t.Fatalf("_summary=false: %d entries", len(got))
	}
}
