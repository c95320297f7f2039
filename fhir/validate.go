package fhir

import (
	"regexp"
	"strconv"
	"time"

	"github.com/vigilhq/vigil"
)

// instantRE is FHIR R4's instant: seconds and a zone are required.
var instantRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`)

// dateTimeRE is FHIR R4's dateTime: a year, month, day, or a time with a zone.
var dateTimeRE = regexp.MustCompile(`^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)

// ParseInstant reads a FHIR instant as a UTC time.
func ParseInstant(s string) (time.Time, bool) {
	if !instantRE.MatchString(s) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t.UTC(), true
}

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
	} else if _, ok := ParseInstant(a.Recorded); !ok {
		bad("AuditEvent.recorded", "must be a FHIR instant with seconds and a time zone, such as 2024-06-15T08:30:00Z")
	}
	if a.Outcome != "" && outcomeCodes[a.Outcome] == "" {
		bad("AuditEvent.outcome", "must be one of 0, 4, 8, 12")
	}
	if a.Period != nil {
		for name, v := range map[string]string{"start": a.Period.Start, "end": a.Period.End} {
			if v != "" && !dateTimeRE.MatchString(v) {
				bad("AuditEvent.period."+name, "must be a FHIR dateTime")
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
