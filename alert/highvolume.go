package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilhq/vigil"
)

// HighVolume fires when one actor or session touches too much within a
// window, and on destructive actions. Conditions:
//
//	{"by": "session",                    optional: "actor" (default) or "session"
//	 "count": "patients",                optional: "patients" (default), "records" or "events"
//	 "threshold": 50,                    1..1000000
//	 "window": "1h",                     1s..31d
//	 "action_pattern": "patient_record.*",            optional, default every action
//	 "destructive_patterns": ["*.deleted", "*.exported"]}  optional
//
// Volume: the rule fires on the event that takes the count of distinct
// patients (patient_id), distinct records (resource and resource_id) or
// events, among the events by the same actor (or in the same session)
// matching action_pattern within the window ending at that event, to more
// than threshold. With threshold 50 the 51st distinct patient fires and
// the 50th does not. It fires once per crossing: later events while the
// count stays above the threshold do not fire again, but once the window
// slides below it, a new crossing does.
//
// Destructive: an event matching any of destructive_patterns fires at
// once, whatever the volume, since a single export or deletion can carry
// any number of records that counting cannot see. A rule may hold both
// parts or either: threshold and window go together, and without
// destructive_patterns they are required.
//
// Events without the counted field (no session_id when by session, no
// patient_id when counting patients, no resource_id when counting records)
// neither fire nor count. The subject is the actor or session id.
type HighVolume struct {
	By                  By       `json:"by"`
	Count               Measure  `json:"count"`
	Threshold           int      `json:"threshold,omitempty"`
	Window              Duration `json:"window,omitempty"`
	ActionPattern       string   `json:"action_pattern"`
	DestructivePatterns []string `json:"destructive_patterns,omitempty"`

	pattern     Pattern
	destructive []Pattern
}

const maxThreshold = 1000000

// Bounds of windows: a second is the clock's useful resolution for bursts;
// a month keeps the History's range scans bounded.
const (
	minWindow = Duration(time.Second)
	maxWindow = 31 * day
)

func parseHighVolume(f *fields) Conditions {
	c := &HighVolume{By: ByActor, Count: Patients}
	if s, ok := f.string("by", false); ok {
		switch By(s) {
		case ByActor, BySession:
			c.By = By(s)
		default:
			f.add("conditions.by", "must be actor or session")
		}
	}
	if s, ok := f.string("count", false); ok {
		switch Measure(s) {
		case Patients, Records, Events:
			c.Count = Measure(s)
		default:
			f.add("conditions.count", "must be patients, records or events")
		}
	}
	c.pattern = f.pattern("action_pattern", false)
	c.ActionPattern = c.pattern.String()
	c.destructive = f.patterns("destructive_patterns", false)
	for _, p := range c.destructive {
		c.DestructivePatterns = append(c.DestructivePatterns, p.String())
	}

	if f.has("threshold") || f.has("window") || len(c.destructive) == 0 {
		c.Threshold = threshold(f, "threshold", true)
		c.Window, _ = f.duration("window", true, minWindow, maxWindow)
	}
	return c
}

// threshold decodes a count in 1..maxThreshold, 0 when missing or invalid.
func threshold(f *fields, name string, required bool) int {
	n, ok := f.int(name, required)
	if !ok {
		return 0
	}
	if n < 1 || n > maxThreshold {
		f.add("conditions."+name, fmt.Sprintf("must be between 1 and %d", maxThreshold))
		return 0
	}
	return n
}

// Type returns vigil.RuleHighVolume.
func (c *HighVolume) Type() string { return vigil.RuleHighVolume }

func (c *HighVolume) evaluate(ctx context.Context, e *vigil.Event, h History) (finding, bool, error) {
	key := c.keyOf(e)
	if key == "" {
		return finding{}, false, nil
	}
	for _, p := range c.destructive {
		if p.Match(e.Action) {
			return finding{subject: key, reason: c.destructiveReason(e, p)}, true, nil
		}
	}
	if c.Threshold == 0 || !c.pattern.Match(e.Action) || !counts(e, c.Count) {
		return finding{}, false, nil
	}
	s := Scope{
		Workspace: e.Workspace,
		Action:    c.pattern.filter(),
		Since:     e.CreatedAt.Add(-time.Duration(c.Window)),
		Through:   e.Sequence,
	}
	n, err := h.Volume(ctx, s, c.By, key, c.Count)
	if err != nil {
		return finding{}, false, fmt.Errorf("alert: volume: %w", err)
	}
	if n <= c.Threshold {
		return finding{}, false, nil
	}
	// Over the threshold: fire only if this event is what took it over.
	// Asked second because most events are under the threshold.
	s.Through = e.Sequence - 1
	before, err := h.Volume(ctx, s, c.By, key, c.Count)
	if err != nil {
		return finding{}, false, fmt.Errorf("alert: volume: %w", err)
	}
	if before > c.Threshold {
		return finding{}, false, nil
	}
	return finding{subject: key, reason: c.volumeReason(e, key, n)}, true, nil
}

// counts reports whether e carries what m counts.
func counts(e *vigil.Event, m Measure) bool {
	switch m {
	case Patients:
		return e.PatientID != ""
	case Records:
		return e.ResourceID != ""
	}
	return true
}

func (c *HighVolume) who(e *vigil.Event, key string) string {
	if c.By == BySession {
		return fmt.Sprintf("Session %s (actor %s)", key, e.ActorID)
	}
	return "Actor " + key
}

func (c *HighVolume) volumeReason(e *vigil.Event, key string, n int) string {
	what := map[Measure]string{Patients: "distinct patients", Records: "distinct records", Events: "events"}[c.Count]
	matching := ""
	if !c.pattern.all() {
		matching = " matching " + c.ActionPattern
	}
	return fmt.Sprintf("%s reached %d %s%s within %s, more than the threshold of %d (last action %s).",
		c.who(e, key), n, what, matching, c.Window, c.Threshold, e.Action)
}

func (c *HighVolume) destructiveReason(e *vigil.Event, p Pattern) string {
	s := fmt.Sprintf("%s performed destructive action %s (matches %s)", c.who(e, c.keyOf(e)), e.Action, p)
	if e.ResourceID != "" {
		s += fmt.Sprintf(" on %s %s", recordType(e.Resource), e.ResourceID)
	}
	if e.PatientID != "" {
		s += " of patient " + e.PatientID
	}
	return s + "."
}

func (c *HighVolume) keyOf(e *vigil.Event) string {
	if c.By == BySession {
		return e.SessionID
	}
	return e.ActorID
}

// recordType names the resource type, "record" when the event has none.
func recordType(s string) string {
	if s == "" {
		return "record"
	}
	return s
}
