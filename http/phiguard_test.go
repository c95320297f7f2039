package http_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	vhttp "github.com/vigilhq/vigil/http"
)

// newEnvGuarded is newEnvWith over a store whose write path has a PHI
// guard of the default patterns in the given mode; flagged receives what
// the guard marked (flag mode), once durable.
func newEnvGuarded(t testing.TB, cfg vhttp.Config, mode vigil.PHIMode, flagged func(string, []vigil.PHIFinding)) *env {
	t.Helper()
	return newEnvStore(t, cfg, true, func(c *embedded.Config) {
		c.PHIGuard = &vigil.PHIGuard{Mode: mode, Patterns: vigil.DefaultPHIPatterns(), Flagged: flagged}
	})
}

// phiCase is an event with PHI in one free-text field, on one route: the
// field its refusal must name, the pattern, and the value, which no answer
// may repeat.
type phiCase struct {
	badField
	pattern, value string
}

// phiCases put each default pattern's shape in each free-text field a
// route fills: REST single and batch, FHIR, seed 001.
func phiCases() []phiCase {
	const (
		ssn, phone, mail = "078-05-1120", "555-867-5309", "jane.doe@example.org"
		dob, mrn         = "DOB 1980-02-03", "MRN 0012345"
	)
	var cs []phiCase
	add := func(name, path, body, field, pattern, value string) {
		cs = append(cs, phiCase{badField{"phi", name, "POST", path, vigil.RoleIngest, body, field}, pattern, value})
	}
	add("actor_name", "/api/v1/events", restEvent(map[string]any{"actor_name": "Dr A " + phone}), "actor_name", "phone", phone)
	add("resource_name", "/api/v1/events", restEvent(map[string]any{"resource": "Patient", "resource_id": "p1", "resource_name": "Jane, " + ssn}), "resource_name", "ssn", ssn)
	add("metadata", "/api/v1/events", restEvent(map[string]any{"metadata": map[string]any{"note": []any{"ok", "mail " + mail}}}), "metadata.note[1]", "email", mail)
	add("target name", "/api/v1/events", restEvent(map[string]any{"targets": []any{map[string]any{"type": "Document", "id": "d1", "name": dob}}}), "targets[0].name", "date_of_birth", dob)
	add("target metadata", "/api/v1/events", restEvent(map[string]any{"targets": []any{map[string]any{"type": "Document", "id": "d1", "metadata": map[string]any{"mrn": mrn}}}}), "targets[0].metadata.mrn", "mrn", mrn)
	add("batch metadata", "/api/v1/events/batch", `{"events":[`+restEvent(nil)+`,`+restEvent(map[string]any{"metadata": map[string]any{"why": "called " + phone}})+`]}`, "metadata.why", "phone", phone)
	add("FHIR agent name", "/fhir/R4/AuditEvent", fhirEvent(func(m map[string]any) {
		m["agent"] = []any{map[string]any{"requestor": true, "name": "Jane " + mail, "who": map[string]any{"identifier": map[string]any{"value": "dr_a"}}}}
	}), "AuditEvent.agent[0].name", "email", mail)
	add("FHIR entity description", "/fhir/R4/AuditEvent", fhirEvent(func(m map[string]any) {
		m["entity"] = []any{map[string]any{"what": map[string]any{"reference": "Patient/pt_1"}, "description": "SSN " + ssn}}
	}), "AuditEvent.entity[0].description", "ssn", ssn)
	add("FHIR what.display", "/fhir/R4/AuditEvent", fhirEvent(func(m map[string]any) {
		m["entity"] = []any{map[string]any{"what": map[string]any{"reference": "Patient/pt_1", "display": "chart " + mrn}}}
	}), "AuditEvent.entity[0].what.display", "mrn", mrn)
	add("seed-001 entity description", "/api/v1/audit-events", seedEvent(func(m map[string]any) {
		m["entity"] = []any{map[string]any{"what": "Patient/pt_1", "description": "born " + strings.TrimPrefix(dob, "DOB ")}}
	}), "entity[0].description", "date_of_birth", strings.TrimPrefix(dob, "DOB "))
	add("seed-001 entity name", "/api/v1/audit-events", seedEvent(func(m map[string]any) {
		m["entity"] = []any{map[string]any{"what": "Patient/pt_1", "name": "Jane " + phone}}
	}), "entity[0].name", "phone", phone)
	return cs
}

func (c phiCase) contentType() string {
	if strings.HasPrefix(c.path, "/fhir/") {
		return "application/fhir+json"
	}
	return "application/json"
}

// TestPHIGuardRefusesOnEveryRoute: in refuse mode (the default of vigil
// serve) each case is a 422 naming the field and the pattern, the matched
// value is in no answer, and nothing is written.
func TestPHIGuardRefusesOnEveryRoute(t *testing.T) {
	e := newEnvGuarded(t, vhttp.Config{}, vigil.PHIRefuse, nil)
	e.quiesce()
	before := e.dbDigest()
	for _, c := range phiCases() {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", c.path, e.ingest, c.body, "Content-Type", c.contentType(), "Prefer", "handling=strict")
			if r.status != 422 {
				t.Fatalf("status %d, want 422: %s", r.status, r.body)
			}
			if !c.names(t, r) {
				t.Fatalf("the answer does not name %s: %s", c.field, r.body)
			}
			if !strings.Contains(string(r.body), `\"`+c.pattern+`\"`) {
				t.Fatalf("the answer does not name the pattern %s: %s", c.pattern, r.body)
			}
			if strings.Contains(string(r.body), c.value) {
				t.Fatalf("the answer repeats the value: %s", r.body)
			}
			if after := e.dbDigest(); after != before {
				t.Fatal("the database changed")
			}
		})
	}
	// The same events without the PHI are stored, so the refusal was the
	// guard's.
	r := e.do("POST", "/api/v1/events", e.ingest, restEvent(map[string]any{"actor_name": "Dr A", "metadata": map[string]any{"note": "ok"}}))
	wantStatus(t, r, 201)
}

// TestPHIGuardFlagStoresMarkedEvents: in flag mode each case is stored,
// marked under metadata.vigil_phi with the field and pattern (never the
// value), and counted once, a retry under the same key not again.
func TestPHIGuardFlagStoresMarkedEvents(t *testing.T) {
	var mu sync.Mutex
	counted := map[string]int{}
	e := newEnvGuarded(t, vhttp.Config{}, vigil.PHIFlag, func(ws string, found []vigil.PHIFinding) {
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]bool{} // a pattern may be in two fields of one event (FHIR's agent name is also actor_name)
		for _, f := range found {
			if !seen[f.Pattern] {
				seen[f.Pattern] = true
				counted[ws+"/"+f.Pattern]++
			}
		}
	})
	want := map[string]int{}
	for i, c := range phiCases() {
		headers := []string{"Content-Type", c.contentType()}
		if !strings.HasSuffix(c.path, "/batch") {
			headers = append(headers, "Idempotency-Key", "phi-"+string(rune('a'+i)))
		}
		r := e.do("POST", c.path, e.ingest, c.body, headers...)
		wantStatus(t, r, 201)
		want["default/"+c.pattern]++
		if !strings.HasSuffix(c.path, "/batch") {
			wantStatus(t, e.do("POST", c.path, e.ingest, c.body, headers...), 200) // the retry: a duplicate
		}
	}
	page, err := e.db.Events(context.Background(), vigil.Query{Workspace: "default", Limit: 100, Before: -1})
	if err != nil {
		t.Fatal(err)
	}
	marked := 0
	for _, ev := range page.Events {
		flags, err := vigil.PHIFlags(ev)
		if err != nil {
			t.Fatal(err)
		}
		if flags == nil {
			continue
		}
		marked++
		for _, f := range flags {
			if f.Field == "" || f.Pattern == "" {
				t.Fatalf("mark %+v", f)
			}
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(ev.Metadata, &m); err != nil {
			t.Fatal(err)
		}
		for _, c := range phiCases() {
			if strings.Contains(string(m[vigil.PHIFlagsKey]), c.value) {
				t.Fatalf("the mark repeats a value: %s", m[vigil.PHIFlagsKey])
			}
		}
	}
	if marked != len(phiCases()) {
		t.Fatalf("%d events marked, want %d", marked, len(phiCases()))
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range want {
		if counted[k] != n {
			t.Errorf("%s counted %d times, want %d (all: %v)", k, counted[k], n, counted)
		}
	}
	// The mark is the server's: a client sending it is refused.
	r := e.do("POST", "/api/v1/events", e.ingest, restEvent(map[string]any{"metadata": map[string]any{vigil.PHIFlagsKey: []any{}}}))
	if r.status != 422 || !strings.Contains(string(r.body), "metadata."+vigil.PHIFlagsKey) {
		t.Fatalf("a client's own mark: %d %s", r.status, r.body)
	}
}

// TestPHIGuardLeavesTheServersOwnRecords: an auditor's search for an
// e-mail address is answered and recorded as asked, in refuse mode; the
// server's record of a request is not what the guard screens.
func TestPHIGuardLeavesTheServersOwnRecords(t *testing.T) {
	e := newEnvGuarded(t, vhttp.Config{}, vigil.PHIRefuse, nil)
	r := e.get("/api/v1/events?search="+url.QueryEscape("jane.doe@example.org"), e.auditor)
	wantStatus(t, r, 200)
	page, err := e.db.Events(context.Background(), vigil.Query{Workspace: "default", Limit: 1, Before: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || page.Events[0].Action != vhttp.ActionEventsQuery || !strings.Contains(string(page.Events[0].Metadata), "jane.doe@example.org") {
		t.Fatalf("the search was recorded as %+v", page.Events)
	}
}
