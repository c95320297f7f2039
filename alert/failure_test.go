package alert_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// TestRepeatedFailureThreshold: "N failures": the N-1th does not fire,
// the Nth does, the N+1th does not.
func TestRepeatedFailureThreshold(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleRepeatedFailure, `{"threshold":3,"window":"10m"}`))
	none(t, s.send(vigil.Event{ActorID: "a", Outcome: vigil.OutcomeFailure}))
	none(t, s.send(vigil.Event{ActorID: "a", Outcome: vigil.OutcomeSuccess})) // successes do not reset
	none(t, s.send(vigil.Event{ActorID: "a"}))                                // absent outcome is success
	none(t, s.send(vigil.Event{ActorID: "b", Outcome: vigil.OutcomeFailure})) // another actor
	none(t, s.send(vigil.Event{ActorID: "a", Outcome: vigil.OutcomeMinorFailure}))
	a := one(t, s.send(vigil.Event{ActorID: "a", Action: "user.login", Outcome: vigil.OutcomeSeriousFailure}))
	if a.Subject != "a" || !strings.Contains(a.Reason, "3 failed actions within 10m") || !strings.Contains(a.Reason, "serious_failure") {
		t.Errorf("alert = %+v", a)
	}
	none(t, s.send(vigil.Event{ActorID: "a", Outcome: vigil.OutcomeFailure})) // the 4th
}

func TestRepeatedFailureWindowAndPattern(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleRepeatedFailure, `{"threshold":2,"window":"5m","action_pattern":"user.login"}`))
	none(t, s.send(vigil.Event{ActorID: "a", Action: "user.login", Outcome: vigil.OutcomeFailure}))
	none(t, s.send(vigil.Event{ActorID: "a", Action: "patient_record.viewed", Outcome: vigil.OutcomeFailure}))
	s.now = s.now.Add(5 * time.Minute) // the first failure leaves the window
	none(t, s.send(vigil.Event{ActorID: "a", Action: "user.login", Outcome: vigil.OutcomeFailure}))
	one(t, s.send(vigil.Event{ActorID: "a", Action: "user.login", Outcome: vigil.OutcomeFailure}))
}

func TestRepeatedFailureThresholdOne(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleRepeatedFailure, `{"threshold":1,"window":"1s"}`))
	s.step = 2 * time.Second
	none(t, s.send(vigil.Event{ActorID: "a"}))
	one(t, s.send(vigil.Event{ActorID: "a", Outcome: vigil.OutcomeFailure}))
	one(t, s.send(vigil.Event{ActorID: "a", Outcome: vigil.OutcomeFailure})) // the window holds one failure again
}
