package sqlite_test

import (
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// BenchmarkOnDemandCheckpoint measures what a checkpoint signed on demand
// costs the writer: an append followed by a request for the latest
// checkpoint, against an append alone (the difference is the signature,
// its row and the witness file, fsync'd).
func BenchmarkOnDemandCheckpoint(b *testing.B) {
	for _, demand := range []bool{false, true} {
		name := "append"
		if demand {
			name = "append+checkpoint"
		}
		b.Run(name, func(b *testing.B) {
			db := openSlowCadenceB(b, time.Nanosecond)
			e := []vigil.Event{{ActorID: "a", Action: "x"}}
			b.ResetTimer()
			for range b.N {
				if _, err := db.Append(b.Context(), "ws", e); err != nil {
					b.Fatal(err)
				}
				if demand {
					if _, err := db.Checkpoint(b.Context(), "ws", -1); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
