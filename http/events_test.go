package http_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	vhttp "github.com/vigilhq/vigil/http"
)

// The seed's curl example, sent literally.
const seedViewed = `{
"actor_id": "dr_m4k8p2",
"actor_name": "Dr. Emily Nakamura",
"actor_type": "physician",
"tenant_id": "clinic_bayview_medical",
"session_id": "sess_e4a2c8f1",
"action": "patient_record.viewed",
"resource": "patient_record",
"resource_id": "pat_7f3a9c2d",
"resource_name": "Record #7f3a9c2d",
"metadata": {
"patient_mrn": "MRN-2024-08291",
"sections_accessed": ["demographics", "medications", "lab_results"],
"access_reason": "scheduled_appointment",
"department": "internal_medicine"
}
}`

const seedPrescription = `{
"actor_id": "dr_m4k8p2",
"actor_name": "Dr. Emily Nakamura",
"actor_type": "physician",
"tenant_id": "clinic_bayview_medical",
"session_id": "sess_e4a2c8f1",
"action": "prescription.created",
"resource": "prescription",
"resource_id": "rx_4b8e2a1c",
"metadata": {
"patient_record_id": "pat_7f3a9c2d",
"medication_code": "NDC-0002-4462-01",
"quantity": 30,
"refills": 2,
"e_prescribe": true
},
"targets": [
{"type": "patient_record", "id": "pat_7f3a9c2d"},
{"type": "prescription", "id": "rx_4b8e2a1c"}
]
}`

func TestSeedEventsRoundTrip(t *testing.T) {
	e := newEnv(t)
	r := e.post("/api/v1/events", e.ingest, seedViewed)
	wantStatus(t, r, 201)
	var stored api.Stored
	r.json(t, &stored)
	if stored.Status != "stored" || len(stored.ID) != 36 {
		t.Fatalf("answer %s", r.body)
	}
	wantStatus(t, e.post("/api/v1/events", e.ingest, seedPrescription), 201)

	// The seed's access-history query.
	r = e.get("/api/v1/events?resource_id=pat_7f3a9c2d&limit=100", e.auditor)
	wantStatus(t, r, 200)
	var list api.EventList
	r.json(t, &list)
	if len(list.Data) != 1 || list.Pagination.Total != 1 || list.Pagination.HasMore {
		t.Fatalf("query answered %s", r.body)
	}
	got := list.Data[0]
	if got.ID != stored.ID || got.Actor.ID != "dr_m4k8p2" || *got.Actor.Name != "Dr. Emily Nakamura" || *got.ActorName != "Dr. Emily Nakamura" ||
		*got.ActorType != "physician" || got.Action != "patient_record.viewed" || *got.Resource.Type != "patient_record" ||
		*got.Resource.ID != "pat_7f3a9c2d" || *got.Resource.Name != "Record #7f3a9c2d" || *got.TenantID != "clinic_bayview_medical" ||
		*got.SessionID != "sess_e4a2c8f1" || got.Outcome != "success" || *got.IPAddress != "127.0.0.1" || got.Sequence != 0 {
		t.Fatalf("event read back as %s", r.body)
	}
	var meta map[string]any
	if err := json.Unmarshal(got.Metadata, &meta); err != nil || meta["patient_mrn"] != "MRN-2024-08291" || len(meta) != 4 {
		t.Fatalf("metadata %s", got.Metadata)
	}
	if got.Integrity == nil || len(got.Integrity.EventHash) != 64 || got.Integrity.PreviousEventHash != nil {
		t.Fatalf("integrity %+v", got.Integrity)
	}
	// The second event links to the first.
	r = e.get("/api/v1/events?action=prescription.*", e.auditor)
	var second api.EventList
	r.json(t, &second)
	if len(second.Data) != 1 || len(second.Data[0].Targets) != 2 || second.Data[0].Integrity.PreviousEventHash == nil ||
		*second.Data[0].Integrity.PreviousEventHash != got.Integrity.EventHash {
		t.Fatalf("second event %s", r.body)
	}
	// And a single read.
	r = e.get("/api/v1/events/"+stored.ID, e.auditor)
	wantStatus(t, r, 200)
	var one api.Data[api.Event]
	r.json(t, &one)
	if one.Data.ID != stored.ID || one.Data.Integrity.EventHash != got.Integrity.EventHash {
		t.Fatalf("GET by id %s", r.body)
	}
}

func TestIdempotencyOverHTTP(t *testing.T) {
	e := newEnvWith(t, vhttp.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	body := `{"actor_id":"a","action":"b","idempotency_key":"retry-1"}`
	var first, second api.Stored
	r := e.do("POST", "/api/v1/events", e.ingest, body, "X-Forwarded-For", "203.0.113.9")
	wantStatus(t, r, 201)
	r.json(t, &first)
	// A retry, from another address: the same event, and nothing created.
	r = e.do("POST", "/api/v1/events", e.ingest, body, "X-Forwarded-For", "203.0.113.10")
	wantStatus(t, r, 200)
	r.json(t, &second)
	if second.Status != "duplicate" || second.ID != first.ID {
		t.Fatalf("repeat answered %s", r.body)
	}
	// Other content under the key: refused, naming the first event.
	var stored api.Data[api.Event]
	e.get("/api/v1/events/"+first.ID, e.auditor).json(t, &stored)
	r = e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"b","outcome":"failure","idempotency_key":"retry-1"}`)
	wantStatus(t, r, 409)
	if r.errorCode(t) != "conflict" {
		t.Fatalf("conflict answered %s", r.body)
	}
	var refusal api.Error
	r.json(t, &refusal)
	seq := fmt.Sprintf("sequence %d", stored.Data.Sequence)
	if len(refusal.Details) != 1 || refusal.Details[0].Field != "idempotency_key" || refusal.Details[0].Index != nil ||
		!strings.Contains(refusal.Details[0].Message, seq) || !strings.Contains(refusal.Message, seq) {
		t.Fatalf("conflict does not name %s: %s", seq, r.body)
	}
	var list api.EventList
	e.get("/api/v1/events?action=b", e.auditor).json(t, &list)
	if list.Pagination.Total != 1 {
		t.Fatalf("stored %d times", list.Pagination.Total)
	}

	// A batch: the same key twice with the same content is one event; all
	// duplicates create nothing (200).
	batch := `{"events":[{"actor_id":"a","action":"c","idempotency_key":"k1"},{"actor_id":"a","action":"c","idempotency_key":"k1"}]}`
	r = e.post("/api/v1/events/batch", e.ingest, batch)
	wantStatus(t, r, 201)
	var out api.BatchStored
	r.json(t, &out)
	if len(out.Events) != 2 || out.Events[0].Status != "stored" || out.Events[1].Status != "duplicate" || out.Events[1].ID != out.Events[0].ID {
		t.Fatalf("batch answered %s", r.body)
	}
	r = e.post("/api/v1/events/batch", e.ingest, batch)
	wantStatus(t, r, 200)
	r.json(t, &out)
	if out.Events[0].Status != "duplicate" || out.Events[1].Status != "duplicate" {
		t.Fatalf("repeated batch answered %s", r.body)
	}
	// The same key twice with different content, or a stored key with
	// other content: 409 naming the item, and nothing of the batch stored.
	for _, c := range []struct{ body, names string }{
		{`{"events":[{"actor_id":"a","action":"d"},{"actor_id":"a","action":"d","idempotency_key":"k2"},{"actor_id":"a","action":"e","idempotency_key":"k2"}]}`, "events[1]"},
		{`{"events":[{"actor_id":"a","action":"d"},{"actor_id":"a","action":"d","idempotency_key":"k1"}]}`, "sequence"},
	} {
		r = e.post("/api/v1/events/batch", e.ingest, c.body)
		wantStatus(t, r, 409)
		r.json(t, &refusal)
		d := refusal.Details
		if len(d) != 1 || d[0].Field != "idempotency_key" || d[0].Index == nil || !strings.Contains(d[0].Message, c.names) {
			t.Fatalf("batch conflict does not name the item and %s: %s", c.names, r.body)
		}
	}
	e.get("/api/v1/events?action=d", e.auditor).json(t, &list)
	if list.Pagination.Total != 0 {
		t.Fatalf("a refused batch stored %d events", list.Pagination.Total)
	}

	// The Idempotency-Key header, as the FHIR creates take it, is the
	// same key as the body's; a batch's keys are per event.
	r = e.do("POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"b"}`, "Idempotency-Key", "retry-1")
	wantStatus(t, r, 200)
	r.json(t, &second)
	if second.ID != first.ID {
		t.Fatalf("the header's key answered %s, want a duplicate of %s", r.body, first.ID)
	}
	wantStatus(t, e.do("POST", "/api/v1/events", e.ingest, body, "Idempotency-Key", `"retry-1"`), 200)
	for _, c := range []struct{ path, body, key string }{
		{"/api/v1/events", body, "retry-2"},
		{"/api/v1/events", `{"actor_id":"a","action":"f"}`, strings.Repeat("k", 256)},
		{"/api/v1/events", `{"actor_id":"a","action":"f"}`, `"open`},
		{"/api/v1/events/batch", `{"events":[{"actor_id":"a","action":"f"}]}`, "k3"},
	} {
		r = e.do("POST", c.path, e.ingest, c.body, "Idempotency-Key", c.key)
		wantStatus(t, r, 422)
		if !strings.Contains(string(r.body), `"field":"Idempotency-Key"`) {
			t.Fatalf("%s with Idempotency-Key %.20s: %s does not name the header", c.path, c.key, r.body)
		}
	}
	r = e.do("POST", "/api/v1/events", e.ingest, `{"actor_id":"a","action":"other"}`, "Idempotency-Key", "retry-1")
	wantStatus(t, r, 409)
	if !strings.Contains(string(r.body), `"field":"Idempotency-Key"`) {
		t.Fatalf("a conflict on the header's key does not name the header: %s", r.body)
	}
}

// TestIdempotencyTenantKeys: a tenant-restricted key's events get its
// tenant before their key is looked up, so two tenants' keys using one
// idempotency key store two events, each answered with its own id, and
// the same key without a tenant is a third.
func TestIdempotencyTenantKeys(t *testing.T) {
	e := newEnv(t)
	body := `{"actor_id":"a","action":"b","idempotency_key":"shared"}`
	ids := map[string]string{}
	for _, tenant := range []string{"t1", "t2", ""} {
		var s api.Stored
		r := e.post("/api/v1/events", e.key("default", vigil.RoleIngest, tenant), body)
		wantStatus(t, r, 201)
		r.json(t, &s)
		for other, id := range ids {
			if s.ID == id {
				t.Fatalf("tenant %q was answered with tenant %q's event %s", tenant, other, id)
			}
		}
		ids[tenant] = s.ID
	}
	// The tenant key's event and the workspace key's event naming that
	// tenant are one scope.
	var s api.Stored
	r := e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"b","idempotency_key":"shared","tenant_id":"t1"}`)
	wantStatus(t, r, 200)
	r.json(t, &s)
	if s.Status != "duplicate" || s.ID != ids["t1"] {
		t.Fatalf("t1's event sent by the workspace key answered %s, want a duplicate of %s", r.body, ids["t1"])
	}
	r = e.post("/api/v1/events", e.key("default", vigil.RoleIngest, "t2"), `{"actor_id":"a","action":"other","idempotency_key":"shared"}`)
	wantStatus(t, r, 409)
	for tenant, id := range ids {
		if tenant != "t2" && strings.Contains(string(r.body), id) {
			t.Fatalf("t2's conflict names tenant %q's event: %s", tenant, r.body)
		}
	}
	if !strings.Contains(string(r.body), ids["t2"]) {
		t.Fatalf("t2's conflict does not name its own event %s: %s", ids["t2"], r.body)
	}
}

func TestBatch(t *testing.T) {
	e := newEnv(t)
	r := e.post("/api/v1/events/batch", e.ingest, `{"events":[{"actor_id":"a","action":"x"},{"actor_id":"a"},{"actor_id":"b","action":"y","occurred_at":"yesterday"}]}`)
	wantStatus(t, r, 422)
	var body api.Error
	r.json(t, &body)
	var named []string
	for _, d := range body.Details {
		if d.Index == nil {
			t.Fatalf("detail without index: %s", r.body)
		}
		named = append(named, fmt.Sprintf("%d:%s", *d.Index, d.Field))
	}
	if strings.Join(named, ",") != "1:action,2:occurred_at" {
		t.Fatalf("details %v", named)
	}
	var list api.EventList
	e.get("/api/v1/events", e.auditor).json(t, &list)
	for _, ev := range list.Data {
		if ev.Action == "x" {
			t.Fatal("a rejected batch stored an event")
		}
	}
	r = e.post("/api/v1/events/batch", e.ingest, `{"events":[{"actor_id":"a","action":"x"},{"actor_id":"a","action":"y","idempotency_key":"k"},{"actor_id":"a","action":"y","idempotency_key":"k"}]}`)
	wantStatus(t, r, 201)
	var out api.BatchStored
	r.json(t, &out)
	if len(out.Events) != 3 || out.Events[0].Status != "stored" || out.Events[1].Status != "stored" || out.Events[2].Status != "duplicate" || out.Events[2].ID != out.Events[1].ID {
		t.Fatalf("batch answered %s", r.body)
	}
	var many []string
	for range 101 {
		many = append(many, `{"actor_id":"a","action":"x"}`)
	}
	r = e.post("/api/v1/events/batch", e.ingest, `{"events":[`+strings.Join(many, ",")+`]}`)
	wantStatus(t, r, 422)
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	ingestA := e.key("default", vigil.RoleIngest, "clinic_a")
	auditA := e.key("default", vigil.RoleAuditor, "clinic_a")
	auditB := e.key("default", vigil.RoleAuditor, "clinic_b")
	var a, b api.Stored
	// A tenant key's event gets its tenant; another tenant is refused.
	e.post("/api/v1/events", ingestA, `{"actor_id":"u","action":"x"}`).json(t, &a)
	r := e.post("/api/v1/events", ingestA, `{"actor_id":"u","action":"x","tenant_id":"clinic_b"}`)
	wantStatus(t, r, 403)
	e.post("/api/v1/events", e.ingest, `{"actor_id":"u","action":"x","tenant_id":"clinic_b"}`).json(t, &b)

	wantStatus(t, e.get("/api/v1/events/"+a.ID, auditA), 200)
	r = e.get("/api/v1/events/"+b.ID, auditA)
	wantStatus(t, r, 404)
	if r.errorCode(t) != "not_found" {
		t.Fatal(string(r.body))
	}
	var list api.EventList
	e.get("/api/v1/events?tenant_id=clinic_b", auditA).json(t, &list)
	if len(list.Data) != 0 || list.Pagination.Total != 0 {
		t.Fatalf("clinic_a saw clinic_b: %+v", list)
	}
	e.get("/api/v1/events?action=x", auditB).json(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != b.ID {
		t.Fatalf("clinic_b sees %+v", list)
	}
	// Proofs and verification do not cross tenants either.
	wantStatus(t, e.get("/api/v1/events/"+b.ID+"/proof", auditA), 404)
	wantStatus(t, e.get("/api/v1/verify", auditA), 403)
	// Other workspaces are invisible.
	other := e.key("other", vigil.RoleAuditor, "")
	wantStatus(t, e.get("/api/v1/events/"+a.ID, other), 404)
	e.get("/api/v1/events", other).json(t, &list)
	for _, ev := range list.Data {
		if ev.ID == a.ID || ev.ID == b.ID {
			t.Fatal("another workspace's event leaked")
		}
	}
}

func TestReadsAreAudited(t *testing.T) {
	e := newEnv(t)
	var s api.Stored
	e.post("/api/v1/events", e.ingest, `{"actor_id":"u","action":"x","patient_id":"pt_9"}`).json(t, &s)
	wantStatus(t, e.get("/api/v1/events?patient_id=pt_9", e.auditor), 200)
	wantStatus(t, e.get("/api/v1/events/"+s.ID, e.auditor), 200)
	auditorKey, err := e.db.KeyByHash(t.Context(), vigil.HashKey(e.auditor))
	if err != nil {
		t.Fatal(err)
	}
	var list api.EventList
	e.get("/api/v1/events?action=vigil.events.*&actor_id="+url.QueryEscape(auditorKey.ID), e.auditor).json(t, &list)
	var actions []string
	for _, ev := range list.Data {
		actions = append(actions, ev.Action)
		if *ev.ActorType != "api_key" || ev.ActorID != auditorKey.ID {
			t.Fatalf("meta-audit actor %+v", ev.Actor)
		}
	}
	// Newest first: the read, then the query before it. (This query's own
	// record is written while it runs, so it is in the next answer.)
	if strings.Join(actions, ",") != "vigil.events.read,vigil.events.query" {
		t.Fatalf("meta-audit actions %v", actions)
	}
	var meta struct {
		Params map[string]string `json:"params"`
	}
	json.Unmarshal(list.Data[1].Metadata, &meta)
	if meta.Params["patient_id"] != "pt_9" {
		t.Fatalf("meta-audit metadata %s", list.Data[1].Metadata)
	}
	var again api.EventList
	e.get("/api/v1/events?action=vigil.events.query&actor_id="+url.QueryEscape(auditorKey.ID), e.auditor).json(t, &again)
	if len(again.Data) != 2 {
		t.Fatalf("the previous query was not recorded: %d query records", len(again.Data))
	}
}

func TestPaginationOverHTTP(t *testing.T) {
	e := newEnv(t)
	for i := range 7 {
		wantStatus(t, e.post("/api/v1/events", e.ingest, fmt.Sprintf(`{"actor_id":"p","action":"n.%d"}`, i)), 201)
	}
	var seen []string
	path := "/api/v1/events?actor_id=p&limit=3"
	for {
		var list api.EventList
		r := e.get(path, e.auditor)
		wantStatus(t, r, 200)
		r.json(t, &list)
		for _, ev := range list.Data {
			seen = append(seen, ev.Action)
		}
		if list.Pagination.Total != 7 {
			t.Fatalf("total %d", list.Pagination.Total)
		}
		if !list.Pagination.HasMore {
			if list.Pagination.NextCursor != nil {
				t.Fatal("a last page with a cursor")
			}
			break
		}
		path = "/api/v1/events?actor_id=p&limit=3&cursor=" + url.QueryEscape(*list.Pagination.NextCursor)
	}
	if strings.Join(seen, " ") != "n.6 n.5 n.4 n.3 n.2 n.1 n.0" {
		t.Fatalf("pages %v", seen)
	}
}
