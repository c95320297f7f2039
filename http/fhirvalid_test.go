package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/fhir"
)

// validatorDir holds the Node validator of FHIR resources and, once
// installed (.ci/run does it), its pinned packages.
var validatorDir = filepath.Join("..", "tools", "fhir-validate")

// TestFHIRResourcesValidate: every kind of resource the server emits
// (the CapabilityStatement; AuditEvents read back from every example and
// from native, meta-audit and failed events; search Bundles of several
// shapes; created resources; OperationOutcomes of every error status) is
// valid R4, invariants included, by an independent validator
// (@medplum/core's validateResource, run by node).
func TestFHIRResourcesValidate(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: install Node.js 20.19 or later (apt-get install nodejs), then (cd tools/fhir-validate && npm ci)")
	}
	if _, err := os.Stat(filepath.Join(validatorDir, "node_modules", "@medplum", "core", "package.json")); err != nil {
		t.Fatal("the FHIR validator's packages are not installed: run (cd tools/fhir-validate && npm ci), as .ci/run does")
	}
	e := newEnv(t)
	dir := t.TempDir()
	n := 0
	save := func(name string, resource []byte) {
		t.Helper()
		var probe struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(resource, &probe); err != nil || probe.ResourceType == "" {
			t.Fatalf("%s is not a resource: %.300s", name, resource)
		}
		n++
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d-%s.json", n, name)), resource, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want := func(name string, r response, status int) []byte {
		t.Helper()
		if r.status != status {
			t.Fatalf("%s: %d, want %d: %.300s", name, r.status, status, r.body)
		}
		save(name, r.body)
		return r.body
	}

	want("capability-statement", e.get("/fhir/R4/metadata", ""), 200)

	// Every example, through the door it belongs to, created and read back.
	var created []string
	for _, f := range fhirFixtures(t, "*.json") {
		name := strings.TrimSuffix(f, ".json")
		var a fhir.AuditEvent
		if strings.HasPrefix(f, "seed001-") {
			var d struct{ Data struct{ ID string } }
			r := e.post("/api/v1/audit-events", e.ingest, fhirFixture(t, f))
			wantStatus(t, r, 201)
			r.json(t, &d)
			a.ID = d.Data.ID
		} else {
			if err := json.Unmarshal(want("created-"+name, e.fhirPost(e.ingest, fhirFixture(t, f)), 201), &a); err != nil {
				t.Fatal(err)
			}
		}
		created = append(created, a.ID)
		want("read-"+name, e.get("/fhir/R4/AuditEvent/"+a.ID, e.auditor), 200)
	}
	want("created-outcome", e.fhirPost(e.ingest, fhirFixture(t, "r4-example.json"), "Prefer", "return=OperationOutcome"), 201)

	// Native events: minimal, full, failed, with a patient, with targets.
	for name, body := range map[string]string{
		"minimal": `{"actor_id":"u1","action":"record.viewed"}`,
		"full": `{"actor_id":"dr_a","actor_name":"Dr. A","actor_type":"user","action":"patient_record.viewed","action_category":"read",` +
			`"resource":"patient_record","resource_id":"rec_1","resource_name":"Chart","patient_id":"pt_1","purpose_of_use":"TREAT",` +
			`"tenant_id":"t1","session_id":"s1","ip_address":"203.0.113.7","user_agent":"ua/1","source":"ehr","version":"2",` +
			`"occurred_at":"2024-06-15T08:30:00.123+02:00","metadata":{"reason":"follow-up","n":3},` +
			`"targets":[{"type":"lab","id":"lab_9","name":"CBC"},{"type":"note","id":"n1"}]}`,
		"failed":     `{"actor_id":"u2","action":"patient_record.exported","outcome":"serious_failure","patient_id":"pt_2"}`,
		"disclosure": `{"actor_id":"u3","action":"records.disclosed","action_category":"disclosure","patient_id":"pt_3","purpose_of_use":"HPAYMT"}`,
		"login":      `{"actor_id":"u4","action":"user.login","actor_type":"user","outcome":"minor_failure"}`,
	} {
		var s struct{ ID string }
		r := e.post("/api/v1/events", e.ingest, body)
		wantStatus(t, r, 201)
		r.json(t, &s)
		want("native-"+name, e.get("/fhir/R4/AuditEvent/"+s.ID, e.auditor), 200)
		var d struct{ Data json.RawMessage }
		e.get("/api/v1/events/"+s.ID+"?format=fhir", e.auditor).json(t, &d)
		save("format-fhir-"+name, d.Data)
	}
	// The reads above were recorded: their meta-audit events are AuditEvents too.
	var list struct{ Data []struct{ ID string } }
	e.get("/api/v1/events?limit=3", e.auditor).json(t, &list)
	for _, ev := range list.Data {
		want("meta-audit", e.get("/fhir/R4/AuditEvent/"+ev.ID, e.auditor), 200)
	}

	// Search Bundles.
	for name, q := range map[string]string{
		"search-all": "", "search-page": "_count=2", "search-next": "", "search-total-only": "_count=0",
		"search-summary-count": "_summary=count", "search-no-total": "_total=none&_sort=date", "search-empty": "agent=nobody",
		"search-lenient-outcome": "action=E&_elements=id", "search-ids": "_id=" + strings.Join(created[:2], ","),
		"search-last-updated": "_lastUpdated=ge2000&patient=pt_1",
	} {
		if name == "search-next" {
			var b bundle
			e.get("/fhir/R4/AuditEvent?_count=2", e.auditor).json(t, &b)
			next := b.link("next")
			if next == "" {
				t.Fatal("no next link")
			}
			q = next[strings.Index(next, "?")+1:]
		}
		want(name, e.get("/fhir/R4/AuditEvent?"+q, e.auditor), 200)
	}

	// OperationOutcomes of errors.
	valid := fhirFixture(t, "r4-example.json")
	for _, c := range []struct {
		name, method, path, key string
		body                    []byte
		headers                 []string
		status                  int
	}{
		{"malformed-json", "POST", "/fhir/R4/AuditEvent", e.ingest, []byte(`{"resourceType":`), nil, 400},
		{"bad-query", "GET", "/fhir/R4/AuditEvent?agent=%", e.auditor, nil, nil, 400},
		{"no-key", "GET", "/fhir/R4/AuditEvent", "", nil, nil, 401},
		{"wrong-role", "GET", "/fhir/R4/AuditEvent", e.ingest, nil, nil, 403},
		{"not-found", "GET", "/fhir/R4/AuditEvent/0190b5a0-0000-7000-8000-000000000000", e.auditor, nil, nil, 404},
		{"other-resource", "GET", "/fhir/R4/Patient/1", e.auditor, nil, nil, 404},
		{"immutable", "DELETE", "/fhir/R4/AuditEvent/" + created[0], e.auditor, nil, nil, 405},
		{"xml", "GET", "/fhir/R4/AuditEvent", e.auditor, nil, []string{"Accept", "application/fhir+xml"}, 406},
		{"too-large", "POST", "/fhir/R4/AuditEvent", e.ingest, []byte(`{"resourceType":"AuditEvent","text":{"div":"` + strings.Repeat("x", 300<<10) + `"}}`), nil, 413},
		{"latin1", "POST", "/fhir/R4/AuditEvent", e.ingest, valid, []string{"Content-Type", "application/fhir+json; charset=latin1"}, 415},
		{"invalid", "POST", "/fhir/R4/AuditEvent", e.ingest, bytes.Replace(valid, []byte(`"recorded"`), []byte(`"recordedX"`), 1), nil, 422},
		{"missing", "POST", "/fhir/R4/AuditEvent", e.ingest, []byte(`{"resourceType":"AuditEvent"}`), nil, 422},
		{"bad-search", "GET", "/fhir/R4/AuditEvent?date=xx2024&_count=1000", e.auditor, nil, nil, 422},
		{"unsupported-parameter", "GET", "/fhir/R4/AuditEvent?subject=Patient/1", e.auditor, nil, nil, 422},
		{"foreign-cursor", "GET", "/fhir/R4/AuditEvent?_cursor=ZjIuMS4yLkFBQUE", e.auditor, nil, nil, 422},
	} {
		var body any
		if c.body != nil {
			body = c.body
		}
		headers := append([]string{"Content-Type", "application/fhir+json"}, c.headers...)
		want("outcome-"+c.name, e.do(c.method, c.path, c.key, body, headers...), c.status)
	}

	out, err := exec.Command(node, filepath.Join(validatorDir, "validate.mjs"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("the validator found problems in what the server emits (%v):\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("%d resources validated, 0 with issues", n)) {
		t.Fatalf("validator output:\n%s", out)
	}
	t.Logf("%d resources valid: %s", n, bytes.TrimSpace(out))
}
