package anchor_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/anchor"
	"github.com/vigilhq/vigil/anchor/anchortest"
	"github.com/vigilhq/vigil/ledger"
)

// BenchmarkAnchorLatency measures the time from asking for an anchor of a
// new checkpoint to a verified anchor stored (AnchorNow), against a real
// local TSA and witness, beside the raw baseline of the same witness
// request made directly in the same loop: the ratio is what Vigil adds
// (reading the log, storing the anchor twice, verifying the evidence).
//
//	go test ./anchor -run '^$' -bench AnchorLatency -benchtime 100x
func BenchmarkAnchorLatency(b *testing.B) {
	for _, kind := range []string{"tsa", "witness"} {
		b.Run(kind, func(b *testing.B) {
			// The baseline's log has an origin of its own.
			db, raw := openStore(b, b.TempDir()), openLog(b, b.TempDir(), "anchor.raw")
			var w anchor.Witness
			switch kind {
			case "tsa":
				tsa := anchortest.StartTSA(b)
				w, _ = anchor.NewTSA(tsa.URL, http.DefaultClient, tsa.Roots)
			default:
				wit := anchortest.StartWitness(b, vkey, origin, ledger.Origin("anchor.raw", "ws"))
				w, _ = anchor.NewCosigner(wit.URL, wit.VKey, http.DefaultClient)
			}
			an := anchor.New(anchor.Config{Log: db, Store: db, Witnesses: []anchor.Witness{w}})
			var lat, base []time.Duration
			var rawSize int64
			for i := 0; b.Loop(); i++ {
				appendEvents(b, db, 1, fmt.Sprint(i))
				start := time.Now()
				made, err := an.AnchorNow(context.Background(), "ws")
				if err != nil || len(made) != 1 || made[0].Status != vigil.AnchorConfirmed {
					b.Fatalf("%+v %v", made, err)
				}
				lat = append(lat, time.Since(start))
				// The baseline: the same request on a log of its own, so the
				// witness sees a new checkpoint each time.
				rcp := appendEvents(b, raw, 1, fmt.Sprint(i))
				req := anchor.Request{Checkpoint: rcp, Body: ledger.CheckpointBody(rcp.Note), OldSize: rawSize,
					Prove: func(ctx context.Context, from int64) ([]vigil.Hash, error) {
						return raw.ConsistencyProof(ctx, "ws", from, rcp.Size)
					}}
				start = time.Now()
				if _, err := w.Witness(context.Background(), req); err != nil {
					b.Fatal(err)
				}
				base = append(base, time.Since(start))
				rawSize = rcp.Size
			}
			p := func(ds []time.Duration, q float64) float64 {
				slices.Sort(ds)
				return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(p(lat, 0.5), "p50-ms")
			b.ReportMetric(p(lat, 0.99), "p99-ms")
			b.ReportMetric(p(base, 0.5), "raw-p50-ms")
			b.ReportMetric(p(base, 0.99), "raw-p99-ms")
			b.ReportMetric(p(lat, 0.5)/p(base, 0.5), "ratio-p50")
			fmt.Printf("anchor latency %s: n=%d p50=%.1fms p99=%.1fms raw p50=%.1fms p99=%.1fms ratio(p50)=%.2f\n",
				kind, len(lat), p(lat, 0.5), p(lat, 0.99), p(base, 0.5), p(base, 0.99), p(lat, 0.5)/p(base, 0.5))
		})
	}
}
