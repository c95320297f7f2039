package report_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/report"
)

func wantColumn(t *testing.T, r result, name string, want ...string) {
	t.Helper()
	if got := column(r, name); !slices.Equal(got, want) {
		t.Errorf("%s: %q, want %q", name, got, want)
	}
}

func TestAccessByInterval(t *testing.T) {
	db := seeded(t)
	r := runJSON(t, db, vigil.ReportAccessByInterval, `{"from":"2026-03-02","to":"2026-03-03"}`, "")
	// The system's own event (key_x, no patient) is not an access to PHI.
	wantColumn(t, r, "actor_id", "dr_a", "dr_b", "dr_night")
	wantColumn(t, r, "events", "3", "1", "2")
	wantColumn(t, r, "patients", "2", "1", "1")
	wantColumn(t, r, "failures", "1", "0", "0")
	wantColumn(t, r, "actions", "patient_record.updated; patient_record.viewed", "patient_record.viewed", "patient_record.viewed")
	wantColumn(t, r, "first_access", "2026-03-02T10:00:00Z", "2026-03-02T23:30:00Z", "2026-03-02T19:59:59.999999999Z")
	wantColumn(t, r, "last_access", "2026-03-02T10:10:00Z", "2026-03-02T23:30:00Z", "2026-03-02T20:00:00Z")
	if r.Report.Checkpoint.TreeSize != 17 || len(r.Report.Checkpoint.RootHash) != 64 || !strings.Contains(r.Report.Checkpoint.Note, "test.vigil/default") {
		t.Errorf("checkpoint %+v", r.Report.Checkpoint)
	}
	// A tenant-restricted report sees only its tenant.
	wantColumn(t, runJSON(t, db, vigil.ReportAccessByInterval, `{"from":"2026-03-02","to":"2026-03-03"}`, "t2"), "actor_id")
	wantColumn(t, runJSON(t, db, vigil.ReportAccessByInterval, `{"from":"2026-03-03","to":"2026-03-04"}`, "t2"), "actor_id", "nurse_c")
}

func TestPatientAccess(t *testing.T) {
	db := seeded(t)
	r := runJSON(t, db, vigil.ReportPatientAccess, `{"patient_id":"pt_1"}`, "")
	wantColumn(t, r, "actor_id", "dr_a", "dr_b", "dr_old")
	wantColumn(t, r, "accesses", "3", "2", "2")
	wantColumn(t, r, "failures", "1", "0", "0")
	wantColumn(t, r, "purposes", "TREAT", "HPAYMT; TREAT", "PUBHLTH")
	wantColumn(t, r, "first_access", "2026-03-02T10:00:00Z", "2026-03-02T23:30:00Z", "2019-03-01T09:00:00Z")
	wantColumn(t, r, "last_access", "2026-03-07T10:00:00Z", "2026-03-03T14:00:00Z", "2021-05-01T09:00:00Z")
	// A patient no one accessed: an empty report, not an error.
	none := runJSON(t, db, vigil.ReportPatientAccess, `{"patient_id":"pt_none"}`, "")
	if none.RowCount != 0 || none.Rows == nil {
		t.Errorf("pt_none: %+v", none)
	}
	// One record.
	wantColumn(t, runJSON(t, db, vigil.ReportPatientAccess, `{"resource":"patient_record","resource_id":"rec_pt_3"}`, ""), "actor_id", "nurse_c")
	wantColumn(t, runJSON(t, db, vigil.ReportPatientAccess, `{"patient_id":"pt_3"}`, "t1"), "actor_id")
}

func TestSession(t *testing.T) {
	r := runJSON(t, seeded(t), vigil.ReportSession, `{"session_id":"s1"}`, "")
	wantColumn(t, r, "action", "patient_record.viewed", "patient_record.viewed", "patient_record.updated")
	wantColumn(t, r, "patient_id", "pt_1", "pt_2", "pt_1")
	wantColumn(t, r, "sequence", "0", "1", "2")
	wantColumn(t, r, "outcome", "success", "success", "failure")
}

func TestOffHours(t *testing.T) {
	db := seeded(t)
	const window = `{"timezone":"UTC","start_hour":20,"end_hour":6,"days":["sat","sun"]}`
	r := runJSON(t, db, vigil.ReportOffHours, window, "")
	// In the week [Mar 1 12:00, Mar 8 12:00): 23:30 Monday, Saturday
	// 10:00 (a closed day), 20:00:00 (the window's first instant) and
	// 05:59:59 (its last second); not 19:59:59.999999999, not 06:00:00,
	// not Sunday Mar 1 11:00 (before the week) nor Mar 8 12:00 (its end).
	wantColumn(t, r, "actor_id", "dr_b", "dr_a", "dr_night", "dr_night")
	wantColumn(t, r, "occurred_at", "2026-03-02T23:30:00Z", "2026-03-07T10:00:00Z", "2026-03-02T20:00:00Z", "2026-03-03T05:59:59Z")
	wantColumn(t, r, "local_time", "Mon 2026-03-02 23:30 UTC", "Sat 2026-03-07 10:00 UTC", "Mon 2026-03-02 20:00 UTC", "Tue 2026-03-03 05:59 UTC")
	if rs := column(r, "reason"); !strings.Contains(rs[1], "closed day") || !strings.Contains(rs[0], "20:00-06:00") {
		t.Errorf("reasons %q", rs)
	}
	var p map[string]any
	json.Unmarshal(r.Report.Params, &p)
	if p["from"] != "2026-03-01T12:00:00Z" || p["to"] != "2026-03-08T12:00:00Z" || p["action_pattern"] != "*" {
		t.Errorf("normalised params %v", p)
	}
	// The action pattern narrows the report as it narrows the alert.
	wantColumn(t, runJSON(t, db, vigil.ReportOffHours, `{"timezone":"UTC","start_hour":20,"end_hour":6,"action_pattern":"record.*"}`, ""), "actor_id")
	// In New York (UTC-5 until DST starts on Mar 8), 23:30Z is 18:30 local
	// (on-hours) and 10:00Z is 05:00 (off-hours).
	ny := runJSON(t, db, vigil.ReportOffHours, `{"timezone":"America/New_York","start_hour":20,"end_hour":6}`, "")
	wantColumn(t, ny, "occurred_at", "2026-03-02T10:00:00Z", "2026-03-02T10:05:00Z", "2026-03-02T10:10:00Z", "2026-03-07T10:00:00Z",
		"2026-03-03T05:59:59Z", "2026-03-03T06:00:00Z", "2026-03-04T09:00:00Z")

	// Without a window and without a configured rule: 422 naming the fields.
	_, err := run(t, db, vigil.ReportOffHours, `{}`, "json", "")
	if fs := fields(err); !slices.Equal(fs, []string{"params.timezone", "params.start_hour", "params.end_hour"}) {
		t.Errorf("no window: %v", err)
	}
	// Bad window: the alert rule's own checks, named as params.
	_, err = run(t, db, vigil.ReportOffHours, `{"timezone":"Mars/Olympus","start_hour":25,"end_hour":6}`, "json", "")
	if fs := fields(err); !slices.Contains(fs, "params.timezone") || !slices.Contains(fs, "params.start_hour") {
		t.Errorf("bad window: %v", err)
	}
}

func TestDisclosures(t *testing.T) {
	db := seeded(t)
	r := runJSON(t, db, vigil.ReportDisclosures, `{"patient_id":"pt_1"}`, "")
	// The default period is the six years before the request: 2019 is out.
	wantColumn(t, r, "date", "2021-05-01T09:00:00Z", "2026-03-03T14:00:00Z")
	wantColumn(t, r, "recipient", "Court (subpoena)", "Acme Insurance (org_9)")
	wantColumn(t, r, "purpose", "not recorded", "HPAYMT")
	wantColumn(t, r, "what", "patient_record rec_pt_1", "patient_record rec_pt_1")
	wantColumn(t, r, "disclosed_by", "dr_old", "dr_b")
	r = runJSON(t, db, vigil.ReportDisclosures, `{"patient_id":"pt_1","from":"2019-01-01","to":"2024-01-01"}`, "")
	wantColumn(t, r, "recipient", "State Registry", "Court (subpoena)")
	wantColumn(t, runJSON(t, db, vigil.ReportDisclosures, `{"patient_id":"pt_3"}`, ""), "date")
	_, err := run(t, db, vigil.ReportDisclosures, `{"patient_id":"pt_1","from":"2019-01-01","to":"2026-01-02"}`, "json", "")
	if fs := fields(err); !slices.Equal(fs, []string{"params.from"}) {
		t.Errorf("seven years: %v", err)
	}
}

func TestUserActivity(t *testing.T) {
	db := seeded(t)
	r := runJSON(t, db, vigil.ReportUserActivity, `{"actor_id":"dr_a","from":"2026-03-01","to":"2026-03-08"}`, "")
	wantColumn(t, r, "occurred_at", "2026-03-02T10:00:00Z", "2026-03-02T10:05:00Z", "2026-03-02T10:10:00Z", "2026-03-07T10:00:00Z")
	r = runJSON(t, db, vigil.ReportUserActivity, `{"actor_id":"dr_a","from":"2026-03-01","to":"2026-03-07"}`, "")
	wantColumn(t, r, "sequence", "0", "1", "2")
}

func fields(err error) []string {
	var out []string
	for _, d := range vigil.ErrorDetails(err) {
		out = append(out, d.Field)
	}
	return out
}

func TestParamsValidation(t *testing.T) {
	db := seeded(t)
	for _, c := range []struct {
		typ, params, format string
		want                []string
	}{
		{"", `{}`, "json", []string{"type"}},
		{"everything", `{}`, "json", []string{"type"}},
		{vigil.ReportSession, `{}`, "json", []string{"params.session_id"}},
		{vigil.ReportSession, `{"session_id":"s1"}`, "xml", []string{"format"}},
		{vigil.ReportSession, `{"session_id":"s1","patient_id":"x"}`, "json", []string{"params.patient_id"}},
		{vigil.ReportSession, `{"session_id":1}`, "json", []string{"params.session_id"}},
		{vigil.ReportSession, `[1]`, "json", []string{"params"}},
		{vigil.ReportAccessByInterval, `{"from":"2026-03-02","to":"2026-03-01"}`, "json", []string{"params.to"}},
		{vigil.ReportAccessByInterval, `{"from":"yesterday","to":"2026-03-01"}`, "json", []string{"params.from"}},
		{vigil.ReportAccessByInterval, `{"to":"2026-03-01"}`, "pdf", []string{"params.from"}},
		{vigil.ReportPatientAccess, `{}`, "json", []string{"params.patient_id"}},
		{vigil.ReportPatientAccess, `{"patient_id":"a","resource_id":"b"}`, "json", []string{"params.resource_id"}},
		{vigil.ReportUserActivity, `{"from":"2026-03-01","to":"2026-03-02"}`, "json", []string{"params.actor_id"}},
	} {
		_, err := run(t, db, c.typ, c.params, c.format, "")
		if vigil.ErrorCode(err) != vigil.EINVALID || !slices.Equal(fields(err), c.want) {
			t.Errorf("%s %s %s: %v, want fields %v", c.typ, c.params, c.format, err, c.want)
		}
	}
}

func TestOffHoursFromConfiguredRule(t *testing.T) {
	db := seeded(t)
	job := vigil.Report{Workspace: "default", Kind: vigil.KindReport, Type: vigil.ReportOffHours, Format: "json"}
	src := func(_ context.Context, ws string) (json.RawMessage, bool, error) {
		return json.RawMessage(`{"action_pattern":"patient_record.*","timezone":"UTC","start_hour":22,"end_hour":6}`), ws == "default", nil
	}
	if err := reportPrepare(&job, src); err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	json.Unmarshal(job.Params, &p)
	if p["start_hour"] != float64(22) || p["action_pattern"] != "patient_record.*" {
		t.Fatalf("params %s", job.Params)
	}
	r := generateJSON(t, db, job)
	wantColumn(t, r, "occurred_at", "2026-03-02T23:30:00Z", "2026-03-03T05:59:59Z")
}

// TestOffHoursFromStoredRule: with no window in the parameters, the report
// takes the workspace's enabled off_hours alert rule as stored.
func TestOffHoursFromStoredRule(t *testing.T) {
	db := seeded(t)
	src := report.RuleOffHours(db)
	job := vigil.Report{Workspace: "default", Kind: vigil.KindReport, Type: vigil.ReportOffHours, Format: "json"}
	if err := reportPrepare(&job, src); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("without a rule: %v, want EINVALID", err)
	}
	ctx := context.Background()
	disabled, err := db.CreateRule(ctx, vigil.AlertRule{Workspace: "default", Name: "disabled", Type: vigil.RuleOffHours,
		Conditions: json.RawMessage(`{"action_pattern":"*","timezone":"UTC","start_hour":1,"end_hour":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	if disabled.Enabled {
		disabled.Enabled = false
		if _, err := db.UpdateRule(ctx, disabled); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateRule(ctx, vigil.AlertRule{Workspace: "default", Name: "night", Type: vigil.RuleOffHours, Enabled: true,
		Conditions: json.RawMessage(`{"action_pattern":"patient_record.*","timezone":"UTC","start_hour":22,"end_hour":6}`)}); err != nil {
		t.Fatal(err)
	}
	job = vigil.Report{Workspace: "default", Kind: vigil.KindReport, Type: vigil.ReportOffHours, Format: "json"}
	if err := reportPrepare(&job, src); err != nil {
		t.Fatal(err)
	}
	r := generateJSON(t, db, job)
	wantColumn(t, r, "occurred_at", "2026-03-02T23:30:00Z", "2026-03-03T05:59:59Z")
}
