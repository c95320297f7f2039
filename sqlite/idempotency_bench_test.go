package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/sqlite"
)

// BenchmarkAppendKeyed measures what idempotency keys cost on the write
// path, in batches of 100: events without keys, with fresh keys (a look-up
// that finds nothing, and the content digest), and repeats of stored
// events (a look-up that finds the event, which is read back and compared).
func BenchmarkAppendKeyed(b *testing.B) {
	for _, mode := range []string{"none", "fresh", "repeat"} {
		b.Run(mode, func(b *testing.B) {
			db, err := embedded.Open(b.Context(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(b.TempDir(), "vigil.db")}})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.EnsureWorkspace(b.Context(), "ws")
			batch := make([]vigil.Event, 100)
			n := 0
			fill := func() {
				for i := range batch {
					batch[i] = benchEvent(n)
					batch[i].TenantID = "clinic"
					if mode != "none" {
						batch[i].IdempotencyKey = fmt.Sprintf("key-%d", n)
					}
					n++
				}
			}
			fill()
			if mode == "repeat" {
				if _, err := db.Append(b.Context(), "ws", batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if mode != "repeat" {
					fill()
				}
				res, err := db.Append(b.Context(), "ws", batch)
				if err != nil {
					b.Fatal(err)
				}
				if res[0].Duplicate != (mode == "repeat") {
					b.Fatalf("%s: %+v", mode, res[0])
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
