package workload_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/bench/workload"
	"github.com/vigilhq/vigil/ledger"
)

// A filled template decodes to exactly the events of the shape, for a
// single event and for a batch, at the first and last numbers and between.
func TestTemplateFillsTheShape(t *testing.T) {
	for _, w := range []int{0, 1, 96, 97, 255, 1000} {
		single, err := workload.NewSingle(w)
		if err != nil {
			t.Fatal(err)
		}
		batch, err := workload.NewBatch(w, 100)
		if err != nil {
			t.Fatal(err)
		}
		if single.Events() != 1 || batch.Events() != 100 {
			t.Fatalf("events %d, %d", single.Events(), batch.Events())
		}
		for _, n := range []int64{workload.First, workload.First + 123_456_789, workload.Last - 100} {
			var one api.EventInput
			decodeStrict(t, single.Fill(n), &one)
			if want := workload.Input(w, n); !reflect.DeepEqual(normal(one), normal(want)) {
				t.Fatalf("writer %d, event %d:\n got %+v\nwant %+v", w, n, one, want)
			}
			var many api.BatchInput
			decodeStrict(t, batch.Fill(n), &many)
			for i, e := range many.Events {
				if want := workload.Input(w, n+int64(i)); !reflect.DeepEqual(normal(e), normal(want)) {
					t.Fatalf("writer %d, batch from %d, event %d:\n got %+v\nwant %+v", w, n, i, e, want)
				}
			}
		}
	}
}

func TestEventShape(t *testing.T) {
	e := workload.Event(300, workload.First+100_042)
	if e.ActorID != "dr_9" || e.Action != "patient.record.viewed" || e.Resource != "MedicalRecord" ||
		e.ResourceID != "rec_1000000100042" || e.PatientID != "pt_00042" || e.SessionID != "sess_300" ||
		e.TenantID == "" || e.Outcome != "success" || e.IPAddress == "" ||
		string(e.Metadata) != `{"n":1000000100042,"reason":"treatment"}` {
		t.Fatalf("%+v", e)
	}
	if _, err := vigil.Prepare(e, ledger.Canonicalize); err != nil {
		t.Fatal(err)
	}
}

func TestFillRefusesNumbersOutsideTheRange(t *testing.T) {
	tp, err := workload.NewBatch(1, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "outside") {
			t.Fatalf("recovered %v", r)
		}
	}()
	tp.Fill(workload.Last - 5)
}

func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

// normal compacts metadata, which the decoder keeps verbatim.
func normal(e api.EventInput) api.EventInput {
	var b bytes.Buffer
	json.Compact(&b, e.Metadata)
	e.Metadata = b.Bytes()
	return e
}
