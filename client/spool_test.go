package client_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/client"
)

// TestSpoolSurvivesOutage: with the server down, concurrent Track calls
// return once spooled; when it is back, every event arrives once.
func TestSpoolSurvivesOutage(t *testing.T) {
	s := newServer(t)
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithSpool(t.TempDir()), fastRetry())
	var mu sync.Mutex
	var keys []string
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				r, err := c.Actor(fmt.Sprint("user", g), "", "").Track(ctxT(t, time.Minute), "spool.outage", client.Resource{Type: "n", ID: fmt.Sprint(i)})
				if err != nil || r.Status != "spooled" || r.ID != "" {
					t.Error(r, err)
					return
				}
				mu.Lock()
				keys = append(keys, r.IdempotencyKey)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "a failed delivery", func() bool { return c.SpoolStats().LastError != nil })
	if st := c.SpoolStats(); st.PendingBytes == 0 {
		t.Fatalf("nothing pending with the server down: %+v", st)
	}
	err := c.Flush(ctxT(t, 50*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not yet acknowledged") {
		t.Fatalf("Flush with the server down: %v", err)
	}
	s.setDown(false)
	if err := c.Flush(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.deliveredOnce(t, "spool.outage", keys)
	if st := c.SpoolStats(); st.PendingBytes != 0 || st.LastError != nil {
		t.Fatalf("after Flush: %+v", st)
	}
	if err := c.Close(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "b"}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Track after Close: %v", err)
	}
}

// TestSpoolFull: a full spool refuses events with ErrSpoolFull until the
// server takes some.
func TestSpoolFull(t *testing.T) {
	s := newServer(t)
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithSpool(t.TempDir(), client.SpoolMaxBytes(8<<10)), fastRetry())
	defer c.Close(ctxT(t, 10*time.Second))
	var spooled []string
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		var r client.Receipt
		if r, full = c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.full"}); full == nil {
			spooled = append(spooled, r.IdempotencyKey)
		}
	}
	if !errors.Is(full, client.ErrSpoolFull) || len(spooled) == 0 {
		t.Fatalf("an 8 KiB spool took %d events: %v", len(spooled), full)
	}
	if st := c.SpoolStats(); st.DiskBytes > 8<<10 {
		t.Fatalf("the spool grew past its bound: %+v", st)
	}
	s.setDown(false)
	if err := c.Flush(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	r, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.full"})
	if err != nil {
		t.Fatalf("the spool is still full after delivering: %v", err)
	}
	if err := c.Flush(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.deliveredOnce(t, "spool.full", append(spooled, r.IdempotencyKey))
}

// TestSpoolResumesAndIgnoresTornTail: a client closed while the server is
// down leaves its events; a crash leaves a torn record and a record whose
// checksum fails after them. The next client cuts both off, never sends
// them, and delivers the rest once.
func TestSpoolResumesAndIgnoresTornTail(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithSpool(dir), fastRetry())
	var keys []string
	for range 5 {
		r, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.torn"})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, r.IdempotencyKey)
	}
	if err := c.Close(ctxT(t, 50*time.Millisecond)); err == nil {
		t.Fatal("Close reported everything delivered with the server down")
	}
	seg := lastSegment(t, dir)
	f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	never := []byte(`{"actor_id":"a","action":"spool.never","idempotency_key":"never"}`)
	f.Write(badRecord(never))              // a whole record, but damaged
	f.Write([]byte{0, 0, 0, 200, 1, 2, 3}) // a record cut short by the crash
	f.Close()

	var logs bytes.Buffer
	s.setDown(false)
	c = mustNew(t, s.url, s.ingest, client.WithSpool(dir), fastRetry(), client.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := c.Close(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.deliveredOnce(t, "spool.torn", keys)
	if got := s.stored(t, "spool.never"); len(got) != 0 {
		t.Fatalf("a damaged record was sent: %+v", got)
	}
	if !strings.Contains(logs.String(), "cutting off a torn or damaged tail") {
		t.Fatalf("the cut was not logged: %s", logs.String())
	}
}

// TestSpoolSkipsDamagedSegment: a record damaged inside an older segment
// (disk corruption, not a crash) is never sent; the rest of that segment
// cannot be framed past it and is skipped, logged and counted; later
// segments are delivered.
func TestSpoolSkipsDamagedSegment(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithSpool(dir, client.SpoolSegmentBytes(1000)), fastRetry())
	var keys []string
	for i := range 20 {
		r, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.damaged", Metadata: map[string]any{"i": i}})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, r.IdempotencyKey)
	}
	c.Close(ctxT(t, 10*time.Millisecond))
	segs := segments(t, dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	// Damage the second record of the first segment.
	b, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	first := 8 + int(binary.BigEndian.Uint32(b[:4]))
	b[first+8+10] ^= 0xff
	os.WriteFile(segs[0], b, 0o600)
	inFirst := countRecords(b)

	s.setDown(false)
	c = mustNew(t, s.url, s.ingest, client.WithSpool(dir), fastRetry())
	if err := c.Flush(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	st := c.SpoolStats()
	c.Close(ctxT(t, 10*time.Second))
	want := append([]string{keys[0]}, keys[inFirst:]...)
	s.deliveredOnce(t, "spool.damaged", want)
	if st.SkippedBytes != int64(len(b)-first) {
		t.Fatalf("skipped %d bytes, want %d", st.SkippedBytes, len(b)-first)
	}
}

// TestSpoolSetsAsideRefusedEvents: events the server refuses as invalid
// are kept in rejected.jsonl, and do not hold back the others.
func TestSpoolSetsAsideRefusedEvents(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithSpool(dir), fastRetry())
	var good []string
	for i := range 10 {
		e := client.Event{ActorID: "a", Action: "spool.mixed"}
		if i == 3 || i == 7 {
			e.IPAddress = fmt.Sprint("bad-address-", i) // the server refuses it; the client cannot tell
		}
		r, err := c.Track(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		if e.IPAddress == "" {
			good = append(good, r.IdempotencyKey)
		}
	}
	s.setDown(false)
	if err := c.Close(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.deliveredOnce(t, "spool.mixed", good)
	rejected, err := os.ReadFile(filepath.Join(dir, "rejected.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(rejected)), "\n")
	for _, bad := range []string{`"ip_address":"bad-address-3"`, `"ip_address":"bad-address-7"`} {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, bad) && strings.Contains(l, `"error":"validation_failed"`) {
				n++
			}
		}
		if err != nil || len(lines) != 2 || n != 1 {
			t.Fatalf("rejected.jsonl: %s %v", rejected, err)
		}
	}
	if st := c.SpoolStats(); st.Rejected != 2 || st.Delivered != 8 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSpoolKeepsEventsOnWrongKey: a refused key is an operator's mistake,
// not the events' fault: they stay spooled until a client with a good key
// delivers them.
func TestSpoolKeepsEventsOnWrongKey(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	c := mustNew(t, s.url, "vgl_wrong", client.WithSpool(dir), fastRetry())
	r, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.key"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Close(ctxT(t, 300*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("Close: %v", err)
	}
	c = mustNew(t, s.url, s.ingest, client.WithSpool(dir), fastRetry())
	if err := c.Close(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.deliveredOnce(t, "spool.key", []string{r.IdempotencyKey})
}

// TestSpoolCompacts: delivered segments are removed.
func TestSpoolCompacts(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	c := mustNew(t, s.url, s.ingest, client.WithSpool(dir, client.SpoolSegmentBytes(4096)))
	events := make([]client.Event, 1000)
	for i := range events {
		events[i] = client.Event{ActorID: "a", Action: "spool.compact"}
	}
	for range 3 {
		if _, err := c.TrackBatch(context.Background(), events); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Once everything is delivered the spool shrinks to one empty segment.
	waitFor(t, 10*time.Second, "compaction", func() bool {
		st := c.SpoolStats()
		return st.Segments == 1 && st.DiskBytes == 0
	})
	if err := c.Close(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if segs := segments(t, dir); len(segs) != 1 {
		t.Fatalf("segment files left: %v", segs)
	}
	if n := len(s.stored(t, "spool.compact")); n != 3000 {
		t.Fatalf("%d stored", n)
	}
}

// TestSpoolIsLocked: two clients never share a spool.
func TestSpoolIsLocked(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	c := mustNew(t, s.url, s.ingest, client.WithSpool(dir))
	if _, err := client.New(s.url, s.ingest, client.WithSpool(dir)); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second client opened the spool: %v", err)
	}
	c.Close(ctxT(t, 10*time.Second))
	c2 := mustNew(t, s.url, s.ingest, client.WithSpool(dir))
	c2.Close(ctxT(t, 10*time.Second))
}

// TestSpoolKeepsOrderWithOneInFlight: with SpoolInFlight(1), the server's
// order is the spool's.
func TestSpoolKeepsOrderWithOneInFlight(t *testing.T) {
	s := newServer(t)
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithSpool(t.TempDir(), client.SpoolInFlight(1)), fastRetry())
	for i := range 450 {
		if _, err := c.Track(context.Background(), client.Event{ActorID: "a", Action: "spool.order", Metadata: map[string]any{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	s.setDown(false)
	if err := c.Close(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	got := s.stored(t, "spool.order")
	slices.Reverse(got) // oldest first
	for i, e := range got {
		if fmt.Sprint(e.Metadata["i"]) != fmt.Sprint(i) {
			t.Fatalf("event %d stored as %v", i, e.Metadata["i"])
		}
	}
}

// TestSpoolTrackHonoursContext: a cancelled context spools nothing.
func TestSpoolTrackHonoursContext(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest, client.WithSpool(t.TempDir()))
	defer c.Close(ctxT(t, 10*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Track(ctx, client.Event{ActorID: "a", Action: "b"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Track with a cancelled context: %v", err)
	}
	if st := c.SpoolStats(); st.DiskBytes != 0 {
		t.Fatalf("spooled anyway: %+v", st)
	}
}

func segments(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func lastSegment(t testing.TB, dir string) string {
	segs := segments(t, dir)
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	return segs[len(segs)-1]
}

// badRecord frames p with a checksum that does not match.
func badRecord(p []byte) []byte {
	h := make([]byte, 8)
	binary.BigEndian.PutUint32(h, uint32(len(p)))
	binary.BigEndian.PutUint32(h[4:], crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli))+1)
	return append(h, p...)
}

func countRecords(b []byte) int {
	n := 0
	for len(b) >= 8 {
		b = b[8+int(binary.BigEndian.Uint32(b[:4])):]
		n++
	}
	return n
}
