package http_test

import (
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/fhir"
)

// TestFHIRIdempotencyKey: a create through /fhir/R4/AuditEvent carries its
// idempotency key in the Idempotency-Key header (an AuditEvent has no
// element for one). A retry answers the event first created, 200 as FHIR's
// conditional create does for an existing match; other content under the
// key is a 409 naming the first event; each tenant has its own keys.
func TestFHIRIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	login, denied := fhirFixture(t, "r4-example-login.json"), fhirFixture(t, "r4-example-rest.json")
	r := e.fhirPost(e.ingest, login, "Idempotency-Key", "login-1")
	wantStatus(t, r, 201)
	var first fhir.AuditEvent
	r.json(t, &first)
	loc := r.header.Get("Location")

	// The same create again, and the structured-field spelling of the key.
	for _, key := range []string{"login-1", `"login-1"`} {
		again := e.fhirPost(e.ingest, login, "Idempotency-Key", key)
		wantStatus(t, again, 200)
		if string(again.body) != string(r.body) || again.header.Get("Location") != loc {
			t.Fatalf("retry with %s answered %s (Location %s), want the first create's answer", key, again.body, again.header.Get("Location"))
		}
	}
	// Other content under the key.
	r = e.fhirPost(e.ingest, denied, "Idempotency-Key", "login-1")
	wantStatus(t, r, 409)
	is := r.outcome(t)
	if is[0].Code != "conflict" || !strings.Contains(is[0].Diagnostics, "sequence") || !strings.Contains(is[0].Diagnostics, first.ID) {
		t.Fatalf("conflict outcome %+v", is)
	}
	// Without a key every create is an event of its own, as FHIR's create is.
	wantStatus(t, e.fhirPost(e.ingest, login), 201)
	wantStatus(t, e.fhirPost(e.ingest, login), 201)
	// Tenants have their own keys: neither answer names the other's event.
	ids := map[string]bool{first.ID: true}
	for _, tenant := range []string{"t1", "t2"} {
		r := e.fhirPost(e.key("default", vigil.RoleIngest, tenant), login, "Idempotency-Key", "login-1")
		wantStatus(t, r, 201)
		var ae fhir.AuditEvent
		r.json(t, &ae)
		if ids[ae.ID] {
			t.Fatalf("tenant %s was answered with another tenant's event %s", tenant, ae.ID)
		}
		ids[ae.ID] = true
	}
	if n := recorded(t, e); n != 5 {
		t.Fatalf("%d events stored, want 5", n)
	}

	// What the header must be.
	for name, c := range map[string]struct {
		headers []string
		field   string
	}{
		"too long":             {[]string{"Idempotency-Key", strings.Repeat("k", 256)}, "Idempotency-Key"},
		"bad structured field": {[]string{"Idempotency-Key", `"unterminated`}, "Idempotency-Key"},
		"conditional create":   {[]string{"If-None-Exist", "identifier=x"}, "If-None-Exist"},
	} {
		r := e.fhirPost(e.ingest, login, c.headers...)
		wantStatus(t, r, 422)
		if ex := expressions(r.outcome(t)); !contains(ex, c.field) {
			t.Errorf("%s: the outcome names %v, want %s", name, ex, c.field)
		}
	}
	r = e.do("POST", "/fhir/R4/AuditEvent", e.ingest, login, "Content-Type", "application/fhir+json", "Idempotency-Key", "a")
	wantStatus(t, r, 201) // a fresh key
	if n := recorded(t, e); n != 6 {
		t.Fatalf("%d events stored, want 6: a refused create stored something", n)
	}
}

// TestSeed001IdempotencyKey: the same for seed 001's shape at
// /api/v1/audit-events, with the REST API's errors.
func TestSeed001IdempotencyKey(t *testing.T) {
	e := newEnv(t)
	login, denied := fhirFixture(t, "seed001-login.json"), fhirFixture(t, "seed001-denied.json")
	post := func(body []byte, key string) response {
		return e.do("POST", "/api/v1/audit-events", e.ingest, body, "Idempotency-Key", key)
	}
	r := post(login, "s1")
	wantStatus(t, r, 201)
	var first api.Data[fhir.SimpleAuditEvent]
	r.json(t, &first)
	again := post(login, "s1")
	wantStatus(t, again, 200)
	if string(again.body) != string(r.body) || again.header.Get("Location") != r.header.Get("Location") {
		t.Fatalf("retry answered %s, want %s", again.body, r.body)
	}
	r = post(denied, "s1")
	wantStatus(t, r, 409)
	var refusal api.Error
	r.json(t, &refusal)
	if refusal.Error != "conflict" || len(refusal.Details) != 1 || refusal.Details[0].Field != "Idempotency-Key" ||
		!strings.Contains(refusal.Details[0].Message, first.Data.ID) {
		t.Fatalf("conflict answered %s", r.body)
	}
}

// recorded counts the events of the default workspace that are not the
// server's own records of reads.
func recorded(t *testing.T, e *env) int {
	t.Helper()
	var list api.EventList
	e.get("/api/v1/events?limit=100", e.auditor).json(t, &list)
	n := 0
	for _, ev := range list.Data {
		if !strings.HasPrefix(ev.Action, "vigil.") {
			n++
		}
	}
	return n
}
