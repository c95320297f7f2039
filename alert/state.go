package alert

import (
	"context"
	"time"

	"github.com/vigilhq/vigil"
)

// ruleState is one rule and what it remembers of its workspace's recent
// events. Its steps give the answers Rule.Evaluate gives with a History
// over the same log: each event is judged against the events before it
// (and itself, where the History's scope includes it) within the rule's
// window on created_at, counting only the events the look-up would count.
type ruleState struct {
	rule *Rule
	subj *subjects // nil for the rules that need no history
	warm bool      // the state covers the log up to the workspace's position
}

func newRuleState(r *Rule, maxHeld int) *ruleState {
	rs := &ruleState{rule: r}
	switch c := r.cond.(type) {
	case *HighVolume:
		if c.Threshold > 0 {
			// Whether the count exceeds the threshold, and whether it did
			// before this event, need at most threshold+1 values.
			rs.subj = newSubjects(int64(c.Window), c.Count != Events, c.Threshold+1, maxHeld)
		}
	case *RepeatedFailure:
		// Whether the failures number exactly threshold needs at most
		// threshold of them.
		rs.subj = newSubjects(int64(c.Window), false, c.Threshold, maxHeld)
	case *NewCountry:
		rs.subj = newSubjects(int64(c.Lookback), true, 0, maxHeld)
	}
	return rs
}

// span is how far back the rule looks, zero for rules without history.
func (rs *ruleState) span() time.Duration {
	if rs.subj == nil {
		return 0
	}
	return time.Duration(rs.subj.span)
}

// reset forgets everything: the state must be rebuilt.
func (rs *ruleState) reset(maxHeld int) {
	*rs = *newRuleState(rs.rule, maxHeld)
}

// step takes e, the next event of the workspace, into the state and says
// whether it fires the rule.
func (rs *ruleState) step(e *vigil.Event) (finding, bool) {
	switch c := rs.rule.cond.(type) {
	case *HighVolume:
		return rs.highVolume(c, e)
	case *RepeatedFailure:
		return rs.failure(c, e)
	case *NewCountry:
		return rs.newCountry(c, e)
	}
	// off_hours and watchlist ask no History; tamper never fires here.
	f, ok, _ := evaluate(context.Background(), rs.rule.cond, e, nil)
	return f, ok
}

func (rs *ruleState) highVolume(c *HighVolume, e *vigil.Event) (finding, bool) {
	key := c.keyOf(e)
	if key == "" {
		return finding{}, false
	}
	var destructive *Pattern
	for i := range c.destructive {
		if c.destructive[i].Match(e.Action) {
			destructive = &c.destructive[i]
			break
		}
	}
	// A destructive event fires at once, but it still counts in the
	// volume of the events after it, as it does in the History.
	fired, n := false, 0
	if c.Threshold > 0 && c.pattern.Match(e.Action) && counts(e, c.Count) {
		at := e.CreatedAt.UnixNano()
		value := ""
		switch c.Count {
		case Patients:
			value = e.PatientID
		case Records:
			// As the store's key: char(0) occurs in neither part.
			value = e.Resource + "\x00" + e.ResourceID
		}
		rs.subj.observe(key, at-rs.subj.span, func(w *window) {
			before := w.size()
			fresh := c.Count == Events || !w.has(value)
			w.add(value, at)
			// Over the threshold now, and not before this event.
			fired, n = fresh && before == c.Threshold, before+1
		})
	}
	if destructive != nil {
		return finding{subject: key, reason: c.destructiveReason(e, *destructive)}, true
	}
	if !fired {
		return finding{}, false
	}
	return finding{subject: key, reason: c.volumeReason(e, key, n)}, true
}

func (rs *ruleState) failure(c *RepeatedFailure, e *vigil.Event) (finding, bool) {
	if !failed(e.Outcome) || e.ActorID == "" || !c.pattern.Match(e.Action) {
		return finding{}, false
	}
	at := e.CreatedAt.UnixNano()
	n := 0
	rs.subj.observe(e.ActorID, at-rs.subj.span, func(w *window) {
		n = w.size() + 1 // min(failures before, threshold), and this one
		w.add("", at)
	})
	if n != c.Threshold {
		return finding{}, false
	}
	return c.finding(e, n), true
}

func (rs *ruleState) newCountry(c *NewCountry, e *vigil.Event) (finding, bool) {
	if e.IPCountry == "" || !c.pattern.Match(e.Action) {
		return finding{}, false
	}
	at := e.CreatedAt.UnixNano()
	var seen []string
	known := false
	rs.subj.observe(e.ActorID, at-rs.subj.span, func(w *window) {
		if known = w.has(e.IPCountry); !known {
			seen = w.values()
		}
		w.add(e.IPCountry, at)
	})
	if known {
		return finding{}, false
	}
	return c.judge(e, seen)
}
