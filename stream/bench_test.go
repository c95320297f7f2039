package stream_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/stream"
	"github.com/vigilhq/vigil/stream/streamtest"
)

// BenchmarkStreamLag ingests at full speed (4 writers, batches of 100,
// straight into the store) for a few seconds, first with no stream (the
// baseline), then while streaming to a real rsyslog over TLS and an HTTPS
// NDJSON receiver, sampling each stream's lag every 50 ms; it reports the
// lag's p50, p99 and maximum, the time to drain once ingest stops, and
// ingest's rate with streams as a ratio of the rate without.
//
//	go test ./stream -run '^$' -bench StreamLag -benchtime 1x
func BenchmarkStreamLag(b *testing.B) {
	const load = 4 * time.Second
	for b.Loop() {
		db := openStore(b)
		base := ingestFor(b, db, load)
		rs := streamtest.StartRsyslog(b)
		rcv := streamtest.StartReceiver(b, "", false)
		sys, err := stream.NewSyslog("tls://"+rs.Addr, rs.ClientTLS, "bench")
		if err != nil {
			b.Fatal(err)
		}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: rcv.Roots}}}
		web, err := stream.NewHTTPS(rcv.URL, stream.FormatNDJSON, "", "bench", client)
		if err != nil {
			b.Fatal(err)
		}
		// The streams start level with the log: only the load is measured.
		var fs []*stream.Follower
		for _, s := range []stream.Sender{sys, web} {
			f := stream.New(stream.Config{Log: db, Cursors: db, Sender: s, Poll: 50 * time.Millisecond})
			for _, ws := range []string{"default", "other"} {
				n, _ := db.LogSize(context.Background(), ws)
				db.SetCursor(context.Background(), "stream:"+s.Name(), ws, n)
			}
			fs = append(fs, f)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, f := range fs {
			wg.Add(1)
			go func() { defer wg.Done(); f.Run(ctx) }()
		}
		samples := make([][]int64, len(fs))
		sampling := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-sampling:
					return
				case <-t.C:
					for i, f := range fs {
						samples[i] = append(samples[i], f.Lag())
					}
				}
			}
		}()
		streamed := ingestFor(b, db, load)
		stopped := time.Now()
		for _, f := range fs {
			for f.Lag() > 0 || f.Sent() == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		drain := time.Since(stopped)
		close(sampling)
		sampler.Wait()
		cancel()
		wg.Wait()
		for i, f := range fs {
			s := slices.Clone(samples[i])
			slices.Sort(s)
			q := func(p float64) int64 { return s[int(p*float64(len(s)-1))] }
			name := []string{"syslog", "https"}[i]
			b.ReportMetric(float64(q(0.5)), name+"-lag-p50-events")
			b.ReportMetric(float64(q(0.99)), name+"-lag-p99-events")
			fmt.Printf("stream lag %s: p50=%d p99=%d max=%d events (%d samples); %d events sent\n", name, q(0.5), q(0.99), s[len(s)-1], len(s), f.Sent())
		}
		b.ReportMetric(streamed, "ingest-events/s")
		b.ReportMetric(streamed/base, "ratio")
		fmt.Printf("ingest: %.0f events/s without streams, %.0f with both (%.2fx); drained %s after ingest stopped\n", base, streamed, streamed/base, drain.Round(time.Millisecond))
	}
}

// ingestFor appends batches of 100 from 4 writers for d and returns the
// rate in events per second.
func ingestFor(b *testing.B, db *embedded.Store, d time.Duration) float64 {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := make([]vigil.Event, 100)
			for i := 0; time.Now().Before(deadline); i++ {
				for j := range evs {
					evs[j] = vigil.Event{ActorID: fmt.Sprintf("dr_%d_%d", w, j), Action: "patient_record.viewed", PatientID: "pt_1"}
				}
				if _, err := db.Append(context.Background(), "default", evs); err != nil {
					b.Error(err)
					return
				}
				n.Add(int64(len(evs)))
			}
		}()
	}
	start := time.Now()
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
