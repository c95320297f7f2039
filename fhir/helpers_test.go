package fhir_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/ledger"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtures(t testing.TB, pattern string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures %s: %v", pattern, err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

// store does to an event what the store does on the write path that
// matters here: canonical metadata, an id and times.
func store(t testing.TB, e vigil.Event) vigil.Event {
	t.Helper()
	e, err := vigil.Prepare(e, ledger.Canonicalize)
	if err != nil {
		t.Fatalf("mapped event does not validate: %v %+v", err, vigil.ErrorDetails(err))
	}
	e.ID = "0193a6f0-0000-7000-8000-000000000001"
	e.CreatedAt = time.Date(2026, 11, 23, 10, 0, 0, 123, time.UTC)
	return e
}

// generic decodes JSON into maps and slices for comparison.
func generic(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameExceptServer compares a resource sent with the one served: equal but
// for id and the server's meta elements.
func sameExceptServer(t testing.TB, sent []byte, served fhir.AuditEvent, id string) {
	t.Helper()
	want := generic(t, sent).(map[string]any)
	got := generic(t, mustJSON(t, served)).(map[string]any)
	if got["id"] != id {
		t.Errorf("id %v, want %s", got["id"], id)
	}
	meta, _ := got["meta"].(map[string]any)
	if meta["versionId"] != "1" || meta["lastUpdated"] == nil {
		t.Errorf("meta %v lacks versionId 1 and lastUpdated", meta)
	}
	delete(want, "id")
	delete(got, "id")
	delete(meta, "versionId")
	delete(meta, "lastUpdated")
	if len(meta) == 0 {
		delete(got, "meta")
	}
	if wm, ok := want["meta"].(map[string]any); ok {
		delete(wm, "versionId")
		delete(wm, "lastUpdated")
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("round trip changed the resource:\nsent   %s\nserved %s", mustJSON(t, want), mustJSON(t, got))
	}
}
