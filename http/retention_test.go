package http_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	vhttp "github.com/vigilhq/vigil/http"
)

// lastRecord is the newest event of the default workspace and its
// meta-audit parameters.
func lastRecord(t *testing.T, e *env) (vigil.Event, map[string]string) {
	t.Helper()
	page, err := e.db.Events(context.Background(), vigil.Query{Workspace: "default", Limit: 1, Before: -1})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("newest event: %v %v", page.Events, err)
	}
	var m struct{ Params map[string]string }
	if err := json.Unmarshal(page.Events[0].Metadata, &m); err != nil {
		t.Fatal(err)
	}
	return page.Events[0], m.Params
}

func TestRetentionPolicy(t *testing.T) {
	e := newEnv(t)
	var got api.Data[api.Retention]
	r := e.get("/api/v1/retention", e.admin)
	wantStatus(t, r, 200)
	r.json(t, &got)
	if p := got.Data; p.RetentionDays != 2557 || !p.HIPAA || !p.Default || p.Enforced || p.UpdatedAt != nil || p.Workspace != "default" {
		t.Fatalf("default policy %s", r.body)
	}
	before := e.logSize()
	for body, field := range map[string]string{
		`{"retention_days":2191}`:              "retention_days",
		`{"retention_days":2191,"hipaa":true}`: "retention_days",
		`{"retention_days":0,"hipaa":false}`:   "retention_days",
		`{"hipaa":false}`:                      "retention_days",
		`{"retention_days":"7y"}`:              "retention_days",
		`{"retention_days":2557,"hipaa":"no"}`: "hipaa",
	} {
		r := e.do("PUT", "/api/v1/retention", e.admin, body)
		if r.status != 422 || !strings.Contains(string(r.body), `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming %s", body, r.status, r.body, field)
		}
	}
	if e.logSize() != before {
		t.Fatal("a refused policy was recorded")
	}
	r = e.do("PUT", "/api/v1/retention", e.admin, `{"retention_days":2192}`)
	wantStatus(t, r, 200)
	r = e.do("PUT", "/api/v1/retention", e.admin, `{"retention_days":400,"hipaa":false}`)
	wantStatus(t, r, 200)
	r.json(t, &got)
	if p := got.Data; p.RetentionDays != 400 || p.HIPAA || p.Default || p.UpdatedAt == nil || p.UpdatedBy == nil || *p.UpdatedBy != keyID(t, e, e.admin) {
		t.Fatalf("set policy %s", r.body)
	}
	rec, params := lastRecord(t, e)
	if rec.Action != vhttp.ActionRetentionUpdated || rec.ActorID != keyID(t, e, e.admin) || params["retention_days"] != "400" ||
		params["hipaa"] != "false" || params["previous_retention_days"] != "2192" || params["previous_hipaa"] != "true" {
		t.Fatalf("recorded as %s by %s with %v", rec.Action, rec.ActorID, params)
	}
	if e.logSize() != before+2 {
		t.Fatalf("%d records of two changes", e.logSize()-before)
	}
	r = e.get("/api/v1/retention", e.admin)
	r.json(t, &got)
	if got.Data.RetentionDays != 400 {
		t.Fatalf("read back %s", r.body)
	}
	// Another workspace keeps its own; a tenant's admin manages none.
	r = e.get("/api/v1/retention", e.key("other", vigil.RoleAdmin, ""))
	r.json(t, &got)
	if !got.Data.Default || got.Data.Workspace != "other" {
		t.Fatalf("another workspace's policy %s", r.body)
	}
	wantStatus(t, e.get("/api/v1/retention", e.key("default", vigil.RoleAdmin, "t1")), 403)
	wantStatus(t, e.do("PUT", "/api/v1/retention", e.key("default", vigil.RoleAdmin, "t1"), `{"retention_days":3000}`), 403)
}

func TestLegalHolds(t *testing.T) {
	e := newEnv(t)
	admin := keyID(t, e, e.admin)
	before := e.logSize()
	for body, field := range map[string]string{
		`{"patient_id":"pt_1"}`:                                "reason",
		`{"patient_id":"pt_1","reason":" "}`:                   "reason",
		`{"reason":"no subject"}`:                              "tenant_id",
		`{"tenant_id":"","reason":"empty"}`:                    "tenant_id",
		`{"patient_id":"","tenant_id":"t1","reason":"x"}`:      "patient_id",
		`{"from":"yesterday","reason":"x"}`:                    "from",
		`{"from":"2024-03-01","to":"2024-02-01","reason":"x"}`: "to",
		`{"tenant_id":"t1","reason":"x","status":"released"}`:  "status",
	} {
		r := e.post("/api/v1/legal-holds", e.admin, body)
		if r.status != 422 || !strings.Contains(string(r.body), `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming %s", body, r.status, r.body, field)
		}
	}
	if e.logSize() != before {
		t.Fatal("a refused hold was recorded")
	}
	var created api.Data[api.LegalHold]
	r := e.post("/api/v1/legal-holds", e.admin, `{"patient_id":"pt_1","tenant_id":"t1","from":"2024-03-01","to":"2024-04-01T00:00:00Z","reason":"Smith v. Clinic"}`)
	wantStatus(t, r, 201)
	r.json(t, &created)
	h := created.Data
	if h.ID == "" || r.header.Get("Location") != "/api/v1/legal-holds/"+h.ID || h.Status != "active" || *h.PatientID != "pt_1" || *h.TenantID != "t1" ||
		*h.From != "2024-03-01T00:00:00Z" || *h.To != "2024-04-01T00:00:00Z" || h.Reason != "Smith v. Clinic" || h.CreatedBy != admin || h.ReleasedAt != nil {
		t.Fatalf("created %s (Location %q)", r.body, r.header.Get("Location"))
	}
	rec, params := lastRecord(t, e)
	if rec.Action != vhttp.ActionLegalHoldCreated || rec.PatientID != "pt_1" || rec.ResourceID != h.ID || params["reason"] != "Smith v. Clinic" ||
		params["tenant_id"] != "t1" || params["from"] != "2024-03-01T00:00:00Z" {
		t.Fatalf("recorded as %s of %s with %v", rec.Action, rec.PatientID, params)
	}
	// The store answers a later disposal's question.
	covered, err := e.db.Covers(context.Background(), "default", vigil.HoldSubject{TenantID: "t1", PatientID: "pt_1"})
	if err != nil || len(covered) != 1 || covered[0].ID != h.ID {
		t.Fatalf("covers %+v %v", covered, err)
	}
	var one api.Data[api.LegalHold]
	r = e.get("/api/v1/legal-holds/"+h.ID, e.admin)
	wantStatus(t, r, 200)
	r.json(t, &one)
	if one.Data.ID != h.ID || one.Data.Reason != h.Reason {
		t.Fatalf("read %s", r.body)
	}
	var list api.Data[[]api.LegalHold]
	e.post("/api/v1/legal-holds", e.admin, `{"tenant_id":"t2","reason":"state audit"}`)
	r = e.get("/api/v1/legal-holds", e.admin)
	r.json(t, &list)
	if len(list.Data) != 2 || list.Data[0].ID != h.ID {
		t.Fatalf("list %s", r.body)
	}
	wantStatus(t, e.get("/api/v1/legal-holds/"+h.ID, e.key("other", vigil.RoleAdmin, "")), 404)
	wantStatus(t, e.do("DELETE", "/api/v1/legal-holds/"+h.ID, e.key("other", vigil.RoleAdmin, ""), `{"reason":"x"}`), 404)
	wantStatus(t, e.post("/api/v1/legal-holds", e.key("default", vigil.RoleAdmin, "t1"), `{"tenant_id":"t1","reason":"x"}`), 403)

	// Release: the reason is required; the record stays, with who and why.
	if r := e.do("DELETE", "/api/v1/legal-holds/"+h.ID, e.admin, nil); r.status != 400 {
		t.Fatalf("a release without a body: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/legal-holds/"+h.ID, e.admin, `{"reason":""}`); r.status != 422 || !strings.Contains(string(r.body), `"field":"reason"`) {
		t.Fatalf("a release without a reason: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/legal-holds/"+h.ID, e.admin, `{"reason":"x"}`, "Content-Type", "text/plain"); r.status != 415 {
		t.Fatalf("a release sent as text/plain: %d %s", r.status, r.body)
	}
	second := e.key("default", vigil.RoleAdmin, "")
	r = e.do("DELETE", "/api/v1/legal-holds/"+h.ID, second, `{"reason":"the case settled"}`)
	wantStatus(t, r, 200)
	r.json(t, &one)
	if d := one.Data; d.Status != "released" || d.ReleasedAt == nil || *d.ReleasedBy != keyID(t, e, second) || *d.ReleaseReason != "the case settled" || d.Reason != h.Reason {
		t.Fatalf("released %s", r.body)
	}
	rec, params = lastRecord(t, e)
	if rec.Action != vhttp.ActionLegalHoldReleased || rec.ActorID != keyID(t, e, second) || rec.PatientID != "pt_1" || params["reason"] != "the case settled" || params["hold_id"] != h.ID {
		t.Fatalf("release recorded as %s by %s with %v", rec.Action, rec.ActorID, params)
	}
	if r := e.do("DELETE", "/api/v1/legal-holds/"+h.ID, e.admin, `{"reason":"again"}`); r.status != 409 || r.errorCode(t) != "conflict" {
		t.Fatalf("a second release: %d %s", r.status, r.body)
	}
	if covered, err := e.db.Covers(context.Background(), "default", vigil.HoldSubject{PatientID: "pt_1", TenantID: "t1"}); err != nil || len(covered) != 0 {
		t.Fatalf("a released hold covers %+v %v", covered, err)
	}
}
