package ledger_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// leafVector is one entry of testdata/leaves.json: an event (in Go's JSON
// form of vigil.Event), its leaf bytes and its leaf hash.
type leafVector struct {
	Name      string `json:"name"`
	Event     vigil.Event
	Canonical string `json:"canonical"`
	LeafHash  string `json:"leaf_hash"`
}

// vectorNames name sampleEvents in testdata/leaves.json.
var vectorNames = []string{"minimal", "every field", "escaping and Unicode"}

// sampleEvents are the events of testdata/leaves.json. They are the
// contract of leaf format version 1: once published, never changed; new
// ones are added at the end.
func sampleEvents() []vigil.Event {
	t0 := time.Date(2024, 6, 15, 8, 30, 0, 123456789, time.UTC)
	return []vigil.Event{
		{ID: "0190b5a0-0000-7000-8000-000000000000", Workspace: "default", Sequence: 0, CreatedAt: t0, OccurredAt: t0,
			ActorID: "u1", Action: "login", Outcome: vigil.OutcomeSuccess},
		{ID: "0190b5a0-0001-7000-8000-000000000000", Workspace: "default", Sequence: 1, CreatedAt: t0.Add(time.Second), OccurredAt: t0.Add(-time.Hour),
			ActorID: "dr_m4k8p2", ActorName: "Dr. Emily \"Em\" Nakamura\n", ActorType: "physician",
			Action: "patient_record.viewed", ActionCategory: "phi", Resource: "patient_record", ResourceID: "pat_7f3a9c2d", ResourceName: "Record #7f3a9c2d",
			Targets:  []vigil.Target{{Type: "patient_record", ID: "pat_7f3a9c2d", Metadata: json.RawMessage(`{"a":1}`)}, {Type: "lab", ID: "lab_9", Name: "Lab €"}},
			Metadata: json.RawMessage(`{"department":"internal_medicine","n":1.5,"sections":["demographics"]}`),
			TenantID: "clinic", SessionID: "sess_1", IdempotencyKey: "k1", Version: "2", Outcome: vigil.OutcomeFailure,
			PatientID: "pt_1", PurposeOfUse: "TREAT", IPAddress: "2001:db8::1", UserAgent: "EHR/1.0", Source: "ehr",
			IPCountry: "US", IPCity: "San Francisco", IPRegion: "California"},
		{ID: "0190b5a0-0002-7000-8000-000000000000", Workspace: "clinic-é", Sequence: 9007199254740992,
			CreatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), OccurredAt: time.Date(1970, 1, 1, 0, 0, 0, 1, time.UTC),
			ActorID: "tab\there", ActorName: "\x01\x1f\x7f \\ / \u2028 😀 \ufb33", Action: "x",
			Targets:  []vigil.Target{{Type: "t", ID: "i", Metadata: json.RawMessage("{\"\":[],\"\u0080\":{\"ö\":-0.000001,\"😀\":null}}")}},
			Metadata: json.RawMessage(`{"big":9007199254740992,"e":1e+21,"s":"\"\\\b\f\n\r\t\u0001"}`),
			Outcome:  vigil.OutcomeSeriousFailure, PurposeOfUse: "ETREAT"},
	}
}

func TestLeafVectors(t *testing.T) {
	if *update {
		writeLeafVectors(t)
	}
	var vectors []leafVector
	if err := json.Unmarshal(readTestdata(t, "leaves.json"), &vectors); err != nil {
		t.Fatal(err)
	}
	events := sampleEvents()
	if len(vectors) != len(events) {
		t.Fatalf("%d vectors for %d sample events: run go test -run TestWriteLeafVectors -update", len(vectors), len(events))
	}
	for i, v := range vectors {
		e := events[i]
		if !reflect.DeepEqual(withoutNulls(v.Event), e) {
			t.Errorf("%s: the vector's event is not the sample event", v.Name)
		}
		got := ledger.AppendEvent(nil, &e)
		if string(got) != v.Canonical {
			t.Errorf("%s: canonical\n got %s\nwant %s", v.Name, got, v.Canonical)
		}
		if h := ledger.LeafHash(got).String(); h != v.LeafHash {
			t.Errorf("%s: leaf hash %s, want %s", v.Name, h, v.LeafHash)
		}
		// The leaf is its own canonical form, and reads back as the event.
		if c, err := ledger.Canonicalize(got); err != nil || string(c) != string(got) {
			t.Errorf("%s: the leaf is not RFC 8785 canonical: %s %v", v.Name, c, err)
		}
		back, err := ledger.ParseEvent(got)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Errorf("%s: parsed back as %+v", v.Name, back)
		}
	}
}

// withoutNulls undoes what Go's JSON did to the vector's metadata: nil
// became null, and MarshalIndent indented it.
func withoutNulls(e vigil.Event) vigil.Event {
	canonical := func(m json.RawMessage) json.RawMessage {
		if string(m) == "null" {
			return nil
		}
		c, _ := ledger.Canonicalize(m)
		return c
	}
	e.Metadata = canonical(e.Metadata)
	for i := range e.Targets {
		e.Targets[i].Metadata = canonical(e.Targets[i].Metadata)
	}
	return e
}

// TestAppendEventTimes: the unrolled time writer agrees with time.Format,
// also for times not in UTC and for the zero time.
func TestAppendEventTimes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	zone := time.FixedZone("X", -7*3600-1800)
	times := []time.Time{{}, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}
	for range 10_000 {
		times = append(times, time.Unix(r.Int64N(253402300800), r.Int64N(1e9)).In(zone))
	}
	for _, tm := range times {
		e := vigil.Event{ID: "x", CreatedAt: tm, OccurredAt: tm}
		leaf := string(ledger.AppendEvent(nil, &e))
		want := `"created_at":"` + tm.UTC().Format(ledger.TimeLayout) + `"`
		if !strings.Contains(leaf, want) {
			t.Fatalf("%v: %s lacks %s", tm, leaf, want)
		}
		back, err := ledger.ParseEvent([]byte(leaf))
		if err != nil || !back.CreatedAt.Equal(tm) {
			t.Fatalf("%v: read back as %v %v", tm, back.CreatedAt, err)
		}
	}
}

func TestParseEventRefuses(t *testing.T) {
	e := sampleEvents()[1]
	good := string(ledger.AppendEvent(nil, &e))
	const times = `"created_at":"2024-06-15T08:30:00.000000000Z","occurred_at":"2024-06-15T08:30:00.000000000Z"`
	for name, bad := range map[string]string{
		"version 2":           `{` + times + `,"id":"x","sequence":0,"v":2}`,
		"version as text":     `{` + times + `,"id":"x","sequence":0,"v":"1"}`,
		"version 1.0":         `{` + times + `,"id":"x","sequence":0,"v":1.0}`,
		"no version":          `{` + times + `,"id":"x","sequence":0}`,
		"unknown member":      good[:len(good)-1] + `,"zz":1}`,
		"member in caps":      strings.Replace(good, `"action":`, `"Action":`, 1),
		"duplicate member":    strings.Replace(good, `"action":"patient_record.viewed"`, `"action":"a","action":"b"`, 1),
		"duplicate in target": strings.Replace(good, `"type":"lab"`, `"type":"lab","type":"lab"`, 1),
		"unknown in target":   strings.Replace(good, `"type":"lab"`, `"type":"lab","x":1`, 1),
		"no sequence":         `{` + times + `,"id":"x","v":1}`,
		"negative sequence":   `{` + times + `,"id":"x","sequence":-1,"v":1}`,
		"sequence 1e3":        `{` + times + `,"id":"x","sequence":1e3,"v":1}`,
		"sequence 007":        `{` + times + `,"id":"x","sequence":007,"v":1}`,
		"no id":               `{` + times + `,"sequence":0,"v":1}`,
		"id null":             `{` + times + `,"id":null,"sequence":0,"v":1}`,
		"time not UTC":        `{"created_at":"2024-06-15T08:30:00.000000000+01:00","id":"x","occurred_at":"2024-06-15T08:30:00.000000000Z","sequence":0,"v":1}`,
		"time short":          `{"created_at":"2024-06-15T08:30:00Z","id":"x","occurred_at":"2024-06-15T08:30:00.000000000Z","sequence":0,"v":1}`,
		"31 April":            `{"created_at":"2024-04-31T08:30:00.000000000Z","id":"x","occurred_at":"2024-06-15T08:30:00.000000000Z","sequence":0,"v":1}`,
		"metadata not object": `{` + times + `,"id":"x","metadata":[],"sequence":0,"v":1}`,
		"targets not array":   `{` + times + `,"id":"x","sequence":0,"targets":{},"v":1}`,
		"invalid UTF-8":       strings.Replace(good, "Lab €", "Lab \xff", 1),
		"two objects":         good + good,
		"not json":            `not json`,
		"array":               `[]`,
	} {
		_, err := ledger.ParseEvent([]byte(bad))
		var le *ledger.LeafError
		if !errors.As(err, &le) {
			t.Errorf("%s: ParseEvent(%s) = %v, want a *LeafError", name, bad, err)
		}
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	e := sampleEvents()[1]
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = ledger.AppendEvent(buf[:0], &e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendEventAndHash is re-verification's work per event: the
// leaf and its hash.
func BenchmarkAppendEventAndHash(b *testing.B) {
	e := sampleEvents()[1]
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = ledger.AppendEvent(buf[:0], &e)
		ledger.LeafHash(buf)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkParseEvent(b *testing.B) {
	e := sampleEvents()[1]
	leaf := ledger.AppendEvent(nil, &e)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ledger.ParseEvent(leaf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// FuzzLeaf: any event the store could hold has a leaf that is its own
// canonical form and reads back as the event; and ParseEvent never
// panics, and what it reads writes back canonically.
func FuzzLeaf(f *testing.F) {
	f.Add("dr", "x.y", "", `{"a":1}`, "t", `{"b":[1,"x"]}`, int64(3), int64(1718440200123456789))
	f.Add("\x00\n\"\\", "é😀", "\u2028", `{"\u0080":1,"ö":2}`, "", "", int64(0), int64(0))
	f.Fuzz(func(t *testing.T, actor, action, name, meta, target, targetMeta string, seq, nanos int64) {
		if seq < 0 || seq > 1<<53 || !vigil.ValidText(actor) || !vigil.ValidText(action) || !vigil.ValidText(name) || !vigil.ValidText(target) {
			return
		}
		e := vigil.Event{ID: "id", Workspace: "ws", Sequence: seq, ActorID: actor, Action: action, ActorName: name,
			Metadata:  canonicalObject(meta),
			CreatedAt: time.Unix(0, nanos).UTC(), OccurredAt: time.Unix(0, nanos/2).UTC()}
		if target != "" {
			e.Targets = []vigil.Target{{Type: target, ID: target, Metadata: canonicalObject(targetMeta)}}
		}
		leaf := ledger.AppendEvent(nil, &e)
		c, err := ledger.Canonicalize(leaf)
		if err != nil || string(c) != string(leaf) {
			t.Fatalf("leaf %s is not canonical: %s %v", leaf, c, err)
		}
		back, err := ledger.ParseEvent(leaf)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("round trip of %s: %+v %v", leaf, back, err)
		}
		// Arbitrary bytes: no panic, and a parsed event writes canonically.
		if ev, err := ledger.ParseEvent([]byte(meta)); err == nil {
			out := ledger.AppendEvent(nil, &ev)
			if c, err := ledger.Canonicalize(out); err != nil || string(c) != string(out) {
				t.Fatalf("%q parsed into an event whose leaf is not canonical: %s", meta, out)
			}
		}
	})
}

// canonicalObject returns s canonical if it is a non-empty JSON object
// shallow enough to sit in a leaf, as the store keeps metadata, else nil.
func canonicalObject(s string) json.RawMessage {
	c, err := ledger.Canonicalize([]byte(s))
	if err != nil || c[0] != '{' || string(c) == "{}" || strings.Count(s, "[")+strings.Count(s, "{") > vigil.MaxJSONDepth-3 {
		return nil
	}
	return c
}
