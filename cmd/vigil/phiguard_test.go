package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServePHIGuard: vigil serve refuses an event with PHI in its free text
// by default, naming field and pattern; with --phi-guard flag and patterns
// of a file and the command line it stores the event and counts it in
// /metrics by pattern.
func TestServePHIGuard(t *testing.T) {
	bin := buildVigil(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	event := func(name string) string {
		return `{"actor_id":"dr_a","action":"record.read","actor_name":"` + name + `"}`
	}

	addr := freeAddr(t)
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr), addr)
	ingest := cliKey(t, bin, data, "ingest")
	post := func(body string) (int, string) {
		return curl(t, "-X", "POST", "-H", "Authorization: Bearer "+ingest, "-H", "Content-Type: application/json",
			"--data", body, "http://"+addr+"/api/v1/events")
	}
	status, body := post(event("Dr A 555-867-5309"))
	if status != 422 || !strings.Contains(body, `"field":"actor_name"`) || !strings.Contains(body, `\"phone\"`) || strings.Contains(body, "867") {
		t.Fatalf("by default: %d %s", status, body)
	}
	srv.stop(t)

	patterns := filepath.Join(dir, "phi.patterns")
	if err := os.WriteFile(patterns, []byte("# site patterns\nbadge=\\bBDG-\\d{6}\\b\n\nssn=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr = freeAddr(t)
	startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr, "--phi-guard", "flag",
		"--phi-patterns", patterns, "--phi-pattern", `ward=\bward [A-Z]\d\b`), addr)
	for _, name := range []string{"Dr A 555-867-5309", "Dr B BDG-123456", "Dr C ward Q7", "Dr D 078-05-1120"} {
		if status, body := post(event(name)); status != 201 {
			t.Fatalf("flag mode, %s: %d %s", name, status, body)
		}
	}
	_, metrics := curl(t, "http://"+addr+"/metrics")
	for _, want := range []string{`vigil_phi_flagged_events_total{pattern="phone"} 1`, `vigil_phi_flagged_events_total{pattern="badge"} 1`,
		`vigil_phi_flagged_events_total{pattern="ward"} 1`, `vigil_phi_flagged_events_total{pattern="email"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `pattern="ssn"`) {
		t.Error("the removed pattern ssn is still counted")
	}
}
