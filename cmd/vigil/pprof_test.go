package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServePprof: with --pprof on a loopback address, the profiler
// answers there and only there; the API's listener does not serve it.
func TestServePprof(t *testing.T) {
	addr, pprofAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuilder
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--data", t.TempDir(), "--addr", addr, "--pprof", pprofAddr, "--verify-rate", "0"},
			strings.NewReader(""), io.Discard, &stderr)
	}()
	get := func(url string) (int, string, error) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _, err := get("http://" + addr + "/readyz"); err == nil && code == 200 {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("vigil serve exited %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, body, err := get("http://" + pprofAddr + "/debug/pprof/")
	if err != nil || code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("profiler index: %d %v %.200s", code, err, body)
	}
	code, body, err = get("http://" + pprofAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil || code != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Fatalf("goroutine profile: %d %v %.200s", code, err, body)
	}
	if code, _, err := get("http://" + addr + "/debug/pprof/"); err != nil || code != 404 {
		t.Fatalf("the API listener answered /debug/pprof/ with %d %v", code, err)
	}
	if !strings.Contains(stderr.String(), `"msg":"profiler listening","addr":"`+pprofAddr+`"`) {
		t.Fatalf("no log line naming the profiler's address:\n%s", stderr.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	if _, _, err := get("http://" + pprofAddr + "/debug/pprof/"); err == nil {
		t.Fatal("the profiler still answers after the server stopped")
	}
}

// TestServePprofRefusesNonLoopback: every address that is not loopback
// is refused before anything is opened.
func TestServePprofRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{":6060", "0.0.0.0:6060", "[::]:6060", "192.0.2.1:6060", "10.0.0.1:6060", "example.com:6060", "6060"} {
		data := filepath.Join(t.TempDir(), "data")
		var stderr bytes.Buffer
		code := Main(context.Background(), []string{"serve", "--data", data, "--addr", "127.0.0.1:0", "--pprof", addr}, strings.NewReader(""), io.Discard, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), "--pprof") || !strings.Contains(stderr.String(), "loopback") {
			t.Errorf("--pprof %s: exit %d, stderr %q", addr, code, stderr.String())
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("--pprof %s: the data directory was created (%v)", addr, err)
		}
	}
}
