package fhir

import (
	"strings"
	"time"

	"github.com/vigilhq/vigil"
)

// ActionCode is the FHIR action (C, R, U, D, E) of a Vigil action: its
// last dot-separated word, read as a verb ("patient.read" is R,
// "record.deleted" is D); anything else is E (execute).
func ActionCode(action string) string {
	verb := strings.ToLower(action[strings.LastIndexByte(action, '.')+1:])
	switch verb {
	case "create", "created", "add", "added", "insert", "inserted", "new", "register", "registered":
		return "C"
	case "read", "vread", "view", "viewed", "access", "accessed", "get", "list", "listed", "query",
		"queried", "search", "searched", "export", "exported", "print", "printed", "download",
		"downloaded", "open", "opened", "history":
		return "R"
	case "update", "updated", "edit", "edited", "modify", "modified", "patch", "patched", "change",
		"changed", "write", "written", "merge", "merged":
		return "U"
	case "delete", "deleted", "remove", "removed", "purge", "purged", "erase", "erased":
		return "D"
	}
	return "E"
}

// interaction is the BALP RESTful-interaction subtype of a Vigil action.
func interaction(action string) string {
	verb := strings.ToLower(action[strings.LastIndexByte(action, '.')+1:])
	switch verb {
	case "list", "listed", "query", "queried", "search", "searched":
		return "search"
	case "vread", "history":
		return verb
	case "patch", "patched":
		return "patch"
	}
	switch ActionCode(action) {
	case "C":
		return "create"
	case "R":
		return "read"
	case "U":
		return "update"
	case "D":
		return "delete"
	}
	return ""
}

// OutcomeCode is the FHIR outcome code of a Vigil outcome.
func OutcomeCode(o vigil.Outcome) string {
	for code, v := range outcomeCodes {
		if v == o {
			return code
		}
	}
	return "0"
}

// balpView builds the AuditEvent of an event recorded through Vigil's own
// API, following the IHE BALP RESTful-interaction patterns: type rest,
// the interaction as subtype (and Vigil's own action beside it), the actor
// as the requesting agent, the patient as an entity with role Patient,
// the resource as a domain-resource entity.
func balpView(e vigil.Event) AuditEvent {
	yes := true
	a := AuditEvent{
		ResourceType: "AuditEvent",
		Type:         &Coding{System: SystemEventType, Code: "rest", Display: "Restful Operation"},
		Action:       ActionCode(e.Action),
		Recorded:     e.OccurredAt.UTC().Format(time.RFC3339Nano),
		Outcome:      OutcomeCode(e.Outcome),
	}
	if e.PatientID != "" {
		a.Meta = &Meta{Profile: []string{ProfileBALPPatientRead}}
		if p := balpProfile(a.Action); p != "" {
			a.Meta.Profile = []string{p}
		}
	}
	if it := interaction(e.Action); it != "" {
		a.Subtype = append(a.Subtype, Coding{System: SystemInteraction, Code: it, Display: it})
	}
	a.Subtype = append(a.Subtype, Coding{System: SystemVigilAction, Code: e.Action})
	if e.PurposeOfUse != "" {
		a.PurposeOfEvent = []CodeableConcept{{Coding: []Coding{{System: SystemActReason, Code: e.PurposeOfUse}}}}
	}
	agent := Agent{
		Type:      &CodeableConcept{Coding: []Coding{{System: SystemParticipation, Code: "IRCP", Display: "information recipient"}}},
		Who:       &Reference{Identifier: &Identifier{Value: e.ActorID}},
		Name:      e.ActorName,
		Requestor: &yes,
	}
	if e.ActorType != "" {
		agent.Role = []CodeableConcept{{Coding: []Coding{{System: SystemVigilActorType, Code: e.ActorType}}}}
	}
	if e.IPAddress != "" {
		agent.Network = &Network{Address: e.IPAddress, Type: "2"}
	}
	a.Agent = []Agent{agent}
	source := e.Source
	if source == "" {
		source = "Vigil"
	}
	a.Source = &Source{Observer: &Reference{Display: source}}
	if e.PatientID != "" {
		a.Entity = append(a.Entity, Entity{
			What: &Reference{Reference: "Patient/" + e.PatientID},
			Type: &Coding{System: SystemEntityType, Code: "1", Display: "Person"},
			Role: &Coding{System: SystemObjectRole, Code: "1", Display: "Patient"},
		})
	}
	if e.Resource != "" || e.ResourceID != "" {
		if e.Resource == "Patient" && e.ResourceID == e.PatientID {
			if e.ResourceName != "" {
				a.Entity[0].Name = e.ResourceName
			}
		} else {
			a.Entity = append(a.Entity, dataEntity(e.Resource, e.ResourceID, e.ResourceName))
		}
	}
	for _, t := range e.Targets {
		a.Entity = append(a.Entity, dataEntity(t.Type, t.ID, t.Name))
	}
	return a
}

func dataEntity(typ, id, name string) Entity {
	en := Entity{
		Type: &Coding{System: SystemEntityType, Code: "2", Display: "System Object"},
		Role: &Coding{System: SystemObjectRole, Code: "4", Display: "Domain Resource"},
		Name: name,
	}
	switch {
	case typ != "" && id != "":
		en.What = &Reference{Reference: typ + "/" + id}
	case id != "":
		en.What = &Reference{Identifier: &Identifier{Value: id}}
	default:
		en.What = &Reference{Type: typ}
	}
	return en
}

// balpProfile is the BALP profile of a patient-related interaction.
func balpProfile(action string) string {
	name := map[string]string{"C": "PatientCreate", "R": "PatientRead", "U": "PatientUpdate", "D": "PatientDelete"}[action]
	if name == "" {
		return ""
	}
	return "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit." + name
}
