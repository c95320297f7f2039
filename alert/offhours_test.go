package alert_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
	"github.com/vigilhq/vigil/alert/alerttest"
)

// seedOffHours is seed 000's off_hours example.
const seedOffHours = `{"action_pattern":"patient_record.*","timezone":"America/Los_Angeles","start_hour":20,"end_hour":6}`

// fires reports whether r raises an alert for an event that occurred at.
func fires(t *testing.T, r *alert.Rule, at time.Time) bool {
	t.Helper()
	return len(newStream(t, r).send(vigil.Event{ActorID: "dr_m4k8p2", OccurredAt: at})) > 0
}

func TestOffHoursWindowCrossingMidnight(t *testing.T) {
	r := rule(t, vigil.RuleOffHours, seedOffHours)
	wed := func(h, m int) time.Time { return time.Date(2026, 3, 4, h, m, 0, 0, la(t)) } // a Wednesday in PST
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{wed(12, 0), false},
		{wed(19, 59), false},
		{wed(20, 0), true},
		{wed(23, 59), true},
		{wed(0, 0), true},
		{wed(5, 59), true},
		{wed(6, 0), false},
	} {
		if got := fires(t, r, tt.at); got != tt.want {
			t.Errorf("at %s: fired = %v, want %v", tt.at, got, tt.want)
		}
	}
}

func TestOffHoursWindowWithinDay(t *testing.T) {
	r := rule(t, vigil.RuleOffHours, `{"action_pattern":"*","timezone":"UTC","start_hour":0,"end_hour":6}`)
	for h, want := range map[int]bool{23: false, 0: true, 5: true, 6: false, 12: false} {
		if got := fires(t, r, time.Date(2026, 5, 5, h, 30, 0, 0, time.UTC)); got != want {
			t.Errorf("at %02d:30 UTC: fired = %v, want %v", h, got, want)
		}
	}
}

// TestOffHoursDST checks instants around America/Los_Angeles's DST changes
// of 2026 (spring forward 8 March 02:00 PST, fall back 1 November 02:00
// PDT). Each case is chosen so that assuming the wrong offset (the one
// before or after the change) would give the other answer.
func TestOffHoursDST(t *testing.T) {
	utc := func(mon time.Month, d, h, m int) time.Time { return time.Date(2026, mon, d, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name, conditions string
		at               time.Time
		want             bool
	}{
		// Spring forward: 01:59:59 PST is followed by 03:00 PDT.
		{"spring 01:30 PST in 22-3", `{"start_hour":22,"end_hour":3}`, utc(3, 8, 9, 30), true},
		{"spring 03:00 PDT not in 22-3 (PST would say 02:00)", `{"start_hour":22,"end_hour":3}`, utc(3, 8, 10, 0), false},
		{"spring 07:30 PDT in 7-19 (PST would say 06:30)", `{"start_hour":7,"end_hour":19}`, utc(3, 8, 14, 30), true},
		{"spring 05:30 PDT in 20-6 (PST would say 04:30)", `{"start_hour":20,"end_hour":6}`, utc(3, 8, 12, 30), true},
		{"spring 06:00 PDT not in 20-6 (PST would say 05:00)", `{"start_hour":20,"end_hour":6}`, utc(3, 8, 13, 0), false},
		// Fall back: 01:00-01:59 happens twice, first PDT then PST.
		{"fall first 01:30 PDT in 1-2", `{"start_hour":1,"end_hour":2}`, utc(11, 1, 8, 30), true},
		{"fall second 01:30 PST in 1-2 (PDT would say 02:30)", `{"start_hour":1,"end_hour":2}`, utc(11, 1, 9, 30), true},
		{"fall 02:30 PST not in 1-2", `{"start_hour":1,"end_hour":2}`, utc(11, 1, 10, 30), false},
		{"fall 05:30 PST in 20-6 (PDT would say 06:30)", `{"start_hour":20,"end_hour":6}`, utc(11, 1, 13, 30), true},
		{"fall 06:00 PST not in 20-6 (PDT would say 07:00)", `{"start_hour":20,"end_hour":6}`, utc(11, 1, 14, 0), false},
		{"fall 19:30 PST not in 20-6 (PDT would say 20:30)", `{"start_hour":20,"end_hour":6}`, utc(11, 2, 3, 30), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conditions := `{"action_pattern":"*","timezone":"America/Los_Angeles",` + tt.conditions[1:]
			if got := fires(t, rule(t, vigil.RuleOffHours, conditions), tt.at); got != tt.want {
				t.Errorf("at %s (%s): fired = %v, want %v", tt.at, tt.at.In(la(t)), got, tt.want)
			}
		})
	}
}

func TestOffHoursDays(t *testing.T) {
	r := rule(t, vigil.RuleOffHours,
		`{"action_pattern":"*","timezone":"America/Los_Angeles","start_hour":20,"end_hour":6,"days":["sat","sun"]}`)
	at := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 30, 0, 0, la(t)) } // 6 March 2026 is a Friday
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"Friday noon", at(6, 12), false},
		{"Friday 23:30, the nightly window", at(6, 23), true},
		{"Saturday noon, a closed day", at(7, 12), true},
		{"Sunday 19:30, a closed day", at(8, 19), true},
		{"Monday 03:30, the nightly window", at(9, 3), true},
		{"Monday 10:30", at(9, 10), false},
		// Friday 17:30 PST is already Saturday in UTC: the local day counts.
		{"Friday 17:30 local (Saturday UTC)", at(6, 17), false},
		// Sunday 18:30 PDT is Monday in UTC: still a closed day locally.
		{"Sunday 18:30 local (Monday UTC)", at(8, 18), true},
	}
	for _, tt := range tests {
		if got := fires(t, r, tt.at); got != tt.want {
			t.Errorf("%s (%s): fired = %v, want %v", tt.name, tt.at.UTC(), got, tt.want)
		}
	}
}

func TestOffHoursAlert(t *testing.T) {
	r := rule(t, vigil.RuleOffHours, seedOffHours)
	s := newStream(t, r)
	// Created during the day, but the access happened at night: the
	// client's occurred_at is what opening hours are about.
	s.now = time.Date(2026, 3, 4, 9, 0, 0, 0, la(t))
	night := time.Date(2026, 3, 4, 2, 15, 0, 0, la(t))
	none(t, s.send(vigil.Event{ActorID: "dr_m4k8p2", Action: "user.login", OccurredAt: night})) // pattern does not match
	a := one(t, s.send(vigil.Event{
		ActorID: "dr_m4k8p2", ActorName: "Dr. Emily Nakamura", SessionID: "sess_e4a2c8f1", TenantID: "clinic_bayview_medical",
		Action: "patient_record.viewed", Resource: "patient_record", ResourceID: "pat_7f3a9c2d", ResourceName: "Record #7f3a9c2d",
		OccurredAt: night,
	}))
	want := vigil.Alert{
		Workspace: ws, RuleID: "rule-off_hours", RuleName: "Test off_hours", RuleType: vigil.RuleOffHours,
		Subject: "dr_m4k8p2", EventID: "evt-0001", EventAction: "patient_record.viewed", ActorID: "dr_m4k8p2",
		Sequence: 1, Status: vigil.AlertOpen, TenantID: "clinic_bayview_medical",
	}
	if a.TriggeredAt.IsZero() || a.ID != "" {
		t.Errorf("TriggeredAt = %v, ID = %q; want set and empty", a.TriggeredAt, a.ID)
	}
	reason := a.Reason
	a.TriggeredAt, a.Reason = time.Time{}, ""
	if a != want {
		t.Errorf("alert =\n%+v, want\n%+v", a, want)
	}
	for _, s := range []string{"dr_m4k8p2", "patient_record.viewed", "02:15 PST", "America/Los_Angeles", "20:00-06:00"} {
		if !strings.Contains(reason, s) {
			t.Errorf("reason %q lacks %q", reason, s)
		}
	}
	// Without occurred_at, created_at is judged.
	e := vigil.Event{Workspace: ws, Sequence: 7, ActorID: "dr_m4k8p2", Action: "patient_record.viewed", CreatedAt: night}
	if a, err := r.Evaluate(context.Background(), e, alerttest.NewMemory()); err != nil || a == nil {
		t.Errorf("Evaluate without occurred_at = %v, %v; want an alert", a, err)
	}
	e.CreatedAt = night.Add(8 * time.Hour)
	if a, err := r.Evaluate(context.Background(), e, alerttest.NewMemory()); err != nil || a != nil {
		t.Errorf("Evaluate without occurred_at by day = %v, %v; want none", a, err)
	}
}
