package client_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilhq/vigil/client"
)

func ctxT(t testing.TB, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// countKeys checks every idempotency key was stored exactly once.
func countKeys(t *testing.T, s *server, action string, keys []string) {
	t.Helper()
	got := map[string]int{}
	for _, e := range s.stored(action) {
		got[*e.IdempotencyKey]++
	}
	for _, k := range keys {
		if got[k] != 1 {
			t.Fatalf("event %s stored %d times", k, got[k])
		}
	}
	if len(got) != len(keys) {
		t.Fatalf("%d distinct events stored, %d tracked", len(got), len(keys))
	}
}

func TestSpoolSurvivesOutage(t *testing.T) {
	s := newServer(t)
	s.setDown(true)
	c, err := client.New(s.srv.URL, s.ingest, client.WithSpool(t.TempDir(), 0), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				r, err := c.Track(ctxT(t, time.Minute), client.Event{ActorID: fmt.Sprint(g), Action: "spool.outage", Metadata: map[string]any{"i": i}})
				if err != nil || r.Status != "spooled" {
					t.Error(r, err)
					return
				}
				mu.Lock()
				keys = append(keys, r.IdempotencyKey)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.setDown(false)
	if err := c.Flush(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	countKeys(t, s, "spool.outage", keys)
	if err := c.Close(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "b"}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Track after Close: %v", err)
	}
}

func TestSpoolFull(t *testing.T) {
	s := newServer(t)
	s.setDown(true)
	c, err := client.New(s.srv.URL, s.ingest, client.WithSpool(t.TempDir(), 4096), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctxT(t, time.Second))
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		_, full = c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.full"})
	}
	if !errors.Is(full, client.ErrSpoolFull) {
		t.Fatalf("a 4 KiB spool took 1000 events: %v", full)
	}
	// Guard refuses to run when the spool cannot take the record.
	ran := false
	err = c.Guard(context.Background(), client.Event{ActorID: "a", Action: "spool.full"}, func() error { ran = true; return nil })
	var ge *client.GuardError
	if ran || !errors.As(err, &ge) || !errors.Is(err, client.ErrSpoolFull) {
		t.Fatalf("Guard ran=%v err=%v", ran, err)
	}
}

func TestSpoolCutsTornTail(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	s.setDown(true)
	c, _ := client.New(s.srv.URL, s.ingest, client.WithSpool(dir, 0), fastRetry())
	r, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.torn"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close(ctxT(t, 100*time.Millisecond)) // the server is down: the event stays spooled
	f, _ := os.OpenFile(filepath.Join(dir, "spool.log"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{0, 0, 0, 40, 1, 2, 3, 4, '{', '"'}) // a record cut short by a crash
	f.Close()
	s.setDown(false)
	c, err = client.New(s.srv.URL, s.ingest, client.WithSpool(dir, 0), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	countKeys(t, s, "spool.torn", []string{r.IdempotencyKey})
}

func TestSpoolSetsAsideRefusedEvents(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	c, _ := client.New(s.srv.URL, s.ingest, client.WithSpool(dir, 0), fastRetry())
	good1, _ := c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.mixed"})
	c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.mixed", Outcome: "meh"}) // the server refuses it
	good2, _ := c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.mixed"})
	if err := c.Close(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	countKeys(t, s, "spool.mixed", []string{good1.IdempotencyKey, good2.IdempotencyKey})
	rejected, err := os.ReadFile(filepath.Join(dir, "spool.rejected"))
	if err != nil || !strings.Contains(string(rejected), `"outcome":"meh"`) || !strings.Contains(string(rejected), "validation_failed") {
		t.Fatalf("spool.rejected: %s %v", rejected, err)
	}
}

// TestSpoolSurvivesKill spools events in a child process that is killed
// with SIGKILL while sending; a new client on the same spool delivers the
// rest, each event once.
func TestSpoolSurvivesKill(t *testing.T) {
	if os.Getenv("VIGIL_SPOOL_CHILD") != "" {
		spoolChild()
		return
	}
	s := newServer(t)
	dir := t.TempDir()
	const n = 3000
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSpoolSurvivesKill$")
	cmd.Env = append(os.Environ(), "VIGIL_SPOOL_CHILD=1", "VIGIL_URL="+s.srv.URL, "VIGIL_KEY="+s.ingest, "VIGIL_DIR="+dir, "VIGIL_N="+strconv.Itoa(n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	got := ""
	for !strings.Contains(got, "spooled\n") {
		k, err := out.Read(buf)
		if err != nil {
			t.Fatalf("child: %v (%q)", err, got)
		}
		got += string(buf[:k])
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before := len(s.stored("spool.kill"))
	c, err := client.New(s.srv.URL, s.ingest, client.WithSpool(dir, 0), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctxT(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("kill-%d", i)
	}
	countKeys(t, s, "spool.kill", keys)
	t.Logf("%d of %d delivered before the kill; the rest after the restart", before, n)
}

func spoolChild() {
	c, err := client.New(os.Getenv("VIGIL_URL"), os.Getenv("VIGIL_KEY"), client.WithSpool(os.Getenv("VIGIL_DIR"), 0))
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(os.Getenv("VIGIL_N"))
	events := make([]client.Event, n)
	for i := range events {
		events[i] = client.Event{ActorID: "child", Action: "spool.kill", IdempotencyKey: fmt.Sprintf("kill-%d", i)}
	}
	if _, err := c.TrackBatch(context.Background(), events); err != nil {
		panic(err)
	}
	fmt.Println("spooled")
	time.Sleep(time.Minute) // killed while the sender works
}

func BenchmarkSpooledTrack(b *testing.B) {
	s := newServer(b)
	s.setDown(true) // measure the spool alone, not delivery
	c, err := client.New(s.srv.URL, s.ingest, client.WithSpool(b.TempDir(), 1<<40))
	if err != nil {
		b.Fatal(err)
	}
	e := client.Event{ActorID: "dr_m4k8p2", ActorName: "Dr. Emily Nakamura", Action: "patient_record.viewed",
		Resource: client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d"}, PatientID: "pt_1", PurposeOfUse: "TREAT"}
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Track(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.StopTimer()
	c.Close(ctxT(b, 10*time.Millisecond))
}

// BenchmarkSpoolDelivery measures how fast a spool drains into a real
// server once it is back: events/s end to end.
func BenchmarkSpoolDelivery(b *testing.B) {
	const n = 20000
	for range b.N {
		b.StopTimer()
		s := newServer(b)
		s.setDown(true)
		c, err := client.New(s.srv.URL, s.ingest, client.WithSpool(b.TempDir(), 1<<40),
			client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			b.Fatal(err)
		}
		events := make([]client.Event, n)
		for i := range events {
			events[i] = client.Event{ActorID: "dr", Action: "patient_record.viewed", PatientID: fmt.Sprint("pt_", i)}
		}
		if _, err := c.TrackBatch(context.Background(), events); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		s.setDown(false)
		if err := c.Flush(ctxT(b, 5*time.Minute)); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(n/time.Since(start).Seconds(), "events/s")
		c.Close(ctxT(b, time.Second))
	}
}
