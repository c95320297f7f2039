package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestRestoreDrillMidLoad is the restore drill of docs/reliability.md: a
// server backing up continuously to S3 (versitygw, Object Lock on) takes
// events from concurrent clients; while they send, the server is killed
// with SIGKILL and its data directory destroyed. vigil restore rebuilds it
// from the latest generation, a server starts on it, and every event
// acknowledged before that generation began is there, under the id it
// was acknowledged with, and the ledger verifies. The events acknowledged
// after it are the recovery point, measured and printed.
func TestRestoreDrillMidLoad(t *testing.T) {
	bin := buildVigil(t)
	v := startVersity(t)
	v.lockedBucket(t, "drill")
	data := filepath.Join(t.TempDir(), "data")
	ingest, auditor := cliKey(t, bin, data, "ingest"), cliKey(t, bin, data, "auditor")
	vkey := strings.TrimSpace(run(t, bin, "ledger", "key", "--data", data))

	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr, "--verify-rate", "0",
		"--backup-to", "s3://drill/vigil", "--backup-interval", "1s", "--backup-every", "2000")
	cmd.Env = v.env()
	srv := startServe(t, cmd, addr)

	acked := map[string]ack{} // idempotency key -> what the server answered, and when
	var mu sync.Mutex
	client := &nethttp.Client{Timeout: 10 * time.Second}
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
				keys := make([]string, n)
				for j := range keys {
					keys[j] = fmt.Sprintf("w%d-i%d-j%d", w, i, j)
				}
				ids, err := sendEvents(client, "http://"+addr, ingest, keys)
				if err != nil {
					continue // killed mid-request: not acknowledged
				}
				at := time.Now()
				mu.Lock()
				for j, k := range keys {
					acked[k] = ack{ids[j], at}
				}
				mu.Unlock()
			}
		}()
	}
	// Kill the server at a random moment after at least two
	// generations were written under load.
	s3 := v.client(t)
	deadline := time.Now().Add(60 * time.Second)
	for generations(t, s3) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no two backup generations in 60s:\n%s", srv.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Duration(300+rand.IntN(1500)) * time.Millisecond)
	syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGKILL)
	killedAt := time.Now()
	<-srv.exited
	close(stop)
	wg.Wait()
	if strings.Contains(srv.stderr.String(), "backup failed") {
		t.Logf("the server logged failed backups (retried):\n%s", grepLines(srv.stderr.String(), "backup failed"))
	}

	// The machine is lost; the backup key and the verifier key were kept
	// apart from it.
	kept := filepath.Join(t.TempDir(), "backup.key")
	if err := os.Rename(filepath.Join(data, "backup.key"), kept); err != nil {
		t.Fatal(err)
	}
	keptKEK := filepath.Join(t.TempDir(), "kek.key")
	if err := os.Rename(filepath.Join(data, "kek.key"), keptKEK); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	rc := exec.Command(bin, "restore", "--from", "s3://drill/vigil", "--data", restored, "--backup-key", kept, "--verifier-key", vkey, "--kek-file", keptKEK)
	rc.Env = v.env()
	start := time.Now()
	out, err := rc.CombinedOutput()
	if err != nil {
		t.Fatalf("vigil restore: %v\n%s", err, out)
	}
	restoreTime := time.Since(start)
	m := regexp.MustCompile(`created (\S+)\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the restore report names no creation time:\n%s", out)
	}
	created, err := time.Parse(time.RFC3339Nano, string(m[1]))
	if err != nil {
		t.Fatal(err)
	}

	addr = freeAddr(t)
	srv = startServe(t, exec.Command(bin, "serve", "--data", restored, "--addr", addr, "--verify-rate", "0"), addr)
	stored := storedEvents(t, client, "http://"+addr, auditor)
	var lost, after int
	var firstLost, lastAck time.Time
	for k, a := range acked {
		if a.at.After(lastAck) {
			lastAck = a.at
		}
		id, ok := stored[k]
		switch {
		case ok && id != a.id:
			t.Errorf("acknowledged event %s is stored as %s, acknowledged as %s", k, id, a.id)
		case !ok && a.at.Before(created):
			t.Errorf("event %s, acknowledged at %s before the generation began at %s, is not restored", k, a.at.Format(time.RFC3339Nano), created.Format(time.RFC3339Nano))
		case !ok:
			lost++
			if firstLost.IsZero() || a.at.Before(firstLost) {
				firstLost = a.at
			}
		default:
			if a.at.After(created) {
				after++
			}
		}
	}
	verifyValid(t, client, "http://"+addr, auditor)
	// The restored server takes events again.
	if _, err := sendEvents(client, "http://"+addr, ingest, []string{"after-restore"}); err != nil {
		t.Fatalf("the restored server refuses an event: %v", err)
	}
	verifyValid(t, client, "http://"+addr, auditor)
	srv.stop(t)

	rpo := 0.0
	if lost > 0 {
		rpo = lastAck.Sub(firstLost).Seconds()
	}
	t.Logf("restore report:\n%s", out)
	fmt.Printf("restore drill: acknowledged=%d restored=%d lost=%d (acknowledged after the last generation began: %d restored, %d lost) recovery_point_events=%d recovery_point_seconds=%.2f generation_age_at_kill_seconds=%.2f restore_seconds=%.2f\n",
		len(acked), len(acked)-lost, lost, after, lost, lost, rpo, killedAt.Sub(created).Seconds(), restoreTime.Seconds())
}

type ack struct {
	id string
	at time.Time
}

// generations counts the manifests in the drill's bucket.
func generations(t *testing.T, c *minio.Client) int {
	n := 0
	for o := range c.ListObjects(context.Background(), "drill", minio.ListObjectsOptions{Prefix: "vigil/manifests/"}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	return n
}

// storedEvents reads every crash.test event: idempotency key -> id.
func storedEvents(t *testing.T, client *nethttp.Client, base, key string) map[string]string {
	t.Helper()
	stored := map[string]string{}
	cursor := ""
	for {
		u := base + "/api/v1/events?limit=100&action=crash.test"
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
		if err := getJSON(client, u, key, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Data {
			if _, dup := stored[e.IdempotencyKey]; dup {
				t.Errorf("event %s stored twice", e.IdempotencyKey)
			}
			stored[e.IdempotencyKey] = e.ID
		}
		if !page.Pagination.HasMore {
			return stored
		}
		cursor = page.Pagination.NextCursor
	}
}

func verifyValid(t *testing.T, client *nethttp.Client, base, key string) {
	t.Helper()
	var v struct {
		Data struct {
			Valid  bool            `json:"valid"`
			Breaks json.RawMessage `json:"breaks"`
		} `json:"data"`
	}
	if err := getJSON(client, base+"/api/v1/verify", key, &v); err != nil {
		t.Fatal(err)
	}
	if !v.Data.Valid {
		t.Fatalf("the restored ledger does not verify: %s", v.Data.Breaks)
	}
}

// run runs the binary and returns its standard output.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("vigil %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
