package alert_test

import (
	"testing"

	"github.com/vigilhq/vigil"
)

func TestWatchlist(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleWatchlist, `{"patients":["pat_vip"],"actors":["dr_watched"]}`))
	none(t, s.send(vigil.Event{ActorID: "dr_a", PatientID: "pat_other"}))
	none(t, s.send(vigil.Event{ActorID: "dr_a"}))

	a := one(t, s.send(vigil.Event{ActorID: "dr_a", PatientID: "pat_vip"}))
	if a.Subject != "pat_vip" || a.Reason != "Watched patient pat_vip: actor dr_a performed patient_record.viewed." {
		t.Errorf("alert = %+v", a)
	}
	a = one(t, s.send(vigil.Event{ActorID: "dr_watched", Action: "user.login"}))
	if a.Subject != "dr_watched" || a.Reason != "Watched actor dr_watched performed user.login." {
		t.Errorf("alert = %+v", a)
	}
	a = one(t, s.send(vigil.Event{ActorID: "dr_watched", PatientID: "pat_other"}))
	if a.Subject != "dr_watched" || a.Reason != "Watched actor dr_watched performed patient_record.viewed on patient pat_other." {
		t.Errorf("alert = %+v", a)
	}
	a = one(t, s.send(vigil.Event{ActorID: "dr_watched", PatientID: "pat_vip"}))
	if a.Subject != "pat_vip" {
		t.Errorf("alert = %+v", a)
	}
}

func TestWatchlistPattern(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleWatchlist, `{"patients":["p"],"action_pattern":"*.exported"}`))
	none(t, s.send(vigil.Event{ActorID: "a", PatientID: "p", Action: "patient_record.viewed"}))
	one(t, s.send(vigil.Event{ActorID: "a", PatientID: "p", Action: "patient_record.exported"}))
}
