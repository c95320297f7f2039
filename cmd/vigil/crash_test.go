package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	nethttp "net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var crashCycles = flag.Int("cycles", 30, "crash test: SIGKILL/restart cycles")

// TestCrashSafety runs vigil serve as a child, drives concurrent single and
// batch ingest, kills it with SIGKILL at random moments, restarts it, and
// checks that every acknowledged event is stored exactly once and that the
// ledger verifies.
func TestCrashSafety(t *testing.T) {
	bin := buildVigil(t)
	data := filepath.Join(t.TempDir(), "data")
	ingest, auditor := cliKey(t, bin, data, "ingest"), cliKey(t, bin, data, "auditor")

	acked := map[string]string{} // idempotency key -> id acknowledged
	var mu sync.Mutex
	client := &nethttp.Client{Timeout: 10 * time.Second}
	sent := 0
	for cycle := range *crashCycles {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr, "--verify-rate", "0")
		srv := startServe(t, cmd, addr)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					n := 1
					if w%2 == 1 {
						n = 1 + rand.IntN(20)
					}
					mu.Lock()
					keys := make([]string, n)
					for j := range keys {
						keys[j] = fmt.Sprintf("c%d-w%d-i%d-j%d", cycle, w, i, j)
					}
					sent += n
					mu.Unlock()
					ids, err := sendEvents(client, "http://"+addr, ingest, keys)
					if err != nil {
						continue // killed mid-request: not acknowledged
					}
					mu.Lock()
					for j, k := range keys {
						acked[k] = ids[j]
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGKILL)
		<-srv.exited
		close(stop)
		wg.Wait()
	}

	// Restart once more and check everything acknowledged is there once.
	addr := freeAddr(t)
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr), addr)
	stored := map[string][]string{} // idempotency key -> ids stored
	cursor := ""
	for {
		u := "http://" + addr + "/api/v1/events?limit=100&action=crash.test"
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		var page struct {
			Data []struct {
				ID             string `json:"id"`
				IdempotencyKey string `json:"idempotency_key"`
			} `json:"data"`
			Pagination struct {
				HasMore    bool   `json:"has_more"`
				NextCursor string `json:"next_cursor"`
			} `json:"pagination"`
		}
		if err := getJSON(client, u, auditor, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Data {
			stored[e.IdempotencyKey] = append(stored[e.IdempotencyKey], e.ID)
		}
		if !page.Pagination.HasMore {
			break
		}
		cursor = page.Pagination.NextCursor
	}
	lost, dup := 0, 0
	for k, id := range acked {
		ids := stored[k]
		if len(ids) == 0 {
			lost++
			t.Errorf("acknowledged event %s (%s) was lost", k, id)
		} else if ids[0] != id {
			t.Errorf("acknowledged event %s is stored as %s, acknowledged as %s", k, ids[0], id)
		}
	}
	for k, ids := range stored {
		if len(ids) > 1 {
			dup++
			t.Errorf("event %s stored %d times", k, len(ids))
		}
	}
	var v struct {
		Data struct {
			Valid         bool            `json:"valid"`
			EventsChecked int64           `json:"events_checked"`
			Breaks        json.RawMessage `json:"breaks"`
		} `json:"data"`
	}
	if err := getJSON(client, "http://"+addr+"/api/v1/verify", auditor, &v); err != nil {
		t.Fatal(err)
	}
	if !v.Data.Valid {
		t.Errorf("the ledger does not verify after the crashes: %s", v.Data.Breaks)
	}
	srv.stop(t)
	// The offline verifier agrees.
	bundle := filepath.Join(t.TempDir(), "log.bundle")
	if out, err := exec.Command(bin, "ledger", "export", "--data", data, "--out", bundle).CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	vkey, err := exec.Command(bin, "ledger", "key", "--data", data).Output()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "verify", "--bundle", bundle, "--key", strings.TrimSpace(string(vkey))).CombinedOutput(); err != nil {
		t.Errorf("offline verification failed: %v\n%s", err, out)
	}
	t.Logf("crash test: %d cycles, %d events sent, %d acknowledged, %d stored, %d lost, %d duplicated, %d events verified",
		*crashCycles, sent, len(acked), len(stored), lost, dup, v.Data.EventsChecked)
	fmt.Printf("crash test: cycles=%d sent=%d acknowledged=%d lost=%d duplicated=%d\n", *crashCycles, sent, len(acked), lost, dup)
}

func lastLineOf(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// sendEvents posts one event (or a batch) and returns the acknowledged ids.
func sendEvents(c *nethttp.Client, base, key string, idem []string) ([]string, error) {
	var body []byte
	path := "/api/v1/events"
	mk := func(k string) map[string]any {
		return map[string]any{"actor_id": "crash", "action": "crash.test", "idempotency_key": k, "patient_id": "pt_" + k[:3]}
	}
	if len(idem) == 1 {
		body, _ = json.Marshal(mk(idem[0]))
	} else {
		var evs []map[string]any
		for _, k := range idem {
			evs = append(evs, mk(k))
		}
		body, _ = json.Marshal(map[string]any{"events": evs})
		path += "/batch"
	}
	req, _ := nethttp.NewRequest("POST", base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 201 {
		return nil, fmt.Errorf("status %d: %s %v", resp.StatusCode, b, err)
	}
	if len(idem) == 1 {
		var s struct{ ID string }
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		return []string{s.ID}, nil
	}
	var bs struct{ Events []struct{ ID string } }
	if err := json.Unmarshal(b, &bs); err != nil {
		return nil, err
	}
	ids := make([]string, len(bs.Events))
	for i, e := range bs.Events {
		ids[i] = e.ID
	}
	return ids, nil
}

func getJSON(c *nethttp.Client, u, key string, v any) error {
	req, _ := nethttp.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}
