package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
)

// NewCountry fires when an actor's event comes from a country (ip_country,
// set by geolocation at ingest) that none of the actor's events matching
// the same pattern came from within the lookback. Conditions:
//
//	{"action_pattern": "*.accessed",  optional, default every action
//	 "lookback": "90d",               optional, default 90d, 1h..3660d
//	 "alert_on_first": false}         optional
//
// The familiar countries are those of the actor's earlier events that
// match action_pattern: were they taken from all of the actor's events, a
// login from abroad (not matching "*.accessed") would make the country
// familiar before the first record is opened from it.
//
// An actor with no located event in the lookback has no familiar country
// to compare with: by default the first country seen only sets the
// baseline, as most products do (otherwise every new employee, and every
// actor after a long leave, raises an alert). With alert_on_first true,
// that first country alerts too.
//
// Events without a country (private or unknown addresses, geolocation
// off) neither fire nor count; the address family plays no part.
//
// The subject is the actor.
type NewCountry struct {
	ActionPattern string   `json:"action_pattern"`
	Lookback      Duration `json:"lookback"`
	AlertOnFirst  bool     `json:"alert_on_first"`

	pattern Pattern
}

// DefaultLookback is new_country's lookback when the rule names none.
const DefaultLookback = 90 * day

func parseNewCountry(f *fields) Conditions {
	c := &NewCountry{pattern: f.pattern("action_pattern", false), Lookback: DefaultLookback}
	c.ActionPattern = c.pattern.String()
	if d, ok := f.duration("lookback", false, Duration(time.Hour), 3660*day); ok {
		c.Lookback = d
	}
	c.AlertOnFirst = f.bool("alert_on_first")
	return c
}

// Type returns vigil.RuleNewCountry.
func (c *NewCountry) Type() string { return vigil.RuleNewCountry }

func (c *NewCountry) evaluate(ctx context.Context, e *vigil.Event, h History) (finding, bool, error) {
	if e.IPCountry == "" || !c.pattern.Match(e.Action) {
		return finding{}, false, nil
	}
	s := Scope{
		Workspace: e.Workspace,
		Action:    c.pattern.filter(),
		Since:     e.CreatedAt.Add(-time.Duration(c.Lookback)),
		Through:   e.Sequence - 1,
	}
	seen, err := h.Countries(ctx, s, e.ActorID)
	if err != nil {
		return finding{}, false, fmt.Errorf("alert: countries of actor: %w", err)
	}
	f, ok := c.judge(e, seen)
	return f, ok, nil
}

// judge decides on e given the actor's countries seen in the lookback.
func (c *NewCountry) judge(e *vigil.Event, seen []string) (finding, bool) {
	if slices.Contains(seen, e.IPCountry) {
		return finding{}, false
	}
	if len(seen) == 0 {
		if !c.AlertOnFirst {
			return finding{}, false
		}
		return finding{
			subject: e.ActorID,
			reason: fmt.Sprintf("Actor %s performed %s from country %s; no located event of this actor in the last %s.",
				e.ActorID, e.Action, e.IPCountry, c.Lookback),
		}, true
	}
	return finding{
		subject: e.ActorID,
		reason: fmt.Sprintf("Actor %s performed %s from country %s, not seen for this actor in the last %s (seen: %s).",
			e.ActorID, e.Action, e.IPCountry, c.Lookback, countryList(seen)),
	}, true
}

// countryList lists a few familiar countries for the reason, sorted so the
// sentence does not depend on the History's order.
func countryList(seen []string) string {
	const max = 10
	sorted := slices.Sorted(slices.Values(seen))
	if len(sorted) > max {
		return strings.Join(sorted[:max], ", ") + fmt.Sprintf(" and %d more", len(sorted)-max)
	}
	return strings.Join(sorted, ", ")
}
