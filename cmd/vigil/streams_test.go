package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilhq/vigil/stream/streamtest"
)

// TestStreamsSurviveCrashes streams to a real rsyslog (mutual TLS) and an
// HTTPS NDJSON receiver while concurrent clients ingest, kills the server
// with SIGKILL at random moments, restarts it, and checks that both
// destinations received every acknowledged event (at least once: a batch
// in flight at a crash is sent again).
func TestStreamsSurviveCrashes(t *testing.T) {
	bin := buildVigil(t)
	data := filepath.Join(t.TempDir(), "data")
	ingest := cliKey(t, bin, data, "ingest")
	rs := streamtest.StartRsyslog(t)
	rcv := streamtest.StartReceiver(t, "stream-token", false)
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("stream-token\n"), 0o600)
	serve := func(addr string) *exec.Cmd {
		return exec.Command(bin, "serve", "--data", data, "--addr", addr, "--verify-rate", "0",
			"--stream-syslog", "tls://"+rs.Addr, "--stream-syslog-ca", rs.CAFile, "--stream-syslog-cert", rs.ClientCert,
			"--stream-syslog-key", rs.ClientKey, "--stream-https", rcv.URL, "--stream-https-ca", rcv.CAFile,
			"--stream-https-token-file", tokenFile, "--stream-backoff-max", "500ms")
	}

	var mu sync.Mutex
	acked := map[string]bool{}
	client := &nethttp.Client{Timeout: 10 * time.Second}
	const cycles = 5
	for cycle := range cycles {
		addr := freeAddr(t)
		srv := startServe(t, serve(addr), addr)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					keys := make([]string, 1+rand.IntN(30))
					for j := range keys {
						keys[j] = fmt.Sprintf("s%d-w%d-i%d-j%d", cycle, w, i, j)
					}
					ids, err := sendEvents(client, "http://"+addr, ingest, keys)
					if err != nil {
						continue // killed mid-request: not acknowledged
					}
					mu.Lock()
					for _, id := range ids {
						acked[id] = true
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(200+rand.IntN(600)) * time.Millisecond)
		syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGKILL)
		<-srv.exited
		close(stop)
		wg.Wait()
	}

	// Restart once more: the streams catch up from their cursors.
	addr := freeAddr(t)
	srv := startServe(t, serve(addr), addr)
	deadline := time.Now().Add(60 * time.Second)
	for !lagZero(t, "http://"+addr+"/metrics", 2) {
		if time.Now().After(deadline) {
			t.Fatal("the streams did not catch up within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.stop(t)
	for name, ids := range map[string]func() []string{"rsyslog": rs.IDs, "https": rcv.IDs} {
		var got map[string]int
		for wait := time.Now().Add(20 * time.Second); ; {
			got = map[string]int{}
			for _, id := range ids() {
				got[id]++
			}
			missing := 0
			for id := range acked {
				if got[id] == 0 {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if time.Now().After(wait) {
				t.Fatalf("%s: %d of %d acknowledged events never arrived", name, missing, len(acked))
			}
			time.Sleep(50 * time.Millisecond)
		}
		dups := 0
		for _, n := range got {
			dups += n - 1
		}
		t.Logf("%s: %d acknowledged events over %d crashes, all delivered, %d delivered twice or more", name, len(acked), cycles, dups)
	}
}

// lagZero reports whether /metrics shows n streams, each with no lag.
func lagZero(t *testing.T, url string, n int) bool {
	t.Helper()
	resp, err := nethttp.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	seen := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "vigil_stream_lag_events{") {
			seen++
			if !strings.HasSuffix(line, " 0") {
				return false
			}
		}
	}
	return seen == n
}
