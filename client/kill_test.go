package client_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/client"
)

// TestSpoolSurvivesKill runs a child process (this test binary again)
// that spools events and starts sending them. The server stores every
// batch, but withholds its answers to all but the first two, so when the
// child is killed with SIGKILL it has batches the server stored and it
// never heard back about. A new client on the same spool sends them again
// and the server recognises their idempotency keys: every event is stored
// exactly once.
func TestSpoolSurvivesKill(t *testing.T) {
	if os.Getenv("VIGIL_SPOOL_CHILD") != "" {
		spoolChild()
		return
	}
	s := newServer(t)
	dir := t.TempDir()
	const n = 1000
	var held, duplicates atomic.Int64
	var holding atomic.Bool // withhold answers until the kill
	holding.Store(true)
	s.setProxy(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
		if r.URL.Path != "/api/v1/events/batch" {
			h.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var in api.BatchInput
		json.Unmarshal(body, &in)
		var first int
		fmt.Sscanf(in.Events[0].IdempotencyKey, "kill-%d", &first)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var bs api.BatchStored
		json.Unmarshal(rec.Body.Bytes(), &bs)
		for _, e := range bs.Events {
			if e.Status == "duplicate" {
				duplicates.Add(1)
			}
		}
		if first >= 200 && holding.Load() {
			held.Add(1)
			<-r.Context().Done() // the child dies waiting for this answer
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolSurvivesKill$")
	cmd.Env = append(os.Environ(), "VIGIL_SPOOL_CHILD=1", "VIGIL_URL="+s.url, "VIGIL_KEY="+s.ingest,
		"VIGIL_DIR="+dir, "VIGIL_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "spooled\n" {
		cmd.Process.Kill()
		t.Fatalf("child: %q %v", line, err)
	}
	// Kill the child once it has every batch it may send at once (4)
	// stored and unanswered.
	waitFor(t, 30*time.Second, "4 unanswered batches", func() bool { return held.Load() == 4 })
	cmd.Process.Kill()
	cmd.Wait()
	holding.Store(false)

	before := len(s.stored(t, "spool.kill"))
	if before != 600 {
		t.Fatalf("%d events stored before the kill, want 6 batches of 100", before)
	}
	c := mustNew(t, s.url, s.ingest, client.WithSpool(dir), fastRetry())
	if err := c.Close(ctxT(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("kill-%d", i)
	}
	s.deliveredOnce(t, "spool.kill", keys)
	if d := duplicates.Load(); d != 400 {
		t.Fatalf("%d events sent again after the restart, want the 400 whose answers were withheld", d)
	}
}

// spoolChild is the process that gets killed.
func spoolChild() {
	c, err := client.New(os.Getenv("VIGIL_URL"), os.Getenv("VIGIL_KEY"), client.WithSpool(os.Getenv("VIGIL_DIR")))
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
	select {} // SIGKILL ends it
}
