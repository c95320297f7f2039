package fhir

import (
	"strconv"

	"github.com/vigilhq/vigil"
)

var (
	actionCodes  = map[string]string{"C": "create", "R": "read", "U": "update", "D": "delete", "E": "execute"}
	outcomeCodes = map[string]vigil.Outcome{"0": vigil.OutcomeSuccess, "4": vigil.OutcomeMinorFailure, "8": vigil.OutcomeFailure, "12": vigil.OutcomeSeriousFailure}
)

// validate checks what the JSON shape cannot: cardinalities, codes and
// formats of the R4 AuditEvent. It reports every problem by path.
func (a *AuditEvent) validate() []vigil.ErrorDetail {
	var ds []vigil.ErrorDetail
	bad := func(path, msg string) { ds = append(ds, vigil.ErrorDetail{Field: path, Message: msg}) }
	if a.ResourceType != "AuditEvent" {
		bad("AuditEvent.resourceType", "is required and must be AuditEvent")
	}
	if a.ModifierExtension != nil {
		bad("AuditEvent.modifierExtension", "is not understood by this server, so the resource cannot be accepted")
	}
	if a.Type == nil {
		bad("AuditEvent.type", "is required")
	} else if a.Type.Code == "" {
		bad("AuditEvent.type.code", "is required")
	}
	if a.Action != "" && actionCodes[a.Action] == "" {
		bad("AuditEvent.action", "must be one of C, R, U, D, E")
	}
	if a.Recorded == "" {
		bad("AuditEvent.recorded", "is required")
	} else if _, err := vigil.ParseTime(a.Recorded, vigil.TimeInstant); err != nil {
		bad("AuditEvent.recorded", err.Error())
	}
	if a.Outcome != "" && outcomeCodes[a.Outcome] == "" {
		bad("AuditEvent.outcome", "must be one of 0, 4, 8, 12")
	}
	if a.Period != nil {
		for _, p := range [...]struct{ name, v string }{{"start", a.Period.Start}, {"end", a.Period.End}} {
			if p.v == "" {
				continue
			}
			if _, err := vigil.ParseTime(p.v, vigil.TimeFHIRDateTime); err != nil {
				bad("AuditEvent.period."+p.name, err.Error())
			}
		}
	}
	if len(a.Agent) == 0 {
		bad("AuditEvent.agent", "is required: at least one agent")
	}
	for i, g := range a.Agent {
		p := "AuditEvent.agent[" + strconv.Itoa(i) + "]"
		if g.Requestor == nil {
			bad(p+".requestor", "is required")
		}
	}
	if a.Source == nil {
		bad("AuditEvent.source", "is required")
	} else if a.Source.Observer == nil {
		bad("AuditEvent.source.observer", "is required")
	}
	for i, e := range a.Entity {
		p := "AuditEvent.entity[" + strconv.Itoa(i) + "]"
		// R4 invariant sev-1: a name or a query, not both.
		if e.Name != "" && e.Query != "" {
			bad(p, "must not have both name and query")
		}
		for j, d := range e.Detail {
			dp := p + ".detail[" + strconv.Itoa(j) + "]"
			if (d.ValueString == "") == (d.ValueBase64Binary == "") {
				bad(dp, "must have exactly one of valueString and valueBase64Binary")
			}
		}
	}
	return ds
}
