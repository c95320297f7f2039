package embedded_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/sqlite"
)

// BenchmarkIngest measures ingest through the engine into the log and the
// SQLite projection (with the FHIR search terms, as vigil serve runs),
// with the events in clear and sealed (encryption at rest), in one run:
// 8 writers append batches of 100 events, and the time includes the
// projection catching up (Close), so it is the sustained rate.
//
//	go test ./embedded -run '^$' -bench BenchmarkIngest -benchtime 100000x -count 3
func BenchmarkIngest(b *testing.B) {
	for _, sealed := range []bool{false, true} {
		name := "clear"
		if sealed {
			name = "sealed"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			cfg := embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), Index: fhir.Terms}}
			if sealed {
				kek, err := crypt.OpenKEKFile(filepath.Join(dir, "kek.key"))
				if err != nil {
					b.Fatal(err)
				}
				cfg.SQLite.KEK = kek
			}
			s, err := embedded.Open(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.EnsureWorkspace(ctx, "default"); err != nil {
				b.Fatal(err)
			}
			const batch, writers = 100, 8
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					evs := make([]vigil.Event, batch)
					for {
						from := next.Add(batch) - batch
						if from >= int64(b.N) {
							return
						}
						for i := range evs {
							n := from + int64(i)
							evs[i] = vigil.Event{ActorID: fmt.Sprintf("dr_%d", n%500), ActorName: "Dr. Bench", Action: "patient.record.viewed",
								Resource: "MedicalRecord", ResourceID: fmt.Sprintf("rec_%d", n), PatientID: fmt.Sprintf("pt_%d", n%10000),
								IPAddress: "10.0.0.1", UserAgent: "bench/1", SessionID: fmt.Sprintf("s_%d_%d", w, n%50), Outcome: vigil.OutcomeSuccess}
						}
						if _, err := s.Append(ctx, "default", evs); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
