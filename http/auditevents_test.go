package http_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/fhir"
)

type simpleList struct {
	Data       []fhir.SimpleAuditEvent `json:"data"`
	Pagination api.Pagination          `json:"pagination"`
}

// TestSeed001AuditEvents: the four examples of seed 001 are recorded
// through /api/v1/audit-events as sent, and its three searches find them.
func TestSeed001AuditEvents(t *testing.T) {
	e := newEnv(t)
	ids := map[string]string{}
	for _, name := range []string{"seed001-rest.json", "seed001-login.json", "seed001-denied.json", "seed001-export.json"} {
		body := fhirFixture(t, name)
		r := e.post("/api/v1/audit-events", e.ingest, body)
		wantStatus(t, r, 201)
		var created api.Data[fhir.SimpleAuditEvent]
		r.json(t, &created)
		id := created.Data.ID
		if id == "" || r.header.Get("Location") != "/api/v1/audit-events/"+id {
			t.Fatalf("%s: id %q, Location %q", name, id, r.header.Get("Location"))
		}
		ids[name] = id
		// The answer and a later read give back what was sent, with its id.
		read := e.get("/api/v1/audit-events/"+id, e.auditor)
		wantStatus(t, read, 200)
		var got struct{ Data map[string]any }
		read.json(t, &got)
		if got.Data["id"] != id {
			t.Fatalf("read id %v", got.Data["id"])
		}
		delete(got.Data, "id")
		if want := jsonMap(t, body); !reflect.DeepEqual(want, got.Data) {
			t.Errorf("%s changed:\nsent %s\nread %s", name, body, read.body)
		}
		// One record: the same event through FHIR and Vigil's own API.
		wantStatus(t, e.get("/fhir/R4/AuditEvent/"+id, e.auditor), 200)
		wantStatus(t, e.get("/api/v1/events/"+id, e.auditor), 200)
	}
	search := func(query string) []fhir.SimpleAuditEvent {
		t.Helper()
		r := e.get("/api/v1/audit-events?"+query, e.auditor)
		wantStatus(t, r, 200)
		var l simpleList
		r.json(t, &l)
		return l.Data
	}
	idsOf := func(evs []fhir.SimpleAuditEvent) []string {
		var out []string
		for _, ev := range evs {
			for name, id := range ids {
				if ev.ID == id {
					out = append(out, name)
				}
			}
		}
		sort.Strings(out)
		return out
	}
	// search({action: 'R'}): the three reads, and the meta-audit records
	// of the reads above, which are reads of the audit trail.
	byAction := search("action=R")
	if got := idsOf(byAction); strings.Join(got, " ") != "seed001-denied.json seed001-export.json seed001-rest.json" {
		t.Errorf("action=R found %v", got)
	}
	for _, ev := range byAction {
		if ev.Action != "R" {
			t.Errorf("action=R returned %+v", ev)
		}
	}
	// search({outcome: '8'})
	failures := search("outcome=8")
	if got := idsOf(failures); len(failures) != 1 || strings.Join(got, " ") != "seed001-denied.json" {
		t.Errorf("outcome=8 found %v (%d)", got, len(failures))
	}
	// search({dateFrom: '2024-06-01', dateTo: '2024-06-30'})
	recent := search("dateFrom=2024-06-01&dateTo=2024-06-30")
	if got := idsOf(recent); len(recent) != 1 || strings.Join(got, " ") != "seed001-login.json" {
		t.Errorf("June 2024 found %v (%d)", got, len(recent))
	}
	// The same records answer FHIR searches.
	for query, want := range map[string]string{
		"agent-role=Practitioner":         "seed001-rest.json",
		"patient=pt_abc123":               "seed001-rest.json",
		"agent=user_intern001":            "seed001-denied.json",
		"entity-role=3":                   "seed001-export.json",
		"type=login":                      "seed001-login.json",
		"source=Authentication%20Service": "seed001-login.json",
		"address=192.168.1.50":            "seed001-login.json",
	} {
		_, got := e.search(t, query)
		if len(got) != 1 || got[0].ID != ids[want] {
			t.Errorf("FHIR %s: %d matches, want %s", query, len(got), want)
		}
	}
	// dateTo includes its whole day.
	if got := idsOf(search("dateFrom=2024-06-15&dateTo=2024-06-15")); len(got) != 1 {
		t.Errorf("one-day range found %v", got)
	}
}

func TestSeed001Paging(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		wantStatus(t, e.post("/api/v1/audit-events", e.ingest, fhirFixture(t, "seed001-login.json")), 201)
	}
	seen := 0
	path := "/api/v1/audit-events?dateTo=2024-12-31&limit=2"
	for pages := 0; ; pages++ {
		var l simpleList
		r := e.get(path, e.auditor)
		wantStatus(t, r, 200)
		r.json(t, &l)
		seen += len(l.Data)
		if l.Pagination.Total != 5 {
			t.Fatalf("total %d", l.Pagination.Total)
		}
		if !l.Pagination.HasMore {
			if pages != 2 {
				t.Fatalf("%d pages", pages+1)
			}
			break
		}
		path = "/api/v1/audit-events?dateTo=2024-12-31&limit=2&cursor=" + *l.Pagination.NextCursor
	}
	if seen != 5 {
		t.Fatalf("saw %d", seen)
	}
}

func TestSeed001Errors(t *testing.T) {
	e := newEnv(t)
	login := string(fhirFixture(t, "seed001-login.json"))
	cases := []struct {
		name, method, path, key, body string
		status                        int
		code, field                   string
	}{
		{"malformed", "POST", "/api/v1/audit-events", e.ingest, `{"type":`, 400, "invalid_json", ""},
		{"unknown field", "POST", "/api/v1/audit-events", e.ingest, strings.Replace(login, `"site": "Cloud"`, `"site": "Cloud", "zone": "eu"`, 1), 422, "validation_failed", "source.zone"},
		{"bad outcome", "POST", "/api/v1/audit-events", e.ingest, strings.Replace(login, `"outcome": "0"`, `"outcome": "success"`, 1), 422, "validation_failed", "outcome"},
		{"bad recorded", "POST", "/api/v1/audit-events", e.ingest, strings.Replace(login, `2024-06-15T08:30:00Z`, `June 15`, 1), 422, "validation_failed", "recorded"},
		{"id sent", "POST", "/api/v1/audit-events", e.ingest, strings.Replace(login, `{`, `{"id": "mine",`, 1), 422, "validation_failed", "id"},
		{"auditor may not create", "POST", "/api/v1/audit-events", e.auditor, login, 403, "forbidden", ""},
		{"ingest may not search", "GET", "/api/v1/audit-events", e.ingest, "", 403, "forbidden", ""},
		{"no key", "GET", "/api/v1/audit-events", "", "", 401, "unauthorized", ""},
		{"unknown parameter", "GET", "/api/v1/audit-events?actor=x", e.auditor, "", 422, "validation_failed", "actor"},
		{"repeated parameter", "GET", "/api/v1/audit-events?action=R&action=C", e.auditor, "", 422, "validation_failed", "action"},
		{"bad dateFrom", "GET", "/api/v1/audit-events?dateFrom=June", e.auditor, "", 422, "validation_failed", "dateFrom"},
		{"bad limit", "GET", "/api/v1/audit-events?limit=0", e.auditor, "", 422, "validation_failed", "limit"},
		{"bad cursor", "GET", "/api/v1/audit-events?cursor=zz", e.auditor, "", 422, "validation_failed", "cursor"},
		{"unknown id", "GET", "/api/v1/audit-events/nope", e.auditor, "", 404, "not_found", ""},
		{"immutable", "DELETE", "/api/v1/audit-events/nope", e.admin, "", 405, "method_not_allowed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := e.do(c.method, c.path, c.key, body)
			wantStatus(t, r, c.status)
			if code := r.errorCode(t); code != c.code {
				t.Fatalf("code %s", code)
			}
			if c.field != "" {
				var eb api.Error
				json.Unmarshal(r.body, &eb)
				found := false
				for _, d := range eb.Details {
					found = found || d.Field == c.field
				}
				if !found {
					t.Fatalf("no detail on %s: %s", c.field, r.body)
				}
			}
		})
	}
}
