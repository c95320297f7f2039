package alert_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// TestHighVolumeThreshold: "more than N": the Nth distinct patient does
// not fire, the N+1th does, once.
func TestHighVolumeThreshold(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleHighVolume, `{"threshold":3,"window":"1h"}`))
	for _, p := range []string{"p1", "p2", "p3", "p3", "p1"} {
		none(t, s.send(vigil.Event{ActorID: "a", PatientID: p}))
	}
	none(t, s.send(vigil.Event{ActorID: "b", PatientID: "p4"})) // another actor
	none(t, s.send(vigil.Event{ActorID: "a"}))                  // no patient: neither counts nor fires
	a := one(t, s.send(vigil.Event{ActorID: "a", PatientID: "p4", SessionID: "s"}))
	if a.Subject != "a" || a.Sequence != 7 {
		t.Errorf("alert = %+v", a)
	}
	for _, want := range []string{"Actor a", "4 distinct patients", "1h", "threshold of 3"} {
		if !strings.Contains(a.Reason, want) {
			t.Errorf("reason %q lacks %q", a.Reason, want)
		}
	}
	// Above the threshold already: no alert per further patient.
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p5"}))
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p6"}))
}

// TestHighVolumeWindow checks that the window ends at the event and
// includes its first instant, and that once the window has emptied a new
// crossing fires again.
func TestHighVolumeWindow(t *testing.T) {
	r := rule(t, vigil.RuleHighVolume, `{"threshold":2,"window":"10m"}`)
	s := newStream(t, r)
	s.step = 5 * time.Minute
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p1"})) // 0m
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p2"})) // 5m
	one(t, s.send(vigil.Event{ActorID: "a", PatientID: "p3"}))  // 10m: p1 at 0m is on the window's edge and counts
	s.now = s.now.Add(time.Hour)
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p4"}))
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p5"}))
	one(t, s.send(vigil.Event{ActorID: "a", PatientID: "p6"}))

	s = newStream(t, r)
	s.step = 5*time.Minute + time.Nanosecond
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p1"}))
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p2"}))
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p3"})) // p1 is a nanosecond too old
}

// TestHighVolumeSessionRecords is seed 004's "many records in one session".
func TestHighVolumeSessionRecords(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleHighVolume,
		`{"by":"session","count":"records","threshold":2,"window":"1h","action_pattern":"patient_record.*"}`))
	rec := func(session, typ, id string) vigil.Event {
		return vigil.Event{ActorID: "a", SessionID: session, Action: "patient_record.viewed", Resource: typ, ResourceID: id}
	}
	none(t, s.send(rec("s1", "patient_record", "r1")))
	none(t, s.send(rec("s1", "patient_record", "r1")))
	none(t, s.send(rec("s2", "patient_record", "r2")))                                                  // another session
	none(t, s.send(rec("", "patient_record", "r3")))                                                    // no session
	none(t, s.send(vigil.Event{ActorID: "a", SessionID: "s1", Action: "user.login", ResourceID: "r9"})) // pattern
	none(t, s.send(rec("s1", "lab", "r1")))                                                             // same id, other type: 2 records
	a := one(t, s.send(rec("s1", "patient_record", "r4")))
	if a.Subject != "s1" || !strings.Contains(a.Reason, "Session s1 (actor a)") || !strings.Contains(a.Reason, "3 distinct records matching patient_record.*") {
		t.Errorf("alert = %+v", a)
	}
}

func TestHighVolumeEvents(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleHighVolume, `{"count":"events","threshold":3,"window":"1m"}`))
	for range 3 {
		none(t, s.send(vigil.Event{ActorID: "a"}))
	}
	one(t, s.send(vigil.Event{ActorID: "a"}))
	none(t, s.send(vigil.Event{ActorID: "a"}))
}

func TestHighVolumeDestructive(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleHighVolume, `{"destructive_patterns":["*.deleted","*.exported"]}`))
	none(t, s.send(vigil.Event{ActorID: "a", Action: "patient_record.viewed", PatientID: "p1"}))
	a := one(t, s.send(vigil.Event{ActorID: "dr_m4k8p2", Action: "patient_record.exported",
		Resource: "patient_record", ResourceID: "pat_7f3a9c2d", ResourceName: "Record #7f3a9c2d", PatientID: "pat_7f3a9c2d"}))
	want := "Actor dr_m4k8p2 performed destructive action patient_record.exported (matches *.exported) on patient_record pat_7f3a9c2d of patient pat_7f3a9c2d."
	if a.Reason != want || a.Subject != "dr_m4k8p2" {
		t.Errorf("alert = %+v\nreason %q\nwant   %q", a, a.Reason, want)
	}
	one(t, s.send(vigil.Event{ActorID: "a", Action: "prescription.deleted"})) // every destructive event fires
	one(t, s.send(vigil.Event{ActorID: "a", Action: "prescription.deleted"}))

	// Both parts in one rule.
	s = newStream(t, rule(t, vigil.RuleHighVolume, `{"threshold":1,"window":"1h","destructive_patterns":["*.deleted"]}`))
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p1"}))
	if a := one(t, s.send(vigil.Event{ActorID: "a", PatientID: "p2"})); !strings.Contains(a.Reason, "2 distinct patients") {
		t.Errorf("reason %q", a.Reason)
	}
	if a := one(t, s.send(vigil.Event{ActorID: "a", Action: "x.deleted", PatientID: "p3"})); !strings.Contains(a.Reason, "destructive") {
		t.Errorf("reason %q", a.Reason)
	}
}

// TestHighVolumeMany runs a larger stream: exactly one alert per crossing.
func TestHighVolumeMany(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleHighVolume, `{"threshold":50,"window":"1h"}`))
	var alerts []vigil.Alert
	for i := range 200 {
		alerts = append(alerts, s.send(vigil.Event{ActorID: "a", PatientID: fmt.Sprintf("p%d", i%120)})...)
	}
	if len(alerts) != 1 || alerts[0].Sequence != 50 {
		t.Fatalf("alerts = %+v, want one at sequence 50", alerts)
	}
}
