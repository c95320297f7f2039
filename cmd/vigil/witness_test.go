package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeWitnessFile keeps the witness outside the data directory
// (--witness-file, VIGIL_WITNESS_FILE) and replaces the whole directory
// with an older copy: the server, the bundle exporter and the offline
// verifier all report the rollback.
func TestServeWitnessFile(t *testing.T) {
	bin := buildVigil(t)
	data := filepath.Join(t.TempDir(), "data")
	witness := filepath.Join(t.TempDir(), "anchor", "ledger.witness")
	ingest, auditor := cliKey(t, bin, data, "ingest"), cliKey(t, bin, data, "auditor")
	vkey, err := exec.Command(bin, "ledger", "key", "--data", data).Output()
	if err != nil {
		t.Fatal(err)
	}

	// The directory of the witness file must exist.
	addr := freeAddr(t)
	out, err := exec.Command(bin, "serve", "--data", data, "--addr", addr, "--witness-file", witness).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--witness-file") {
		t.Fatalf("serve with a witness file in a missing directory: %v\n%s", err, out)
	}
	os.MkdirAll(filepath.Dir(witness), 0o700)

	serve := func(env ...string) (*server, string) {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr, "--checkpoint-interval", "10ms")
		cmd.Env = append(os.Environ(), env...)
		return startServe(t, cmd, addr), "http://" + addr
	}
	post := func(base string, n int) {
		for i := range n {
			if status, body := curl(t, "-X", "POST", base+"/api/v1/events", "-H", "Authorization: Bearer "+ingest,
				"-H", "Content-Type: application/json", "-d", fmt.Sprintf(`{"actor_id":"u%d","action":"patient_record.viewed"}`, i)); status != 201 {
				t.Fatalf("POST %d %s", status, body)
			}
		}
	}
	srv, base := serve("VIGIL_WITNESS_FILE=" + witness)
	post(base, 5)
	srv.stop(t)
	if _, err := os.Stat(filepath.Join(data, witnessFile)); !os.IsNotExist(err) {
		t.Fatalf("a witness was written inside the data directory: %v", err)
	}
	backup := filepath.Join(t.TempDir(), "backup")
	if out, err := exec.Command("cp", "-a", data, backup).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	srv, base = serve("VIGIL_WITNESS_FILE=" + witness)
	post(base, 5)
	srv.stop(t)
	os.RemoveAll(data)
	if out, err := exec.Command("cp", "-a", backup, data).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}

	// Without the witness outside, the older directory looks whole.
	bundle := filepath.Join(t.TempDir(), "log.bundle")
	if out, err := exec.Command(bin, "ledger", "export", "--data", data, "--out", bundle).CombinedOutput(); err != nil {
		t.Fatalf("export: %v %s", err, out)
	}
	if out, err := exec.Command(bin, "verify", "--bundle", bundle, "--key", strings.TrimSpace(string(vkey))).CombinedOutput(); err != nil {
		t.Fatalf("the bundle of the older directory, without its witness: %v\n%s", err, out)
	}
	// With it, the exporter's bundle carries the evidence.
	if out, err := exec.Command(bin, "ledger", "export", "--data", data, "--witness-file", witness, "--out", bundle).CombinedOutput(); err != nil {
		t.Fatalf("export: %v %s", err, out)
	}
	out, err = exec.Command(bin, "verify", "--bundle", bundle, "--key", strings.TrimSpace(string(vkey))).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "BREAK rollback") {
		t.Fatalf("the bundle with the witness kept outside verified: %v\n%s", err, out)
	}
	// And the server, started on the older directory, says so.
	addr = freeAddr(t)
	srv = startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr, "--witness-file", witness), addr)
	base = "http://" + addr
	// It found the rollback when it opened, before anything could replace
	// the witness: degraded, and still taking events.
	if status, body := curl(t, base+"/readyz"); status != 200 || !strings.Contains(body, `"degraded"`) || !strings.Contains(body, `"rollback"`) {
		t.Fatalf("/readyz on the older directory: %d %s", status, body)
	}
	post(base, 1)
	status, body := curl(t, base+"/api/v1/verify", "-H", "Authorization: Bearer "+auditor)
	if status != 200 || !strings.Contains(body, `"type":"rollback"`) {
		t.Fatalf("verify on the older directory: %d %s", status, body)
	}
	srv.stop(t)
}
