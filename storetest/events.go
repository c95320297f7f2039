package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

func fullEvent() vigil.Event {
	return vigil.Event{
		ActorID: "dr_m4k8p2", ActorName: "Dr. Emily Nakamura", ActorType: "physician",
		Action: "patient_record.viewed", ActionCategory: "phi_access",
		Resource: "patient_record", ResourceID: "pat_7f3a9c2d", ResourceName: "Record #7f3a9c2d",
		Targets: []vigil.Target{
			{Type: "patient_record", ID: "pat_7f3a9c2d", Name: "Record", Metadata: json.RawMessage(`{"b":2,"a":1}`)},
			{Type: "prescription", ID: "rx_4b8e2a1c"},
		},
		Metadata:       json.RawMessage(`{"sections_accessed": ["demographics", "medications"], "patient_mrn": "MRN-2024-08291", "n": 1.50}`),
		TenantID:       "clinic_bayview_medical",
		SessionID:      "sess_e4a2c8f1",
		IdempotencyKey: "idem-full-1",
		Version:        "2",
		Outcome:        vigil.OutcomeFailure,
		PatientID:      "pt_abc123",
		PurposeOfUse:   "TREAT",
		IPAddress:      "::ffff:203.0.113.42",
		UserAgent:      "EHR/1.0",
		Source:         "ehr-app",
		OccurredAt:     time.Date(2024, 6, 15, 8, 30, 0, 123456789, time.FixedZone("PDT", -7*3600)),
	}
}

func testAppendAndRead(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	before := time.Now().UTC()
	in := fullEvent()
	res := mustAppend(t, s, "ws", in)
	if len(res) != 1 || res[0].Duplicate || res[0].Sequence != 0 || len(res[0].ID) != 36 || res[0].ID[14] != '7' {
		t.Fatalf("result = %+v, want a fresh UUIDv7 at sequence 0", res)
	}
	got, err := s.Event(ctx(t), "ws", "", res[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.ID, want.Workspace, want.Sequence, want.CreatedAt = res[0].ID, "ws", 0, got.CreatedAt
	want.IPAddress = "203.0.113.42"
	want.OccurredAt = in.OccurredAt.UTC()
	want.Metadata = json.RawMessage(`{"n":1.5,"patient_mrn":"MRN-2024-08291","sections_accessed":["demographics","medications"]}`)
	want.Targets[0].Metadata = json.RawMessage(`{"a":1,"b":2}`)
	if !reflect.DeepEqual(normal(got), normal(want)) {
		t.Fatalf("read back:\n got %+v\nwant %+v", got, want)
	}
	if got.CreatedAt.Location() != time.UTC || got.CreatedAt.Before(before.Add(-time.Second)) || got.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("created_at = %v, want the server's UTC time", got.CreatedAt)
	}
	// A minimal event gets defaults: success, occurred_at = created_at.
	res = mustAppend(t, s, "ws", event("u1", "login"))
	got, err = s.Event(ctx(t), "ws", "", res[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sequence != 1 || got.Outcome != vigil.OutcomeSuccess || !got.OccurredAt.Equal(got.CreatedAt) || got.Metadata != nil || got.Targets != nil {
		t.Fatalf("minimal event read back as %+v", got)
	}
	if _, err := s.Event(ctx(t), "ws", "", "0190b5a0-0000-7000-8000-000000000000"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("unknown id: %v, want ENOTFOUND", err)
	}
}

// normal makes two events comparable: JSON byte slices by content.
func normal(e vigil.Event) string {
	b, _ := json.Marshal(e)
	return string(b)
}

func testValidation(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	many := map[string]int{}
	for i := range 51 {
		many[fmt.Sprintf("k%02d", i)] = i
	}
	manyJSON, _ := json.Marshal(many)
	cases := []struct {
		name  string
		e     vigil.Event
		field string
	}{
		{"no actor", vigil.Event{Action: "a"}, "actor_id"},
		{"blank action", vigil.Event{ActorID: "a", Action: "  "}, "action"},
		{"bad outcome", vigil.Event{ActorID: "a", Action: "b", Outcome: "meh"}, "outcome"},
		{"metadata array", vigil.Event{ActorID: "a", Action: "b", Metadata: json.RawMessage(`[1]`)}, "metadata"},
		{"metadata too many keys", vigil.Event{ActorID: "a", Action: "b", Metadata: manyJSON}, "metadata"},
		{"metadata big integer", vigil.Event{ActorID: "a", Action: "b", Metadata: json.RawMessage(`{"n":12345678901234567890}`)}, "metadata"},
		{"metadata duplicate key", vigil.Event{ActorID: "a", Action: "b", Metadata: json.RawMessage(`{"a":1,"a":2}`)}, "metadata"},
		{"long actor", vigil.Event{ActorID: strings.Repeat("x", 256), Action: "b"}, "actor_id"},
		{"NUL", vigil.Event{ActorID: "a\x00b", Action: "b"}, "actor_id"},
		{"bad UTF-8", vigil.Event{ActorID: "a", Action: "b\xff"}, "action"},
		{"bad IP", vigil.Event{ActorID: "a", Action: "b", IPAddress: "300.1.1.1"}, "ip_address"},
		{"target without id", vigil.Event{ActorID: "a", Action: "b", Targets: []vigil.Target{{Type: "t"}}}, "targets[0].id"},
	}
	for _, c := range cases {
		_, err := s.Append(ctx(t), "ws", []vigil.Event{c.e})
		wantCode(t, err, vigil.EINVALID)
		found := false
		for _, d := range vigil.ErrorDetails(err) {
			found = found || d.Field == c.field
		}
		if !found {
			t.Errorf("%s: details %+v do not name %q", c.name, vigil.ErrorDetails(err), c.field)
		}
	}
	page, err := s.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1})
	if err != nil || page.Total != 0 {
		t.Fatalf("invalid events were stored: %+v %v", page, err)
	}
	if _, err := s.Append(ctx(t), "nope", []vigil.Event{event("a", "b")}); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("unknown workspace: %v", err)
	}
}

func testBatchAllOrNothing(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	batch := []vigil.Event{event("a", "x"), {ActorID: "b"}, event("c", "z"), {Action: "q"}}
	_, err := s.Append(ctx(t), "ws", batch)
	wantCode(t, err, vigil.EINVALID)
	var idx []int
	for _, d := range vigil.ErrorDetails(err) {
		if d.Index == nil {
			t.Fatalf("batch detail without index: %+v", d)
		}
		idx = append(idx, *d.Index)
	}
	if !reflect.DeepEqual(idx, []int{1, 3}) {
		t.Fatalf("indexes = %v, want [1 3]", idx)
	}
	page, _ := s.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1})
	if page.Total != 0 {
		t.Fatalf("a failed batch stored %d events", page.Total)
	}
	res := mustAppend(t, s, "ws", event("a", "x"), event("b", "y"), event("c", "z"))
	for i, r := range res {
		if r.Sequence != int64(i) {
			t.Fatalf("batch sequences = %+v", res)
		}
	}
}

func testConcurrentAppends(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	const writers, each = 32, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int64]bool{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				batch := []vigil.Event{event(fmt.Sprintf("w%d", w), fmt.Sprintf("a%d", i))}
				if i%5 == 0 {
					batch = append(batch, event("w", "batch"))
				}
				res, err := s.Append(ctx(t), "ws", batch)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, r := range res {
					if seen[r.Sequence] {
						t.Errorf("sequence %d assigned twice", r.Sequence)
					}
					seen[r.Sequence] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	n := int64(len(seen))
	for i := range n {
		if !seen[i] {
			t.Fatalf("sequence %d missing of %d: sequences must be gap-free", i, n)
		}
	}
	page, _ := s.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1})
	if page.Total != n {
		t.Fatalf("total = %d, want %d", page.Total, n)
	}
}
