package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/report"
)

func export(t *testing.T, db interface {
	report.Source
}, q vigil.Query, format string) ([]byte, int64) {
	t.Helper()
	cp, err := report.Latest(context.Background(), db, "default")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	n, err := report.WriteExport(context.Background(), &b, db, db, q, cp, format, testVKey, json.RawMessage(`{"tenant_id":"t1"}`))
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), n
}

// TestParquetReadBack reads an export back with parquet-go: every event,
// typed, with timestamps as timestamps.
func TestParquetReadBack(t *testing.T) {
	db := seeded(t)
	b, n := export(t, db, vigil.Query{Workspace: "default", TenantID: "t1"}, report.FormatParquet)
	if n != 15 {
		t.Fatalf("%d events exported, want 15 of tenant t1", n)
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != 15 {
		t.Fatalf("%d rows", f.NumRows())
	}
	for _, name := range []string{"occurred_at", "created_at"} {
		col, ok := f.Schema().Lookup(name)
		if !ok {
			t.Fatalf("no column %s", name)
		}
		lt := col.Node.Type().LogicalType()
		if lt == nil || lt.String() != "TIMESTAMP(isAdjustedToUTC=true,unit=NANOS)" {
			t.Errorf("%s: logical type %v, want a UTC nanosecond timestamp", name, lt)
		}
	}
	if col, _ := f.Schema().Lookup("sequence"); col.Node.Type().Kind() != parquet.Int64 {
		t.Errorf("sequence is %v", col.Node.Type())
	}
	if cp, ok := f.Lookup("vigil.checkpoint"); !ok || !strings.Contains(cp, "test.vigil/default") {
		t.Errorf("checkpoint metadata %q", cp)
	}
	rows := make([]report.ParquetEvent, 20)
	r := parquet.NewGenericReader[report.ParquetEvent](bytes.NewReader(b))
	got, _ := r.Read(rows)
	rows = rows[:got]
	if got != 15 {
		t.Fatalf("read %d rows", got)
	}
	page, err := db.Events(context.Background(), vigil.Query{Workspace: "default", TenantID: "t1", Before: -1, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(page.Events)
	for i, e := range page.Events {
		p := rows[i]
		if p.ID != e.ID || p.Sequence != e.Sequence || !p.OccurredAt.Equal(e.OccurredAt) || !p.CreatedAt.Equal(e.CreatedAt) ||
			p.ActorID != e.ActorID || p.Action != e.Action || string(p.Outcome) != string(e.Outcome) || deref(p.PatientID) != e.PatientID {
			t.Errorf("row %d: %+v\nevent %+v", i, p, e)
		}
	}
	if deref(rows[0].ActionCategory) != "" || rows[0].ActionCategory != nil {
		t.Errorf("an absent field is %q, want null", deref(rows[0].ActionCategory))
	}
	disc := rows[slices.IndexFunc(rows, func(p report.ParquetEvent) bool { return p.Action == "record.disclosed" && p.ActorID == "dr_b" })]
	if deref(disc.Targets) != `[{"type":"organization","id":"org_9","name":"Acme Insurance"}]` {
		t.Errorf("targets %q %+v", deref(disc.Targets), disc)
	}
	if rows[0].OccurredAt.Location() != time.UTC {
		t.Errorf("time zone %v", rows[0].OccurredAt.Location())
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestNDJSONExportVerifies checks an export offline with the ledger's
// verifier, and that changing, dropping or cutting a line is caught.
func TestNDJSONExportVerifies(t *testing.T) {
	db := seeded(t)
	b, n := export(t, db, vigil.Query{Workspace: "default", PatientID: "pt_1"}, report.FormatNDJSON)
	if n != 7 {
		t.Fatalf("%d events", n)
	}
	rep, err := ledger.VerifyExport(bytes.NewReader(b), testVKey)
	if err != nil || !rep.Valid || rep.EventsChecked != 7 || rep.TreeSize != 17 || rep.KeyFromExport {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[0], `{"export":"vigil.export.v1","filters":{"tenant_id":"t1"},"origin":"test.vigil/default","tree_size":17`) {
		t.Fatalf("lines %q", lines[0])
	}
	// Each event line holds the leaf exactly as the ledger hashes it.
	var line struct {
		Event json.RawMessage `json:"event"`
	}
	json.Unmarshal([]byte(lines[2]), &line)
	e, err := ledger.ParseEvent(line.Event)
	if err != nil || e.PatientID != "pt_1" || string(ledger.AppendEvent(nil, &e)) != string(line.Event) {
		t.Fatalf("leaf %s: %v", line.Event, err)
	}

	for name, c := range map[string]struct {
		lines []string
		want  string
	}{
		"modified event": {replace(lines, 3, `"actor_id":"dr_a"`, `"actor_id":"dr_x"`), vigil.BreakModified},
		"dropped end":    {lines[:len(lines)-1], vigil.BreakTruncated},
		"dropped event":  {append(slices.Clone(lines[:3]), lines[4:]...), vigil.BreakTruncated},
		"reordered":      {swap(lines, 2, 3), vigil.BreakReordered},
		"wrong proof":    {replace(lines, 2, `"inclusion":["`, `"inclusion":["00`), vigil.BreakModified},
	} {
		rep, err := ledger.VerifyExport(strings.NewReader(strings.Join(c.lines, "\n")+"\n"), testVKey)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.Valid || !slices.ContainsFunc(rep.Breaks, func(b vigil.Break) bool { return b.Type == c.want }) {
			t.Errorf("%s: %+v, want a %s break", name, rep, c.want)
		}
	}
	// Another key did not sign it.
	_, other, _ := ledger.GenerateKey("test.vigil")
	if rep, err := ledger.VerifyExport(bytes.NewReader(b), other); err != nil || rep.Valid || rep.Breaks[0].Type != vigil.BreakSignatureInvalid {
		t.Errorf("another key: %v %+v", err, rep)
	}
	if _, err := ledger.VerifyExport(strings.NewReader("hello\n"), testVKey); err == nil {
		t.Error("a file that is not an export verified")
	}
}

func replace(lines []string, i int, old, new string) []string {
	out := slices.Clone(lines)
	out[i] = strings.Replace(out[i], old, new, 1)
	return out
}

func swap(lines []string, i, j int) []string {
	out := slices.Clone(lines)
	out[i], out[j] = out[j], out[i]
	return out
}
