package alert_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

func TestNewCountryFirstSeenDoesNotAlert(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleNewCountry, `{}`))
	none(t, s.send(vigil.Event{ActorID: "a", IPCountry: "US"})) // the baseline
	none(t, s.send(vigil.Event{ActorID: "a", IPCountry: "US"}))
	none(t, s.send(vigil.Event{ActorID: "b", IPCountry: "FR"})) // another actor's first country
	a := one(t, s.send(vigil.Event{ActorID: "a", IPCountry: "CA", Action: "patient_record.viewed"}))
	if a.Subject != "a" || a.ActorID != "a" || a.RuleType != vigil.RuleNewCountry {
		t.Errorf("alert = %+v", a)
	}
	for _, want := range []string{"country CA", "not seen", "90d", "seen: US"} {
		if !strings.Contains(a.Reason, want) {
			t.Errorf("reason %q lacks %q", a.Reason, want)
		}
	}
	none(t, s.send(vigil.Event{ActorID: "a", IPCountry: "CA"})) // familiar now
	none(t, s.send(vigil.Event{ActorID: "b", IPCountry: "FR"}))
	one(t, s.send(vigil.Event{ActorID: "b", IPCountry: "US"})) // a's countries are not b's
}

func TestNewCountryAlertOnFirst(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleNewCountry, `{"alert_on_first":true}`))
	a := one(t, s.send(vigil.Event{ActorID: "a", IPCountry: "US"}))
	if !strings.Contains(a.Reason, "no located event") {
		t.Errorf("reason %q", a.Reason)
	}
	none(t, s.send(vigil.Event{ActorID: "a", IPCountry: "US"}))
	one(t, s.send(vigil.Event{ActorID: "a", IPCountry: "MX"}))
}

// TestNewCountryLookback checks that countries older than the lookback
// are forgotten, and that the lookback's first instant still counts.
func TestNewCountryLookback(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleNewCountry, `{"lookback":"7d"}`))
	start := s.now
	none(t, s.send(vigil.Event{ActorID: "a", IPCountry: "US"})) // at start
	s.now = start.Add(24 * time.Hour)
	none(t, s.send(vigil.Event{ActorID: "a", IPCountry: "US"})) // day 1
	s.now = start.Add(2 * 24 * time.Hour)
	one(t, s.send(vigil.Event{ActorID: "a", IPCountry: "CA"})) // day 2
	// Day 8, exactly a week after day 1: US is still inside the lookback.
	s.now = start.Add(8 * 24 * time.Hour)
	none(t, s.send(vigil.Event{ActorID: "a", IPCountry: "US"}))
	s.now = start.Add(14 * 24 * time.Hour)
	none(t, s.send(vigil.Event{ActorID: "a", IPCountry: "US"})) // day 14: US of day 8 is familiar
	// Day 16: US of day 14 is within the week; CA of day 2 is not.
	s.now = start.Add(16 * 24 * time.Hour)
	one(t, s.send(vigil.Event{ActorID: "a", IPCountry: "CA"}))
	// Day 40: nothing within the week, so no baseline and no alert.
	s.now = start.Add(40 * 24 * time.Hour)
	none(t, s.send(vigil.Event{ActorID: "a", IPCountry: "JP"}))
}

// TestNewCountryPattern checks seed 000's rule: a login from abroad does
// not make the country familiar for record access.
func TestNewCountryPattern(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleNewCountry, `{"action_pattern":"*.accessed"}`))
	none(t, s.send(vigil.Event{ActorID: "nurse_j7k3m1", Action: "lab_results.accessed", IPCountry: "US"}))
	none(t, s.send(vigil.Event{ActorID: "nurse_j7k3m1", Action: "user.login", IPCountry: "RU"}))
	a := one(t, s.send(vigil.Event{ActorID: "nurse_j7k3m1", Action: "lab_results.accessed", IPCountry: "RU"}))
	if a.EventAction != "lab_results.accessed" {
		t.Errorf("alert = %+v", a)
	}
}

// TestNewCountryAddressFamily checks that IPv6-sourced events count like
// IPv4 ones (the country is what matters) and that events without a
// country neither fire nor become the baseline.
func TestNewCountryAddressFamily(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleNewCountry, `{}`))
	none(t, s.send(vigil.Event{ActorID: "a", IPAddress: "10.0.0.7"})) // private: no country
	none(t, s.send(vigil.Event{ActorID: "a", IPAddress: "fd00::7"}))  // private IPv6: no country
	none(t, s.send(vigil.Event{ActorID: "a", IPAddress: "203.0.113.7", IPCountry: "US"}))
	none(t, s.send(vigil.Event{ActorID: "a", IPAddress: "2001:db8::7", IPCountry: "US"})) // same country over IPv6
	one(t, s.send(vigil.Event{ActorID: "a", IPAddress: "2001:db8:1::9", IPCountry: "DE"}))
	none(t, s.send(vigil.Event{ActorID: "a", IPAddress: "198.51.100.9", IPCountry: "DE"}))
	none(t, s.send(vigil.Event{ActorID: "a", IPAddress: "::1"}))
}
