package main

import (
	"context"
	"fmt"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// vigil backup beside a running server that takes events, to S3 with
// Object Lock: each generation's objects carry a COMPLIANCE retention and
// cannot be deleted, the second generation uploads only what is new, and
// the backup restores.
func TestBackupCommandToS3BesideAServer(t *testing.T) {
	bin := buildVigil(t)
	v := startVersity(t)
	v.lockedBucket(t, "cli")
	data := filepath.Join(t.TempDir(), "data")
	ingest := cliKey(t, bin, data, "ingest")
	vkey := strings.TrimSpace(run(t, bin, "ledger", "key", "--data", data))
	addr := freeAddr(t)
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr, "--verify-rate", "0"), addr)
	client := &nethttp.Client{Timeout: 10 * time.Second}
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
				keys := make([]string, 10)
				for j := range keys {
					keys[j] = fmt.Sprintf("cli-w%d-i%d-j%d", w, i, j)
				}
				if _, err := sendEvents(client, "http://"+addr, ingest, keys); err != nil {
					t.Errorf("ingest beside the backup: %v", err)
					return
				}
			}
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	time.Sleep(1500 * time.Millisecond) // events and a checkpoint first

	backupOnce := func() string {
		t.Helper()
		c := exec.Command(bin, "backup", "--data", data, "--to", "s3://cli/vigil")
		c.Env = v.env()
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("vigil backup beside the server: %v\n%s", err, out)
		}
		return string(out)
	}
	first := backupOnce()
	if !strings.Contains(first, "backup generation 1 ") || !strings.Contains(first, "every object locked: S3 Object Lock COMPLIANCE mode for 2193d") {
		t.Fatalf("first backup:\n%s", first)
	}
	time.Sleep(500 * time.Millisecond)
	second := backupOnce()
	if !strings.Contains(second, "backup generation 2 ") {
		t.Fatalf("second backup:\n%s", second)
	}
	s3 := v.client(t)
	ctx := context.Background()
	objects := 0
	for o := range s3.ListObjects(ctx, "cli", minio.ListObjectsOptions{Prefix: "vigil/", Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		objects++
		// The retention as the server reports it on the object
		// (versitygw's GetObjectRetention answer is not the XML
		// minio-go parses).
		st, err := s3.StatObject(ctx, "cli", o.Key, minio.StatObjectOptions{VersionID: o.VersionID})
		if err != nil {
			t.Fatal(err)
		}
		mode := st.Metadata.Get("X-Amz-Object-Lock-Mode")
		until, err := time.Parse(time.RFC3339, st.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"))
		if mode != "COMPLIANCE" || err != nil || until.Before(time.Now().AddDate(6, 0, 0)) {
			t.Fatalf("%s: retention %q until %v (%v), want COMPLIANCE for six years", o.Key, mode, until, err)
		}
		if err := s3.RemoveObject(ctx, "cli", o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID, GovernanceBypass: true}); err == nil {
			t.Fatalf("%s version %s was deleted under Object Lock", o.Key, o.VersionID)
		}
	}
	if objects < 10 {
		t.Fatalf("%d objects in the bucket", objects)
	}
	stopLoad()
	srv.stop(t)

	restored := filepath.Join(t.TempDir(), "restored")
	rc := exec.Command(bin, "restore", "--from", "s3://cli/vigil", "--data", restored,
		"--backup-key", filepath.Join(data, "backup.key"), "--verifier-key", vkey, "--witness-file", filepath.Join(data, "ledger.witness"),
		"--kek-file", filepath.Join(data, "kek.key"))
	rc.Env = v.env()
	out, err := rc.CombinedOutput()
	if err != nil {
		t.Fatalf("vigil restore: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "restored generation 2 ") || !strings.Contains(string(out), "opened and verified") {
		t.Fatalf("restore:\n%s", out)
	}
	// The server went on after the second backup: the witness kept
	// beside it covers the events the backup lacks.
	if !strings.Contains(string(out), "LOST: workspace \"default\" lost ") {
		t.Fatalf("the restore does not report the events acknowledged after the backup:\n%s", out)
	}
	t.Logf("backup:\n%s%s\nrestore:\n%s", first, second, out)
}

// A tampered backup is refused: vigil restore exits non-zero, names the
// object, and leaves the new data directory empty.
func TestRestoreRefusesATamperedBackup(t *testing.T) {
	bin := buildVigil(t)
	data := filepath.Join(t.TempDir(), "data")
	ingest := cliKey(t, bin, data, "ingest")
	vkey := strings.TrimSpace(run(t, bin, "ledger", "key", "--data", data))
	addr := freeAddr(t)
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr, "--verify-rate", "0"), addr)
	client := &nethttp.Client{Timeout: 10 * time.Second}
	for i := range 20 {
		if _, err := sendEvents(client, "http://"+addr, ingest, []string{fmt.Sprintf("t%d-a", i), fmt.Sprintf("t%d-b", i)}); err != nil {
			t.Fatal(err)
		}
	}
	srv.stop(t)
	dest := filepath.Join(t.TempDir(), "dest")
	if out, err := exec.Command(bin, "backup", "--data", data, "--to", dest).CombinedOutput(); err != nil {
		t.Fatalf("vigil backup: %v\n%s", err, out)
	}
	chunk := "log/00000000000000000001/000000.chunk"
	b, err := os.ReadFile(filepath.Join(dest, chunk))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.Chmod(filepath.Join(dest, chunk), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dest, chunk), b, 0o600); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	c := exec.Command(bin, "restore", "--from", dest, "--data", restored, "--backup-key", filepath.Join(data, "backup.key"), "--verifier-key", vkey)
	out, err := c.CombinedOutput()
	if err == nil || c.ProcessState.ExitCode() == 0 {
		t.Fatalf("vigil restore of a tampered backup succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), chunk) || !strings.Contains(string(out), "altered") {
		t.Fatalf("the refusal does not name the altered object %s:\n%s", chunk, out)
	}
	if ents, _ := os.ReadDir(restored); len(ents) != 0 {
		t.Fatalf("a refused restore left %d entries in the data directory", len(ents))
	}
	// A non-empty directory is refused before anything is read.
	if err := os.WriteFile(filepath.Join(restored, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin, "restore", "--from", dest, "--data", restored, "--backup-key", filepath.Join(data, "backup.key"), "--verifier-key", vkey).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is not empty") {
		t.Fatalf("restore into a non-empty directory: %v\n%s", err, out)
	}
}
