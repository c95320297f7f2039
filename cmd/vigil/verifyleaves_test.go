package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rawExec changes a stopped server's database the way an intruder with
// the file would: around the append-only triggers.
func rawExec(t *testing.T, dbPath string, stmts ...string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
	if err != nil {
		t.Fatal(err)
	}
	var names, defs []string
	for rows.Next() {
		var n, d string
		rows.Scan(&n, &d)
		names, defs = append(names, n), append(defs, d)
	}
	rows.Close()
	for _, s := range append(append(prefix("DROP TRIGGER ", names), stmts...), defs...) {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func prefix(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

// TestVerifyURLRehashesLeaves runs vigil verify --url against real servers
// whose database was altered behind their back in ways that leave the
// tree and its checkpoints intact: tree checks alone pass them, the leaf
// check fails every one.
func TestVerifyURLRehashesLeaves(t *testing.T) {
	bin := buildVigil(t)
	pristine := filepath.Join(t.TempDir(), "data")
	ingest, auditor := cliKey(t, bin, pristine, "ingest"), cliKey(t, bin, pristine, "auditor")
	out, err := exec.Command(bin, "ledger", "key", "--data", pristine).Output()
	if err != nil {
		t.Fatal(err)
	}
	vkey := strings.TrimSpace(string(out))

	serve := func(data string) (*server, string) {
		addr := freeAddr(t)
		// No background verifier: what is checked here is the remote one.
		cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr, "--checkpoint-interval", "1h", "--verify-rate", "0")
		return startServe(t, cmd, addr), "http://" + addr
	}
	verify := func(base string, args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"verify", "--url", base, "--key", vkey}, args...)...)
		cmd.Env = append(os.Environ(), "VIGIL_API_KEY="+auditor)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	srv, base := serve(pristine)
	// Events that use every member of the leaf, and JSON that the read
	// shape spells differently from the canonical form.
	bodies := []string{
		`{"actor_id":"dr_ö","actor_name":"Dr. \"Ö\" <Nakamura> & co","actor_type":"physician","action":"patient_record.viewed","action_category":"read",` +
			`"resource":"patient_record","resource_id":"rec-1","resource_name":"Chart","tenant_id":"north","session_id":"s1","idempotency_key":"k1","version":2,` +
			`"occurred_at":"2024-06-15T08:30:00.123456789+02:00","outcome":"minor_failure","patient_id":"pt-1","purpose_of_use":"TREAT",` +
			`"ip_address":"::ffff:10.1.2.3","user_agent":"EHR/5 (Linux)","source":"ehr",` +
			`"metadata":{"z":1,"a":[1.50,"<b>&</b>",{"é":null}],"big":1e21,"small":1E-7,"u":"\u2028"},` +
			`"targets":[{"type":"lab","id":"l1","name":"CBC – €","metadata":{"flag":true}},{"type":"doc","id":"d2"}]}`,
		`{"actor_id":"u1","action":"login"}`,
		`{"actor_id":"u2","action":"patient_record.viewed","metadata":{}}`,
	}
	for i := range 12 {
		body := bodies[i%len(bodies)]
		if i >= len(bodies) {
			body = fmt.Sprintf(`{"actor_id":"u%d","action":"patient_record.viewed","patient_id":"pt-%d","metadata":{"n":%d}}`, i, i%3, i)
		}
		if status, resp := curl(t, "-X", "POST", base+"/api/v1/events", "-H", "Authorization: Bearer "+ingest,
			"-H", "Content-Type: application/json", "-d", body); status != 201 {
			t.Fatalf("POST %d %s", status, resp)
		}
	}
	saved := filepath.Join(t.TempDir(), "saved.checkpoint")
	// The first run keeps the checkpoint; every event re-hashes to its leaf.
	if out, err := verify(base, "--checkpoint", saved, "--save"); err != nil || !strings.Contains(out, "leaves: all 12 events re-hashed") || !strings.Contains(out, "OK:") {
		t.Fatalf("verify --url on an honest log: %v\n%s", err, out)
	}
	if _, err := os.Stat(saved); err != nil {
		t.Fatalf("--save kept no checkpoint: %v", err)
	}
	for _, leaves := range []string{"all", "2-7", "sample:4", "sample:1000", "none"} {
		if out, err := verify(base, "--checkpoint", saved, "--leaves", leaves); err != nil || !strings.Contains(out, "OK:") {
			t.Fatalf("--leaves %s on an honest log: %v\n%s", leaves, err, out)
		}
	}
	if out, _ := verify(base, "--checkpoint", saved, "--leaves", "sample:4"); !strings.Contains(out, "4 of") || !strings.Contains(out, "(1-f)^4") {
		t.Fatalf("a sample does not state its confidence:\n%s", out)
	}
	for _, bad := range []string{"sample:0", "5-2", "x", "0-100000"} {
		if out, err := verify(base, "--leaves", bad); err == nil {
			t.Fatalf("--leaves %s was accepted:\n%s", bad, out)
		}
	}
	srv.stop(t)

	for _, c := range []struct {
		name  string
		stmts []string
		want  string
	}{
		// The events are sealed (encryption at rest): their rows hold the
		// clear fields and the commitments the leaf is written from.
		{"a byte changed in a row", []string{"UPDATE events SET action = 'patient_record.viewedX' WHERE seq = 4"}, "BREAK modified at 4"},
		{"commitments edited", []string{`UPDATE events SET commitments = (SELECT commitments FROM events WHERE seq = 6) WHERE seq = 5`}, "BREAK modified at 5"},
		{"two rows swapped", []string{"UPDATE events SET seq = -1 WHERE seq = 6", "UPDATE events SET seq = 6 WHERE seq = 7", "UPDATE events SET seq = 7 WHERE seq = -1"}, "BREAK reordered"},
		{"a row deleted", []string{"DELETE FROM events WHERE seq = 8"}, "BREAK missing at 8"},
		{"the last row deleted", []string{"DELETE FROM events WHERE seq = 11"}, "BREAK missing at 11"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			if out, err := exec.Command("cp", "-a", pristine, data).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			rawExec(t, filepath.Join(data, dbFile), c.stmts...)
			srv, base := serve(data)
			defer srv.stop(t)
			// The tree and its checkpoints are intact: checking them alone
			// passes the altered log.
			if out, err := verify(base, "--checkpoint", saved, "--leaves", "none"); err != nil {
				t.Fatalf("the tree check failed (%v), so this case does not isolate the leaves:\n%s", err, out)
			}
			for _, leaves := range []string{"auto", "all", "0-12", "sample:100000"} {
				out, err := verify(base, "--checkpoint", saved, "--leaves", leaves)
				if err == nil || !strings.Contains(out, "FAIL") || !strings.Contains(out, c.want) {
					t.Fatalf("--leaves %s passed an altered log (%v), want %q:\n%s", leaves, err, c.want, out)
				}
			}
			// Once the server's own verification has found the change, it
			// says so on every read, and the remote check fails on that too.
			if status, body := curl(t, base+"/api/v1/verify", "-H", "Authorization: Bearer "+auditor); status != 200 || !strings.Contains(body, `"valid":false`) {
				t.Fatalf("the server's verification: %d %s", status, body)
			}
			out, err := verify(base, "--checkpoint", saved, "--leaves", "none")
			if err == nil || !strings.Contains(out, "the server's own verification found breaks") {
				t.Fatalf("the server reports breaks, and the remote check passed (%v):\n%s", err, out)
			}
		})
	}
}
