package client_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/client"
)

// Benchmarks, each reporting events/s:
//
//	go test -run '^$' -bench . -benchtime 5s ./client/
//
// SpooledTrack measures Track into the spool alone (the server is down,
// so the sender only retries in the background) with 1, 16, 64 and 128
// concurrent callers, and reports events/fsync, which does not depend on
// the disk: it is how many events the group commit puts behind one
// fsync. SpooledTrackLive is the same while the sender delivers to a live
// server. SpoolDelivery drains a backlog into a real server, to compare
// with ServerBatchIngest, the server taking the same batches directly.

var benchEvent = client.Event{ActorID: "dr_m4k8p2", ActorName: "Dr. Emily Nakamura", ActorType: "physician",
	Action: "patient_record.viewed", Resource: client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d"},
	TenantID: "clinic_bayview_medical", SessionID: "sess_e4a2c8f1", PatientID: "pt_1", PurposeOfUse: "TREAT",
	Metadata: map[string]any{"department": "internal_medicine", "sections": []string{"demographics", "medications"}}}

// trackConcurrently splits n Track calls between callers goroutines.
func trackConcurrently(b *testing.B, c *client.Client, callers, n int) {
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			for i := g; i < n; i += callers {
				if _, err := c.Track(context.Background(), benchEvent); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkSpooledTrack(b *testing.B) {
	for _, callers := range []int{1, 16, 64, 128} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			s := newServer(b)
			s.setDown(true) // the spool alone, not delivery
			c := mustNew(b, s.url, s.ingest, client.WithSpool(b.TempDir(), client.SpoolMaxBytes(1<<40)))
			b.ResetTimer()
			trackConcurrently(b, c, callers, b.N)
			b.StopTimer()
			st := c.SpoolStats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(st.Spooled)/float64(max(st.Fsyncs, 1)), "events/fsync")
			c.Close(ctxT(b, time.Millisecond))
		})
	}
}

func BenchmarkSpooledTrackLive(b *testing.B) {
	s := newServer(b)
	c := mustNew(b, s.url, s.ingest, client.WithSpool(b.TempDir(), client.SpoolMaxBytes(1<<40)))
	b.ResetTimer()
	trackConcurrently(b, c, 128, b.N)
	b.StopTimer()
	st := c.SpoolStats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(st.Delivered)/b.Elapsed().Seconds(), "delivered/s")
	if err := c.Close(ctxT(b, 5*time.Minute)); err != nil {
		b.Fatal(err)
	}
}

const backlog = 20000

func BenchmarkSpoolDelivery(b *testing.B) {
	for _, inFlight := range []int{1, 4} {
		b.Run(fmt.Sprintf("inflight=%d", inFlight), func(b *testing.B) {
			var elapsed time.Duration
			for range b.N {
				s := newServer(b)
				s.setDown(true)
				c := mustNew(b, s.url, s.ingest, client.WithSpool(b.TempDir(), client.SpoolMaxBytes(1<<40), client.SpoolInFlight(inFlight)),
					client.WithRetry(client.RetryPolicy{Initial: time.Millisecond}))
				events := make([]client.Event, backlog)
				for i := range events {
					events[i] = benchEvent
				}
				if _, err := c.TrackBatch(context.Background(), events); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				s.setDown(false)
				if err := c.Flush(ctxT(b, 5*time.Minute)); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				c.Close(ctxT(b, time.Second))
			}
			b.ReportMetric(float64(b.N*backlog)/elapsed.Seconds(), "events/s")
		})
	}
}

func BenchmarkServerBatchIngest(b *testing.B) {
	for _, conc := range []int{1, 4} {
		b.Run(fmt.Sprintf("concurrent=%d", conc), func(b *testing.B) {
			var elapsed time.Duration
			for range b.N {
				s := newServer(b)
				c := mustNew(b, s.url, s.ingest)
				start := time.Now()
				var wg sync.WaitGroup
				for range conc {
					wg.Go(func() {
						events := make([]client.Event, backlog/conc)
						for i := range events {
							events[i] = benchEvent
						}
						if _, err := c.TrackBatch(context.Background(), events); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(b.N*backlog)/elapsed.Seconds(), "events/s")
		})
	}
}
