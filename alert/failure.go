package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilhq/vigil"
)

// RepeatedFailure fires when an actor's failures reach a threshold within
// a window: brute force, probing, an account trying records it may not
// open. Conditions:
//
//	{"threshold": 5,               required, 1..1000000
//	 "window": "10m",              required, 1s..31d
//	 "action_pattern": "*.login"}  optional, default every action
//
// A failure is an event whose outcome is set and is not success
// (minor_failure, failure, serious_failure). The rule fires on the failure
// that brings the actor's failures matching action_pattern within the
// window ending at it to exactly threshold: with threshold 5 the 5th
// failure fires and the 4th does not ("N failures", as opposed to
// high_volume's "more than N"). Failures beyond it do not fire again while
// the window holds threshold or more; after the window has slid below, a
// new crossing fires. Successes do not reset the count.
//
// The subject is the actor.
type RepeatedFailure struct {
	Threshold     int      `json:"threshold"`
	Window        Duration `json:"window"`
	ActionPattern string   `json:"action_pattern"`

	pattern Pattern
}

func parseRepeatedFailure(f *fields) Conditions {
	c := &RepeatedFailure{pattern: f.pattern("action_pattern", false)}
	c.ActionPattern = c.pattern.String()
	c.Threshold = threshold(f, "threshold", true)
	c.Window, _ = f.duration("window", true, minWindow, maxWindow)
	return c
}

// Type returns vigil.RuleRepeatedFailure.
func (c *RepeatedFailure) Type() string { return vigil.RuleRepeatedFailure }

// failed reports whether an outcome is a failure; an absent outcome is
// success, the API's default.
func failed(o vigil.Outcome) bool { return o != "" && o != vigil.OutcomeSuccess }

func (c *RepeatedFailure) evaluate(ctx context.Context, e *vigil.Event, h History) (finding, bool, error) {
	if !failed(e.Outcome) || e.ActorID == "" || !c.pattern.Match(e.Action) {
		return finding{}, false, nil
	}
	s := Scope{
		Workspace: e.Workspace,
		Action:    c.pattern.filter(),
		Since:     e.CreatedAt.Add(-time.Duration(c.Window)),
		Through:   e.Sequence,
	}
	n, err := h.Failures(ctx, s, e.ActorID)
	if err != nil {
		return finding{}, false, fmt.Errorf("alert: failures: %w", err)
	}
	// This event is a failure inside the window, so the count before it
	// was n-1: it crossed the threshold exactly when n equals it.
	if n != c.Threshold {
		return finding{}, false, nil
	}
	return c.finding(e, n), true, nil
}

// finding is the alert of the failure e that brought the count to n.
func (c *RepeatedFailure) finding(e *vigil.Event, n int) finding {
	matching := ""
	if !c.pattern.all() {
		matching = " matching " + c.ActionPattern
	}
	return finding{
		subject: e.ActorID,
		reason: fmt.Sprintf("Actor %s had %d failed actions%s within %s (last: %s, outcome %s).",
			e.ActorID, n, matching, c.Window, e.Action, e.Outcome),
	}
}
