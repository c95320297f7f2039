package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/report"
	"github.com/vigilhq/vigil/sqlite"
)

var testKey, testVKey = func() (string, string) {
	s, v, err := ledger.GenerateKey("test.vigil")
	if err != nil {
		panic(err)
	}
	return s, v
}()

// now is the reports' request time in the seeded data set: Sunday
// 2026-03-08 12:00 UTC; the off-hours week is [Mar 1 12:00, Mar 8 12:00).
var now = time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func openDB(tb testing.TB, dir string) *embedded.Store {
	tb.Helper()
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), LogName: "test.vigil",
		SigningKey: testKey, WitnessPath: filepath.Join(dir, "ledger.witness")}})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.EnsureWorkspace(context.Background(), "default"); err != nil {
		tb.Fatal(err)
	}
	return db
}

// seeded is the data set every report test reads. Its answers are
// written out in each test.
func seeded(tb testing.TB) *embedded.Store {
	tb.Helper()
	db := openDB(tb, tb.TempDir())
	tb.Cleanup(func() { db.Close() })
	ev := func(actor, name, action, patient, session, tenant, when string, mod ...func(*vigil.Event)) vigil.Event {
		e := vigil.Event{ActorID: actor, ActorName: name, Action: action, Resource: "patient_record", ResourceID: "rec_" + patient,
			PatientID: patient, SessionID: session, TenantID: tenant, OccurredAt: at(when), PurposeOfUse: "TREAT"}
		for _, m := range mod {
			m(&e)
		}
		return e
	}
	failed := func(e *vigil.Event) { e.Outcome = vigil.OutcomeFailure }
	events := []vigil.Event{
		ev("dr_a", "Dr. A", "patient_record.viewed", "pt_1", "s1", "t1", "2026-03-02T10:00:00Z"),
		ev("dr_a", "Dr. A", "patient_record.viewed", "pt_2", "s1", "t1", "2026-03-02T10:05:00Z"),
		ev("dr_a", "Dr. A", "patient_record.updated", "pt_1", "s1", "t1", "2026-03-02T10:10:00Z", failed),
		ev("dr_b", "Dr. B", "patient_record.viewed", "pt_1", "s2", "t1", "2026-03-02T23:30:00Z"),
		ev("nurse_c", "Nurse C", "patient_record.viewed", "pt_3", "s3", "t2", "2026-03-03T12:00:00Z"),
		ev("dr_b", "Dr. B", "record.disclosed", "pt_1", "s2", "t1", "2026-03-03T14:00:00Z", func(e *vigil.Event) {
			e.ActionCategory, e.PurposeOfUse = "disclosure", "HPAYMT"
			e.Targets = []vigil.Target{{Type: "organization", ID: "org_9", Name: "Acme Insurance"}}
		}),
		{ActorID: "key_x", ActorType: "api_key", Action: "vigil.events.query", Resource: "audit_log", OccurredAt: at("2026-03-02T11:00:00Z")},
		ev("dr_a", "Dr. A", "patient_record.viewed", "pt_1", "s4", "t1", "2026-03-07T10:00:00Z"),
		ev("dr_old", "Dr. Old", "record.disclosed", "pt_1", "s0", "t1", "2019-03-01T09:00:00Z", func(e *vigil.Event) {
			e.Metadata = json.RawMessage(`{"recipient":"State Registry"}`)
			e.PurposeOfUse = "PUBHLTH"
		}),
		ev("dr_old", "Dr. Old", "record.disclosed", "pt_1", "s0", "t1", "2021-05-01T09:00:00Z", func(e *vigil.Event) {
			e.Metadata = json.RawMessage(`{"recipient":"Court (subpoena)"}`)
			e.PurposeOfUse = ""
		}),
		// Off-hours edges (UTC, 20:00-06:00, weekends closed).
		ev("dr_night", "Dr. Night", "patient_record.viewed", "pt_2", "s5", "t1", "2026-03-02T19:59:59.999999999Z"),
		ev("dr_night", "Dr. Night", "patient_record.viewed", "pt_2", "s5", "t1", "2026-03-02T20:00:00Z"),
		ev("dr_night", "Dr. Night", "patient_record.viewed", "pt_2", "s5", "t1", "2026-03-03T05:59:59Z"),
		ev("dr_night", "Dr. Night", "patient_record.viewed", "pt_2", "s5", "t1", "2026-03-03T06:00:00Z"),
		ev("dr_night", "Dr. Night", "patient_record.viewed", "pt_2", "s5", "t1", "2026-03-01T11:00:00Z"), // a Sunday, but before the week
		ev("dr_night", "Dr. Night", "patient_record.viewed", "pt_2", "s5", "t1", "2026-03-08T12:00:00Z"), // the week's end: excluded
		// Hostile values, for the CSV.
		ev("=cmd|' /C calc'!A0", "+SUM(A1:A9)", "patient_record.viewed", "pt_4", "s6", "t1", "2026-03-04T09:00:00Z", func(e *vigil.Event) {
			e.ResourceName = "@evil"
			e.UserAgent = "-2+3"
			e.Source = "=1+1" // a tab, the other trigger, can no longer be stored in a name
		}),
	}
	if _, err := db.Append(context.Background(), "default", events); err != nil {
		tb.Fatal(err)
	}
	waitCheckpoint(tb, db, int64(len(events)))
	return db
}

// waitCheckpoint waits for the writer to sign a checkpoint of size n: it
// signs after the commit's answers went out.
func waitCheckpoint(tb testing.TB, db *embedded.Store, n int64) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := db.Checkpoint(context.Background(), "default", -1)
		if err == nil && cp.Size >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no checkpoint of size %d: %v %+v", n, err, cp)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type result struct {
	Report struct {
		Type       string          `json:"type"`
		Params     json.RawMessage `json:"params"`
		Checkpoint struct {
			TreeSize int64  `json:"tree_size"`
			RootHash string `json:"root_hash"`
			Note     string `json:"note"`
		} `json:"checkpoint"`
		TenantScope *string `json:"tenant_scope"`
	} `json:"report"`
	Columns  []string         `json:"columns"`
	Rows     []map[string]any `json:"rows"`
	RowCount int64            `json:"row_count"`
}

// run computes a report of the seeded store in a format and returns the
// file's bytes.
func run(tb testing.TB, db *embedded.Store, typ, params, format, tenant string) ([]byte, error) {
	tb.Helper()
	job := vigil.Report{Workspace: "default", TenantScope: tenant, CreatedBy: "test", Kind: vigil.KindReport, Type: typ,
		Params: json.RawMessage(params), Format: format}
	if err := report.Prepare(context.Background(), &job, now, nil); err != nil {
		return nil, err
	}
	cp, err := report.Latest(context.Background(), db, "default")
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := report.Generate(context.Background(), db, job, cp, testVKey, &b, now); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func reportPrepare(job *vigil.Report, src report.OffHoursSource) error {
	return report.Prepare(context.Background(), job, now, src)
}

func generateJSON(tb testing.TB, db *embedded.Store, job vigil.Report) result {
	tb.Helper()
	cp, err := report.Latest(context.Background(), db, job.Workspace)
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := report.Generate(context.Background(), db, job, cp, testVKey, &b, now); err != nil {
		tb.Fatal(err)
	}
	var r result
	if err := json.Unmarshal(b.Bytes(), &r); err != nil {
		tb.Fatal(err)
	}
	return r
}

func runJSON(tb testing.TB, db *embedded.Store, typ, params, tenant string) result {
	tb.Helper()
	b, err := run(tb, db, typ, params, "json", tenant)
	if err != nil {
		tb.Fatal(err)
	}
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		tb.Fatalf("%v: %s", err, b)
	}
	if r.RowCount != int64(len(r.Rows)) {
		tb.Fatalf("row_count %d, %d rows", r.RowCount, len(r.Rows))
	}
	return r
}

// column returns one column of a report's rows, as text.
func column(r result, name string) []string {
	out := []string{}
	for _, row := range r.Rows {
		switch v := row[name].(type) {
		case nil:
			out = append(out, "")
		case string:
			out = append(out, v)
		case float64:
			b, _ := json.Marshal(v)
			out = append(out, string(b))
		}
	}
	return out
}

func timeMinute(i int) time.Duration { return time.Duration(i) * time.Minute }
