package ledger_test

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// leafVector is one entry of testdata/leaves.json: an event, its canonical
// bytes and its leaf hash, for independent implementations to check.
type leafVector struct {
	Name      string `json:"name"`
	Event     vigil.Event
	Canonical string `json:"canonical"`
	LeafHash  string `json:"leaf_hash"`
}

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
	}
}

func TestLeafVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/leaves.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []leafVector
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) != len(sampleEvents()) {
		t.Fatalf("%d vectors", len(vectors))
	}
	for i, e := range sampleEvents() {
		v := vectors[i]
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
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Errorf("%s: parsed back as %+v", v.Name, back)
		}
	}
}

func TestParseEventRefuses(t *testing.T) {
	e := sampleEvents()[0]
	good := string(ledger.AppendEvent(nil, &e))
	for _, bad := range []string{
		`{"v":2,"id":"x","sequence":0,"created_at":"2024-06-15T08:30:00.000000000Z","occurred_at":"2024-06-15T08:30:00.000000000Z"}`,
		good[:len(good)-1] + `,"zz":1}`,
		`{"v":1,"id":"x","created_at":"2024-06-15T08:30:00.000000000Z","occurred_at":"2024-06-15T08:30:00.000000000Z"}`,
		`{"v":1,"id":"x","sequence":0,"created_at":"yesterday","occurred_at":"2024-06-15T08:30:00.000000000Z"}`,
		`not json`,
	} {
		if _, err := ledger.ParseEvent([]byte(bad)); err == nil {
			t.Errorf("ParseEvent(%s) accepted", bad)
		}
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	e := sampleEvents()[1]
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = ledger.AppendEvent(buf[:0], &e)
		ledger.LeafHash(buf)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func FuzzLeafRoundTrip(f *testing.F) {
	f.Add("dr", "x.y", "", `{"a":1}`, int64(3))
	f.Fuzz(func(t *testing.T, actor, action, name, meta string, seq int64) {
		if seq < 0 || !vigil.ValidText(actor+action+name) {
			return
		}
		m, err := ledger.Canonicalize([]byte(meta))
		if err != nil || len(m) == 0 || m[0] != '{' || string(m) == "{}" {
			m = nil
		}
		e := vigil.Event{ID: "id", Sequence: seq, ActorID: actor, Action: action, ActorName: name, Metadata: m,
			CreatedAt: time.Unix(0, seq).UTC(), OccurredAt: time.Unix(0, 0).UTC()}
		leaf := ledger.AppendEvent(nil, &e)
		c, err := ledger.Canonicalize(leaf)
		if err != nil || string(c) != string(leaf) {
			t.Fatalf("leaf %s is not canonical: %s %v", leaf, c, err)
		}
		back, err := ledger.ParseEvent(leaf)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("round trip of %s: %+v %v", leaf, back, err)
		}
	})
}
