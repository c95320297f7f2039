package fhir

import (
	"strings"

	"github.com/vigilhq/vigil"
)

// Terms derives the search terms of an event from its AuditEvent view, so
// a search matches exactly what a reader of the view sees, whichever door
// the event came through. The store writes them with the event
// (sqlite.Config.Index).
func Terms(e vigil.Event) []vigil.Term {
	a := FromEvent(e)
	var ts []vigil.Term
	add := func(name, system, value string) {
		if value != "" || system != "" {
			ts = append(ts, vigil.Term{Name: name, System: system, Value: value})
		}
	}
	text := func(name, s string) {
		if s != "" {
			ts = append(ts, vigil.Term{Name: name, Value: strings.ToLower(s), Text: true})
		}
	}
	coding := func(name string, c *Coding) {
		if c != nil {
			add(name, c.System, c.Code)
		}
	}
	concept := func(name string, cc *CodeableConcept) {
		if cc != nil {
			for i := range cc.Coding {
				coding(name, &cc.Coding[i])
			}
		}
	}
	ref := func(name string, r *Reference, display bool) {
		if r == nil {
			return
		}
		if typ, id, ok := relativeRef(r.Reference); ok && !strings.Contains(r.Reference, "://") {
			add(name, typ, id)
		} else if r.Reference != "" {
			add(name, "", r.Reference)
		}
		if r.Identifier != nil {
			add(name, "", r.Identifier.Value)
		}
		if display && r.Reference == "" && r.Identifier == nil {
			add(name, "", r.Display)
		}
	}
	patient := func(r *Reference) {
		if r != nil {
			if typ, id, ok := relativeRef(r.Reference); ok && typ == "Patient" {
				add("patient", "Patient", id)
			}
		}
	}
	add("action", "", a.Action)
	add("outcome", "", a.Outcome)
	coding("type", a.Type)
	for i := range a.Subtype {
		coding("subtype", &a.Subtype[i])
	}
	for _, g := range a.Agent {
		ref("agent", g.Who, true)
		add("altid", "", g.AltID)
		text("agent-name", g.Name)
		for i := range g.Role {
			concept("agent-role", &g.Role[i])
		}
		if g.Network != nil {
			add("address", "", g.Network.Address)
		}
		for _, p := range g.Policy {
			add("policy", "", p)
		}
		patient(g.Who)
	}
	for _, en := range a.Entity {
		ref("entity", en.What, false)
		text("entity-name", en.Name)
		coding("entity-role", en.Role)
		coding("entity-type", en.Type)
		patient(en.What)
		if id := patientOf(en); id != "" && en.What.Reference == "" {
			// A patient entity named by identifier only.
			add("patient", "Patient", id)
		}
	}
	if a.Source != nil {
		add("site", "", a.Source.Site)
		ref("source", a.Source.Observer, true)
	}
	return ts
}
