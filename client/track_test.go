package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil/client"
)

// TestFluentTrackStoresExactEvent tracks through the fluent builder and
// reads the event back as an auditor: every field arrives as sent.
func TestFluentTrackStoresExactEvent(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest)
	ctx := context.Background()
	at := time.Date(2024, 6, 15, 8, 30, 0, 123456789, time.UTC)
	doctor := c.Actor("dr_m4k8p2", "Dr. Emily Nakamura", "physician").
		Session("sess_e4a2c8f1").Tenant("clinic_bayview_medical").Patient("pt_1").Purpose("TREAT").
		Source("ehr").From("203.0.113.42", "EHR/1.0")
	r, err := doctor.Track(ctx, "prescription.created",
		client.Resource{Type: "prescription", ID: "rx_4b8e2a1c", Name: "Rx #4b8e2a1c"},
		client.Metadata(map[string]any{"medication_code": "NDC-0002-4462-01", "refills": 2, "e_prescribe": true}),
		client.Targets(client.Target{Type: "patient_record", ID: "pat_7f3a9c2d"},
			client.Target{Type: "prescription", ID: "rx_4b8e2a1c", Metadata: map[string]any{"line": 1}}),
		client.At(at), client.Category("phi.write"), client.Key("rx-4b8e2a1c-created"), client.MinorFailure)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "stored" || r.ID == "" || r.IdempotencyKey != "rx-4b8e2a1c-created" {
		t.Fatalf("receipt %+v", r)
	}
	got := s.stored(t, "prescription.created")
	if len(got) != 1 {
		t.Fatalf("%d events stored", len(got))
	}
	want := client.Event{
		ActorID: "dr_m4k8p2", ActorName: "Dr. Emily Nakamura", ActorType: "physician",
		Action: "prescription.created", ActionCategory: "phi.write",
		Resource: client.Resource{Type: "prescription", ID: "rx_4b8e2a1c", Name: "Rx #4b8e2a1c"},
		Targets: []client.Target{{Type: "patient_record", ID: "pat_7f3a9c2d"},
			{Type: "prescription", ID: "rx_4b8e2a1c", Metadata: map[string]any{"line": json.Number("1")}}},
		Metadata: map[string]any{"medication_code": "NDC-0002-4462-01", "refills": json.Number("2"), "e_prescribe": true},
		TenantID: "clinic_bayview_medical", SessionID: "sess_e4a2c8f1", PatientID: "pt_1", PurposeOfUse: "TREAT",
		Outcome: client.MinorFailure, IPAddress: "203.0.113.42", UserAgent: "EHR/1.0", Source: "ehr",
		IdempotencyKey: "rx-4b8e2a1c-created", OccurredAt: at,
	}
	e := got[0]
	if !reflect.DeepEqual(e.Event, want) {
		t.Fatalf("stored\n%+v\nwant\n%+v", e.Event, want)
	}
	if e.ID != r.ID || e.EventHash == "" || e.CreatedAt.IsZero() {
		t.Fatalf("server fields: id %s (receipt %s) hash %q created %v", e.ID, r.ID, e.EventHash, e.CreatedAt)
	}
}

// TestTrackFillsKeyAndTime: an event without a key gets a UUIDv7 and
// without a time the time of the Track call.
func TestTrackFillsKeyAndTime(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest)
	before := time.Now()
	r, err := c.Track(context.Background(), client.Event{ActorID: "nurse_j7k3m1", Action: "lab_results.accessed"})
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	id, err := uuid.Parse(r.IdempotencyKey)
	if err != nil || id.Version() != 7 {
		t.Fatalf("key %q is not a UUIDv7 (%v)", r.IdempotencyKey, err)
	}
	e := s.stored(t, "lab_results.accessed")[0]
	if e.IdempotencyKey != r.IdempotencyKey || e.OccurredAt.Before(before.Truncate(time.Microsecond)) || e.OccurredAt.After(after) || e.Outcome != client.Success {
		t.Fatalf("stored key %s occurred %v outcome %s; tracked between %v and %v", e.IdempotencyKey, e.OccurredAt, e.Outcome, before, after)
	}
}

func TestTrackBatchSplitsAtTheServerLimit(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest)
	events := make([]client.Event, 250)
	for i := range events {
		events[i] = client.Event{ActorID: "svc", Action: "batch.item", Metadata: map[string]any{"i": i}}
	}
	rs, err := c.TrackBatch(context.Background(), events)
	if err != nil || len(rs) != 250 {
		t.Fatalf("%d receipts, %v", len(rs), err)
	}
	if n := s.postCount(); n != 3 {
		t.Fatalf("%d requests for 250 events, want 3", n)
	}
	stored := map[string]string{} // key → metadata i
	for _, e := range s.stored(t, "batch.item") {
		stored[e.IdempotencyKey] = fmt.Sprint(e.Metadata["i"])
	}
	for i, r := range rs {
		if r.Status != "stored" || stored[r.IdempotencyKey] != fmt.Sprint(i) {
			t.Fatalf("receipt %d %+v does not match the stored event (i=%s)", i, r, stored[r.IdempotencyKey])
		}
	}
}

// TestTrackBatchErrorNamesTheEvents: one invalid event refuses its chunk
// (all or nothing); the error names the chunk and the bad event's index
// in the caller's slice.
func TestTrackBatchErrorNamesTheEvents(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest)
	events := make([]client.Event, 150)
	for i := range events {
		events[i] = client.Event{ActorID: "svc", Action: "batch.partial"}
	}
	events[120].IPAddress = "not-an-address" // the client does not check addresses; the server does
	rs, err := c.TrackBatch(context.Background(), events)
	if len(rs) != 100 || err == nil || !strings.Contains(err.Error(), "events 100 to 149 of 150") {
		t.Fatalf("%d receipts, %v", len(rs), err)
	}
	e := asAPIError(t, err)
	if e.Status != 422 || len(e.Details) == 0 || e.Details[0].Index == nil || *e.Details[0].Index != 120 || e.Details[0].Field != "ip_address" {
		t.Fatalf("details %+v", e.Details)
	}
	if n := len(s.stored(t, "batch.partial")); n != 100 {
		t.Fatalf("%d stored, want the first chunk's 100", n)
	}
}

// TestClientRefusesInvalidEvents: what the client can tell is invalid is
// refused before any request.
func TestClientRefusesInvalidEvents(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest)
	_, err := c.Track(context.Background(), client.Event{ActorID: "a", Outcome: "meh"})
	e := asAPIError(t, err)
	if e.Status != 0 || e.Code != "validation_failed" || len(e.Details) != 2 || e.Details[0].Field != "action" || e.Details[1].Field != "outcome" {
		t.Fatalf("error %+v", e)
	}
	if n := s.postCount(); n != 0 {
		t.Fatalf("%d requests sent for an invalid event", n)
	}
}

func TestServerErrorsAreTyped(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	bad := mustNew(t, s.url, "vgl_not_a_key")
	_, err := bad.Track(ctx, client.Event{ActorID: "a", Action: "b"})
	if e := asAPIError(t, err); e.Status != http.StatusUnauthorized || e.Code != "unauthorized" || e.Message == "" {
		t.Fatalf("error %+v", e)
	}
	ingest := mustNew(t, s.url, s.ingest)
	_, err = ingest.Event(ctx, "01890a5d-ac96-774b-bcce-b302099a8057")
	if e := asAPIError(t, err); e.Status != http.StatusForbidden || e.Code != "forbidden" {
		t.Fatalf("an ingest key read an event: %+v", e)
	}
	auditor := mustNew(t, s.url, s.auditor)
	_, err = auditor.Event(ctx, "01890a5d-ac96-774b-bcce-b302099a8057")
	if e := asAPIError(t, err); e.Status != http.StatusNotFound || e.Code != "not_found" {
		t.Fatalf("unknown id: %+v", e)
	}
}
