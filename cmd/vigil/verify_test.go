package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// TestVerifyCommands drives the offline verifier (--bundle) and the remote
// one (--url) against a real server, untouched and tampered.
func TestVerifyCommands(t *testing.T) {
	bin := buildVigil(t)
	data := filepath.Join(t.TempDir(), "data")
	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	out, err := run("keys", "create", "--data", data, "--role", "ingest")
	if err != nil {
		t.Fatal(out)
	}
	ingest := lastLineOf([]byte(out))
	out, _ = run("keys", "create", "--data", data, "--role", "auditor")
	auditor := lastLineOf([]byte(out))
	vkey, err := run("ledger", "key", "--data", data)
	if err != nil {
		t.Fatal(vkey)
	}
	vkey = strings.TrimSpace(vkey)

	addr := freeAddr(t)
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr, "--checkpoint-interval", "10ms"), addr)
	base := "http://" + addr
	post := func(n int) {
		for i := range n {
			if status, body := curl(t, "-X", "POST", base+"/api/v1/events", "-H", "Authorization: Bearer "+ingest,
				"-H", "Content-Type: application/json", "-d", fmt.Sprintf(`{"actor_id":"u%d","action":"patient_record.viewed"}`, i)); status != 201 {
				t.Fatalf("POST %d %s", status, body)
			}
		}
	}
	checkpoint := func() string {
		time.Sleep(50 * time.Millisecond) // one checkpoint interval
		status, body := curl(t, base+"/api/v1/ledger/checkpoint", "-H", "Authorization: Bearer "+auditor)
		if status != 200 {
			t.Fatalf("checkpoint %d %s", status, body)
		}
		return body + "\n"
	}
	post(5)
	saved := filepath.Join(t.TempDir(), "saved.checkpoint")
	os.WriteFile(saved, []byte(checkpoint()), 0o600)
	post(7)
	checkpoint()

	verifyURL := func(savedPath string) (string, error) {
		cmd := exec.Command(bin, "verify", "--url", base, "--checkpoint", savedPath, "--key", vkey)
		cmd.Env = append(os.Environ(), "VIGIL_API_KEY="+auditor)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := verifyURL(saved); err != nil || !strings.Contains(out, "OK: the log of") {
		t.Fatalf("verify --url on an honest log: %v\n%s", err, out)
	}
	// A checkpoint of a different history (signed with the real key, as a
	// server that forked its log would) and one from the future both fail.
	skey, _ := os.ReadFile(filepath.Join(data, keyFile))
	cp, _ := ledger.Open([]byte(readFile(t, saved)), vkey)
	for name, note := range map[string][]byte{
		"fork":     mustSignCP(t, string(skey), cp.Origin, cp.Size, vigil.Hash{1}),
		"rollback": mustSignCP(t, string(skey), cp.Origin, cp.Size+1000, vigil.Hash{1}),
	} {
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, note, 0o600)
		out, err := verifyURL(p)
		if err == nil || !strings.Contains(out, "FAIL") {
			t.Errorf("%s: verify --url passed:\n%s", name, out)
		}
	}
	srv.stop(t)

	// The offline bundle verifies, and a one-byte change does not.
	bundle := filepath.Join(t.TempDir(), "log.bundle")
	if out, err := run("ledger", "export", "--data", data, "--out", bundle); err != nil {
		t.Fatalf("export: %s", out)
	}
	if out, err := run("verify", "--bundle", bundle, "--key", vkey, "--checkpoint", saved); err != nil || !strings.Contains(out, "OK:") {
		t.Fatalf("verify --bundle: %v\n%s", err, out)
	}
	b := readFile(t, bundle)
	tampered := filepath.Join(t.TempDir(), "tampered.bundle")
	// The events are sealed: what the leaf holds in clear is what can be
	// changed in a bundle (the identifying fields are commitments).
	os.WriteFile(tampered, []byte(strings.Replace(b, `"action":"patient_record.viewed"`, `"action":"patient_record.viewee"`, 1)), 0o600)
	out, err = run("verify", "--bundle", tampered, "--key", vkey)
	if err == nil || !strings.Contains(out, "BREAK checkpoint_mismatch") {
		t.Fatalf("a tampered bundle verified: %v\n%s", err, out)
	}
	if out, err := run("verify", "--bundle", bundle, "--key", "nobody+00000000+AAAA"); err == nil {
		t.Fatalf("a wrong key verified:\n%s", out)
	}
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustSignCP(t *testing.T, skey, origin string, size int64, root vigil.Hash) []byte {
	note, err := ledger.Sign(strings.TrimSpace(skey), origin, size, root)
	if err != nil {
		t.Fatal(err)
	}
	return note
}
