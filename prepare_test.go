package vigil_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// prepareCases are the golden cases of vigil.Prepare: events as a route
// hands them over, each changed in one way from a valid one.
func prepareCases() []struct {
	name string
	mod  func(*vigil.Event)
} {
	long := strings.Repeat("a", vigil.MaxIDLength+1)
	longText := strings.Repeat("n", vigil.MaxTextLength+1)
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	type c = struct {
		name string
		mod  func(*vigil.Event)
	}
	return []c{
		{"valid", func(e *vigil.Event) {}},
		{"everything set", func(e *vigil.Event) {
			e.ActorName, e.ActorType, e.ActionCategory = "Dr. Émilie Nakamura", "physician", "phi.read"
			e.Resource, e.ResourceID, e.ResourceName = "patient_record", "pat_1", "Record #1 \u200d\u200e"
			e.TenantID, e.SessionID, e.IdempotencyKey, e.Version = "clinic_a", "sess_1", "k-1", "2"
			e.PatientID, e.PurposeOfUse, e.UserAgent, e.Source = "pt_1", "TREAT", "EHR/1.0 (x; y)", "ehr"
			e.Outcome = vigil.OutcomeFailure
			e.Metadata = json.RawMessage(`{ "b": 1, "a": [true, null, 1e2] }`)
			e.Targets = []vigil.Target{{Type: "rx", ID: "rx_1", Name: "Rx", Metadata: json.RawMessage(`{"z":"\u00e9"}`)}}
		}},
		{"time normalised to UTC", func(e *vigil.Event) { e.OccurredAt = at("2024-06-15T08:30:00.123456789+14:00") }},
		{"IPv4-mapped IPv6 address", func(e *vigil.Event) { e.IPAddress = "::ffff:203.0.113.9" }},
		{"IPv6 address", func(e *vigil.Event) { e.IPAddress = "2001:DB8::1" }},
		{"empty metadata", func(e *vigil.Event) { e.Metadata = json.RawMessage(` {} `) }},
		{"null metadata", func(e *vigil.Event) { e.Metadata = json.RawMessage(`null`) }},
		{"no actor, no action", func(e *vigil.Event) { e.ActorID, e.Action = " ", "" }},
		{"every id too long", func(e *vigil.Event) {
			e.ActorID, e.Action, e.ActorType, e.ActionCategory, e.Resource, e.ResourceID = long, long, long, long, long, long
			e.TenantID, e.SessionID, e.IdempotencyKey, e.Version, e.PatientID, e.PurposeOfUse = long, long, long, long, long, long
		}},
		{"every name too long", func(e *vigil.Event) {
			e.ActorName, e.ResourceName, e.UserAgent, e.Source = longText, longText, longText, longText
		}},
		{"names at their limit", func(e *vigil.Event) {
			e.ActorName = strings.Repeat("n", vigil.MaxTextLength)
			e.ActorID = strings.Repeat("a", vigil.MaxIDLength)
		}},
		{"control characters in ids", func(e *vigil.Event) {
			e.ActorID, e.Action, e.TenantID, e.PatientID, e.SessionID = "a\tb", "x\x7f", "t\u0085", "p\u2028", "s\u2029"
		}},
		{"format characters in ids", func(e *vigil.Event) {
			e.ActorID, e.ResourceID, e.IdempotencyKey, e.Version = "dr\u200b", "r\u202e", "\ufeffk", "v\u2066"
		}},
		{"control characters in names", func(e *vigil.Event) {
			e.ActorName, e.ResourceName, e.UserAgent, e.Source = "Dr.\nWho", "a\tb", "ua\x1b[31m", "s\u2028"
		}},
		{"bidirectional override in a name", func(e *vigil.Event) { e.ActorName = "Dr. \u202eohW" }},
		{"invalid UTF-8", func(e *vigil.Event) { e.ActorID, e.ActorName = "a\xff", "n\xc3" }},
		{"NUL", func(e *vigil.Event) { e.ActorID = "a\x00b" }},
		{"bad outcome", func(e *vigil.Event) { e.Outcome = "denied" }},
		{"bad IP address", func(e *vigil.Event) { e.IPAddress = "203.0.113.999" }},
		{"IP address with a control character", func(e *vigil.Event) { e.IPAddress = "203.0.113.9\n" }},
		{"time before 1970", func(e *vigil.Event) { e.OccurredAt = at("1969-12-31T23:59:59.999999999Z") }},
		{"time after 2200", func(e *vigil.Event) { e.OccurredAt = at("2201-01-01T00:00:00Z") }},
		{"time that would wrap", func(e *vigil.Event) { e.OccurredAt = at("2262-04-12T00:00:00Z") }},
		{"last instant of 2200", func(e *vigil.Event) { e.OccurredAt = at("2200-12-31T23:59:59.999999999Z") }},
		{"metadata not an object", func(e *vigil.Event) { e.Metadata = json.RawMessage(`[1,2]`) }},
		{"metadata with a duplicate key", func(e *vigil.Event) { e.Metadata = json.RawMessage(`{"a":1,"a":2}`) }},
		{"metadata with a big integer", func(e *vigil.Event) { e.Metadata = json.RawMessage(`{"n":12345678901234567890}`) }},
		{"metadata with too many keys", func(e *vigil.Event) {
			var b strings.Builder
			b.WriteString("{")
			for i := range vigil.MaxMetadataKeys + 1 {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `"k%d":%d`, i, i)
			}
			b.WriteString("}")
			e.Metadata = json.RawMessage(b.String())
		}},
		{"metadata too large", func(e *vigil.Event) {
			e.Metadata = json.RawMessage(`{"x":"` + strings.Repeat("x", vigil.MaxMetadataBytes) + `"}`)
		}},
		{"too many targets", func(e *vigil.Event) {
			e.Targets = make([]vigil.Target, vigil.MaxTargets+1)
		}},
		{"bad targets", func(e *vigil.Event) {
			e.Targets = []vigil.Target{{Type: "", ID: "i\u200b"}, {Type: "t", ID: "i", Name: "n\n", Metadata: json.RawMessage(`"s"`)}}
		}},
	}
}

// TestPrepareGolden compares each case's prepared event, or its
// refusal, with testdata/prepare.golden (-update rewrites it).
func TestPrepareGolden(t *testing.T) {
	var b strings.Builder
	for _, c := range prepareCases() {
		e := vigil.Event{ActorID: "dr_a", Action: "record.read"}
		c.mod(&e)
		p, err := vigil.Prepare(e, ledger.Canonicalize)
		fmt.Fprintf(&b, "== %s\n", c.name)
		if err != nil {
			fmt.Fprintf(&b, "refused (%s)\n", vigil.ErrorCode(err))
			for _, d := range vigil.ErrorDetails(err) {
				fmt.Fprintf(&b, "  %s: %s\n", d.Field, d.Message)
			}
			continue
		}
		b.WriteString(setFields(p))
		// Preparing a prepared event changes nothing.
		again, err := vigil.Prepare(p, ledger.Canonicalize)
		if a, want := setFields(again), setFields(p); err != nil || a != want {
			t.Errorf("%s: preparing again gives %s %v", c.name, a, err)
		}
	}
	golden(t, "testdata/prepare.golden", b.String())
}

// TestPrepareLeavesCallerAlone: the caller's targets are not changed in
// place (a batch is prepared while its sender may still hold it).
func TestPrepareLeavesCallerAlone(t *testing.T) {
	targets := []vigil.Target{{Type: "t", ID: "i", Metadata: json.RawMessage(`{ "b":1, "a":2 }`)}}
	e := vigil.Event{ActorID: "a", Action: "b", Targets: targets}
	p, err := vigil.Prepare(e, ledger.Canonicalize)
	if err != nil {
		t.Fatal(err)
	}
	if string(targets[0].Metadata) != `{ "b":1, "a":2 }` || string(p.Targets[0].Metadata) != `{"a":2,"b":1}` {
		t.Fatalf("caller's %s, prepared %s", targets[0].Metadata, p.Targets[0].Metadata)
	}
}

// setFields lists the fields of e that are set, one a line.
func setFields(e vigil.Event) string {
	b, _ := json.Marshal(e)
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	var keys []string
	for k, v := range m {
		switch string(v) {
		case `""`, "null", "0", "false", `"0001-01-01T00:00:00Z"`:
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out strings.Builder
	for _, k := range keys {
		v := string(m[k])
		if len(v) > 80 {
			v = v[:40] + fmt.Sprintf("...(%d bytes)", len(v))
		}
		fmt.Fprintf(&out, "  %s = %s\n", k, v)
	}
	return out.String()
}

// BenchmarkPrepare prepares the event of the ingest benchmark: every
// field set, small metadata, one target.
func BenchmarkPrepare(b *testing.B) {
	e := vigil.Event{ActorID: "dr_m4k8p2", ActorName: "Dr. Emily Nakamura", ActorType: "physician", Action: "patient_record.viewed",
		ActionCategory: "phi.read", Resource: "patient_record", ResourceID: "pat_7f3a9c2d", ResourceName: "Record #7f3a9c2d",
		TenantID: "clinic_bayview_medical", SessionID: "sess_e4a2c8f1", IdempotencyKey: "0193a6f0-0000-7000-8000-000000000001",
		PatientID: "pt_1", PurposeOfUse: "TREAT", IPAddress: "203.0.113.42", UserAgent: "EHR/1.0", Source: "ehr",
		Metadata:   json.RawMessage(`{"medication_code":"NDC-0002-4462-01","refills":2,"e_prescribe":true}`),
		Targets:    []vigil.Target{{Type: "prescription", ID: "rx_4b8e2a1c"}},
		OccurredAt: time.Date(2024, 6, 15, 8, 30, 0, 123456789, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vigil.Prepare(e, ledger.Canonicalize); err != nil {
			b.Fatal(err)
		}
	}
}
