package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServeTimeouts: slow clients are cut off by the server's timeouts
// and do not stop it from serving everyone else.
func TestServeTimeouts(t *testing.T) {
	bin := buildVigil(t)
	data := filepath.Join(t.TempDir(), "data")
	ingest, auditor := cliKey(t, bin, data, "ingest"), cliKey(t, bin, data, "auditor")
	addr := freeAddr(t)
	const headerTimeout, readTimeout, idleTimeout = 500 * time.Millisecond, 1500 * time.Millisecond, time.Second
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr,
		"--read-header-timeout", headerTimeout.String(), "--read-timeout", readTimeout.String(),
		"--idle-timeout", idleTimeout.String()), addr)

	// closedWithin reports how long the server took to end a connection
	// the client keeps silent from now on.
	closedWithin := func(c net.Conn) time.Duration {
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
		return time.Since(start)
	}

	t.Run("slow headers", func(t *testing.T) {
		const n = 50
		var wg sync.WaitGroup
		took := make([]time.Duration, n)
		for i := range n {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Slow: ", addr) // never finished
			wg.Go(func() { took[i] = closedWithin(c) })
		}
		// Meanwhile a normal client is served at once.
		start := time.Now()
		r, err := nethttp.Get("http://" + addr + "/healthz")
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("a normal client was not served beside slow ones: %v", err)
		}
		r.Body.Close()
		if d := time.Since(start); d > headerTimeout {
			t.Errorf("a normal client waited %v beside slow ones", d)
		}
		wg.Wait()
		for i, d := range took {
			if d > headerTimeout+2*time.Second {
				t.Fatalf("slow-header connection %d held %v (read-header timeout %v)", i, d, headerTimeout)
			}
		}
	})

	t.Run("trickled body", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		body := `{"actor_id":"slow","action":"trickle.test"}`
		fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
			addr, ingest, len(body))
		start := time.Now()
		// One byte every 300 ms: the whole body would take 13 s.
		var status string
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			status = strings.TrimSpace(line)
		}()
	trickle:
		for i := range len(body) {
			select {
			case <-done:
				break trickle
			case <-time.After(300 * time.Millisecond):
			}
			if _, err := c.Write([]byte{body[i]}); err != nil {
				break
			}
		}
		<-done
		if d := time.Since(start); d > readTimeout+2*time.Second {
			t.Fatalf("trickled body held the connection %v (read timeout %v)", d, readTimeout)
		}
		if strings.Contains(status, " 5") || strings.Contains(status, " 2") {
			t.Fatalf("trickled body answered %q", status)
		}
		// Nothing of it was stored.
		req, _ := nethttp.NewRequest("GET", "http://"+addr+"/api/v1/events?action=trickle.test", nil)
		req.Header.Set("Authorization", "Bearer "+auditor)
		r, err := nethttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || !strings.Contains(string(b), `"data":[]`) {
			t.Fatalf("after a cut-off body: %d %s", r.StatusCode, b)
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		br := bufio.NewReader(c)
		r, err := nethttp.ReadResponse(br, nil)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("first request: %v", err)
		}
		io.Copy(io.Discard, r.Body)
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, br)
		if d := time.Since(start); d > idleTimeout+2*time.Second {
			t.Fatalf("idle connection kept %v (idle timeout %v)", d, idleTimeout)
		}
	})
	if strings.Contains(srv.stderr.String(), ingest) || strings.Contains(srv.stderr.String(), auditor) {
		t.Fatal("a key reached the log")
	}
}
