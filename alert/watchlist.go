package alert

import (
	"context"
	"fmt"
	"strconv"

	"github.com/vigilhq/vigil"
)

// Watchlist fires on any event touching a listed patient or made by a
// listed actor: VIPs, employees who are also patients, accounts under
// investigation. Conditions:
//
//	{"patients": ["pat_7f3a9c2d"],   at least one of patients and actors
//	 "actors": ["dr_m4k8p2"],
//	 "action_pattern": "*"}          optional, default every action
//
// Patients are matched against the event's patient_id, the surrogate id
// of the patient whose data was touched; repeated ids are kept once. Each
// list holds at most 10000 ids.
//
// The subject is the patient when a listed patient was touched (so one
// notification per period covers a VIP whoever looks), otherwise the actor.
type Watchlist struct {
	Patients      []string `json:"patients,omitempty"`
	Actors        []string `json:"actors,omitempty"`
	ActionPattern string   `json:"action_pattern"`

	pattern  Pattern
	patients map[string]bool
	actors   map[string]bool
}

func parseWatchlist(f *fields) Conditions {
	c := &Watchlist{pattern: f.pattern("action_pattern", false)}
	c.ActionPattern = c.pattern.String()
	var np, na int
	problems := len(f.details)
	c.Patients, c.patients, np = idSet(f, "patients")
	c.Actors, c.actors, na = idSet(f, "actors")
	if np+na == 0 && len(f.details) == problems { // a mistyped list already said so
		f.add("conditions.patients", "patients or actors must list at least one id")
	}
	return c
}

// idSet decodes a list of ids, keeping the first of repeats; n is the
// length of the list as written.
func idSet(f *fields, name string) (ids []string, set map[string]bool, n int) {
	list, _ := f.strings(name, false)
	set = map[string]bool{}
	for i, id := range list {
		if !f.id("conditions."+name+"["+strconv.Itoa(i)+"]", id) || set[id] {
			continue
		}
		set[id] = true
		ids = append(ids, id)
	}
	return ids, set, len(list)
}

// Type returns vigil.RuleWatchlist.
func (c *Watchlist) Type() string { return vigil.RuleWatchlist }

func (c *Watchlist) evaluate(_ context.Context, e *vigil.Event, _ History) (finding, bool, error) {
	patient := e.PatientID != "" && c.patients[e.PatientID]
	actor := c.actors[e.ActorID]
	if !patient && !actor || !c.pattern.Match(e.Action) {
		return finding{}, false, nil
	}
	switch {
	case patient && actor:
		return finding{subject: e.PatientID, reason: fmt.Sprintf(
			"Watched actor %s performed %s on watched patient %s.", e.ActorID, e.Action, e.PatientID)}, true, nil
	case patient:
		return finding{subject: e.PatientID, reason: fmt.Sprintf(
			"Watched patient %s: actor %s performed %s.", e.PatientID, e.ActorID, e.Action)}, true, nil
	}
	reason := fmt.Sprintf("Watched actor %s performed %s", e.ActorID, e.Action)
	if e.PatientID != "" {
		reason += " on patient " + e.PatientID
	}
	return finding{subject: e.ActorID, reason: reason + "."}, true, nil
}
