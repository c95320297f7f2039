package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// TestReportAndExportCommands computes reports and exports offline on a
// data directory and verifies the NDJSON export with vigil verify.
func TestReportAndExportCommands(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	d, err := openData(ctx, data, dataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	occurred := time.Date(2026, 3, 2, 23, 30, 0, 0, time.UTC)
	if _, err := d.db.Append(ctx, defaultWS, []vigil.Event{
		{ActorID: "dr_a", Action: "patient_record.viewed", PatientID: "pt_1", SessionID: "s1", OccurredAt: occurred},
		{ActorID: "dr_b", Action: "patient_record.viewed", PatientID: "pt_1", SessionID: "s1", OccurredAt: occurred.Add(time.Hour)},
		{ActorID: "dr_b", Action: "record.disclosed", ActionCategory: "disclosure", PatientID: "pt_1", OccurredAt: occurred.Add(2 * time.Hour),
			Targets: []vigil.Target{{Type: "organization", ID: "org_1", Name: "Acme"}}},
	}); err != nil {
		t.Fatal(err)
	}
	d.close() // signs the last checkpoint
	dir := t.TempDir()
	main := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(ctx, args, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	out := filepath.Join(dir, "r.csv")
	code, stdout, stderr := main("report", "patient_access", "--data", data, "--patient-id", "pt_1", "--format", "csv", "--out", out)
	if code != 0 || !strings.Contains(stdout, "2 rows") || !strings.Contains(stdout, "size 3") {
		t.Fatalf("report: %d %s %s", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "actor_id,actor_name,accesses") || !strings.Contains(string(b), "dr_b,,2,0") {
		t.Errorf("csv %s", b)
	}
	code, stdout, _ = main("report", "disclosures", "--data", data, "--patient-id", "pt_1", "--from", "2026-01-01", "--to", "2026-04-01", "--format", "json", "--out", filepath.Join(dir, "d.json"))
	if b, _ := os.ReadFile(filepath.Join(dir, "d.json")); code != 0 || !strings.Contains(string(b), `"recipient":"Acme (org_1)"`) {
		t.Errorf("disclosures: %d %s %s", code, stdout, b)
	}
	code, stdout, _ = main("report", "off_hours", "--data", data, "--timezone", "UTC", "--start-hour", "20", "--end-hour", "6",
		"--format", "pdf", "--out", filepath.Join(dir, "o.pdf"))
	if b, _ := os.ReadFile(filepath.Join(dir, "o.pdf")); code != 0 || !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Errorf("off_hours pdf: %d %s", code, stdout)
	}
	// Bad parameters name the field, and write nothing.
	code, _, stderr = main("report", "off_hours", "--data", data, "--format", "pdf", "--out", filepath.Join(dir, "x.pdf"))
	if code != 1 || !strings.Contains(stderr, "params.timezone: is required") {
		t.Errorf("off_hours without a window: %d %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.pdf")); !os.IsNotExist(err) {
		t.Error("a refused report left a file")
	}
	code, _, stderr = main("report", "nonsense", "--data", data, "--out", filepath.Join(dir, "n.pdf"))
	if code != 1 || !strings.Contains(stderr, "type: must be one of") {
		t.Errorf("unknown type: %d %s", code, stderr)
	}

	nd := filepath.Join(dir, "e.ndjson")
	if code, stdout, stderr = main("export", "--data", data, "--format", "ndjson", "--actor-id", "dr_b", "--out", nd); code != 0 || !strings.Contains(stdout, "2 rows") {
		t.Fatalf("export: %d %s %s", code, stdout, stderr)
	}
	vkey := strings.TrimSpace(d.verifierKey)
	code, stdout, stderr = main("verify", "--export", nd, "--key", vkey)
	if code != 0 || !strings.Contains(stdout, "2 events checked") || !strings.Contains(stdout, "OK") {
		t.Fatalf("verify: %d %s %s", code, stdout, stderr)
	}
	b, _ := os.ReadFile(nd)
	// The events are sealed: their leaves hold the action in clear and
	// the actor only as a commitment.
	os.WriteFile(nd, bytes.Replace(b, []byte(`"action":"record.disclosed"`), []byte(`"action":"record.disclosee"`), 1), 0o600)
	if code, stdout, _ = main("verify", "--export", nd, "--key", vkey); code != 1 || !strings.Contains(stdout, "BREAK modified") {
		t.Errorf("tampered export: %d %s", code, stdout)
	}
	if code, stdout, _ = main("export", "--data", data, "--format", "parquet", "--out", filepath.Join(dir, "e.parquet")); code != 0 || !strings.Contains(stdout, "3 rows") {
		t.Errorf("parquet: %d %s", code, stdout)
	}
}
