package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/report"
)

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0", "+SUM(1)": "'+SUM(1)", "-2+3": "'-2+3", "@evil": "'@evil",
		"\tx": "'\tx", "\rx": "'\rx", "safe": "safe", "": "", "a=b": "a=b", "'=x": "'=x",
	} {
		if got := report.Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCSVFormulaInjection reads a report and an export back with a CSV
// reader: hostile cells arrive as text, everything else unchanged.
func TestCSVFormulaInjection(t *testing.T) {
	db := seeded(t)
	b, err := run(t, db, vigil.ReportPatientAccess, `{"patient_id":"pt_4"}`, "csv", "")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !slices.Equal(rows[0][:3], []string{"actor_id", "actor_name", "accesses"}) {
		t.Fatalf("rows %q", rows)
	}
	if rows[1][0] != "'=cmd|' /C calc'!A0" || rows[1][1] != "'+SUM(A1:A9)" || rows[1][2] != "1" {
		t.Errorf("hostile row %q", rows[1])
	}

	var out bytes.Buffer
	cp, _ := report.Latest(context.Background(), db, "default")
	n, err := report.WriteExport(context.Background(), &out, db, db, vigil.Query{Workspace: "default", SessionID: "s6"}, cp, report.FormatCSV, "", nil)
	if err != nil || n != 1 {
		t.Fatalf("export: %d %v", n, err)
	}
	rows, err = csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) string { return rows[1][slices.Index(rows[0], name)] }
	for name, want := range map[string]string{"actor_id": "'=cmd|' /C calc'!A0", "actor_name": "'+SUM(A1:A9)",
		"resource_name": "'@evil", "user_agent": "'-2+3", "source": "'=1+1", "patient_id": "pt_4", "occurred_at": "2026-03-04T09:00:00Z"} {
		if got := col(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// TestPDF extracts the text of a rendered report with pdftotext
// (poppler-utils) and checks what an auditor reads: title, parameters,
// checkpoint, rows and page numbers.
func TestPDF(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is required (Debian package poppler-utils)")
	}
	db := seeded(t)
	b, err := run(t, db, vigil.ReportPatientAccess, `{"patient_id":"pt_1"}`, "pdf", "")
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, b)
	cp, _ := report.Latest(context.Background(), db, "default")
	for _, want := range []string{"Everyone who accessed the patient or record", "patient_access", `{"patient_id":"pt_1"}`,
		"test.vigil/default, tree size 17", cp.Root.String(), "dr_a", "Dr. Old", "HPAYMT; TREAT", "2019-03-01 09:00:00Z",
		"3 rows.", "Page 1 of 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}

	// A long report: the header repeats and the pages are numbered.
	many := openDB(t, t.TempDir())
	defer many.Close()
	var evs []vigil.Event
	for i := range 150 {
		evs = append(evs, vigil.Event{ActorID: "dr_z", Action: "patient_record.viewed", PatientID: fmt.Sprintf("pt_%03d", i),
			OccurredAt: at("2026-03-02T10:00:00Z").Add(timeMinute(i)), SessionID: "long"})
	}
	if _, err := many.Append(context.Background(), "default", evs); err != nil {
		t.Fatal(err)
	}
	waitCheckpoint(t, many, 150)
	b, err = run(t, many, vigil.ReportSession, `{"session_id":"long"}`, "pdf", "")
	if err != nil {
		t.Fatal(err)
	}
	text = pdfText(t, b)
	for _, want := range []string{"Page 1 of 5", "Page 5 of 5", "pt_000", "pt_149", "150 rows."} {
		if !strings.Contains(text, want) {
			t.Errorf("the long PDF's text lacks %q", want)
		}
	}
	if c := strings.Count(text, "occurred_at"); c != 5 {
		t.Errorf("the header appears %d times in 5 pages", c)
	}
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 20)])
	}
	path := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

func TestJSONReportShape(t *testing.T) {
	b, err := run(t, seeded(t), vigil.ReportSession, `{"session_id":"s2"}`, "json", "t1")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var cols []string
	json.Unmarshal(doc["columns"], &cols)
	if !slices.Equal(cols, []string{"occurred_at", "sequence", "event_id", "actor_id", "action", "resource", "resource_id", "patient_id", "outcome"}) {
		t.Errorf("columns %q", cols)
	}
	var rows []map[string]any
	json.Unmarshal(doc["rows"], &rows)
	if len(rows) != 2 || rows[0]["sequence"] != float64(3) || rows[1]["action"] != "record.disclosed" {
		t.Errorf("rows %v", rows)
	}
	if !strings.Contains(string(doc["report"]), `"tenant_scope":"t1"`) {
		t.Errorf("report %s", doc["report"])
	}
}
