package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/sqlite"
)

// BenchmarkAppendTerms measures what the FHIR search index costs on the
// write path: batches of 100 events, without and with fhir.Terms.
func BenchmarkAppendTerms(b *testing.B) {
	for _, c := range []struct {
		name  string
		index func(vigil.Event) []vigil.Term
	}{{"none", nil}, {"fhir", fhir.Terms}} {
		b.Run(c.name, func(b *testing.B) {
			db, err := embedded.Open(b.Context(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(b.TempDir(), "vigil.db"), Index: c.index}})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.EnsureWorkspace(b.Context(), "ws")
			batch := make([]vigil.Event, 100)
			for i := range batch {
				batch[i] = benchEvent(i)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := db.Append(b.Context(), "ws", batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkTermSearch measures FHIR searches (first page of 25, newest
// first, and the total) over 100,000 indexed events: few matches (patient
// and action), a third of them (action), all of them (agent-name prefix).
func BenchmarkTermSearch(b *testing.B) {
	db, err := embedded.Open(b.Context(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(b.TempDir(), "vigil.db"), Index: fhir.Terms, MaxBatchEvents: 5000}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.EnsureWorkspace(b.Context(), "ws")
	for n := 0; n < 100_000; n += 1000 {
		batch := make([]vigil.Event, 1000)
		for i := range batch {
			batch[i] = benchEvent(n + i)
		}
		if _, err := db.Append(b.Context(), "ws", batch); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name   string
		params map[string][]string
	}{
		{"patient+action", map[string][]string{"patient": {"Patient/pt_42"}, "action": {"R"}}},
		{"action", map[string][]string{"action": {"R"}}},
		{"agent-name", map[string][]string{"agent-name": {"dr. em"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := fhir.ParseSearch(c.params, true)
			if err != nil {
				b.Fatal(err)
			}
			q := s.Query
			q.Workspace = "ws"
			for b.Loop() {
				page, err := db.Events(b.Context(), q)
				if err != nil || page.Total == 0 {
					b.Fatalf("%v %d", err, page.Total)
				}
			}
		})
	}
}

func benchEvent(i int) vigil.Event {
	return vigil.Event{
		ActorID: fmt.Sprintf("dr_%d", i%500), ActorName: "Dr. Emily Nakamura", ActorType: "physician",
		Action:   []string{"patient_record.viewed", "prescription.created", "chart.updated"}[i%3],
		Resource: "patient_record", ResourceID: fmt.Sprintf("rec_%d", i), PatientID: fmt.Sprintf("pt_%d", i%1000),
		IPAddress: "203.0.113.9", Source: "EHR", PurposeOfUse: "TREAT",
	}
}
