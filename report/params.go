package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
)

// OffHoursSource returns the conditions of the workspace's configured
// off_hours alert rule (alert.OffHours JSON), and false when there is none.
// It lets the off-hours report use the rule an administrator set without
// the report package knowing where rules are stored.
type OffHoursSource func(ctx context.Context, workspace string) (json.RawMessage, bool, error)

// OffHoursWindow is how far back the off-hours report looks.
const OffHoursWindow = 7 * 24 * time.Hour

// MaxDisclosurePeriod is the longest accounting of disclosures a patient
// may request (45 CFR 164.528(a): up to six years).
const MaxDisclosurePeriod = 6

// Params are a report's parameters, validated and normalised. The
// normalised form is stored with the job and printed in the report.
type Params struct {
	From, To     time.Time // on occurred_at: From inclusive, To exclusive
	PatientID    string
	Resource     string
	ResourceID   string
	SessionID    string
	ActorID      string
	OffHours     *alert.OffHours
	OffHoursJSON json.RawMessage
}

type rawParams struct {
	From          *string         `json:"from"`
	To            *string         `json:"to"`
	PatientID     *string         `json:"patient_id"`
	Resource      *string         `json:"resource"`
	ResourceID    *string         `json:"resource_id"`
	SessionID     *string         `json:"session_id"`
	ActorID       *string         `json:"actor_id"`
	Timezone      json.RawMessage `json:"timezone"`
	StartHour     json.RawMessage `json:"start_hour"`
	EndHour       json.RawMessage `json:"end_hour"`
	Days          json.RawMessage `json:"days"`
	ActionPattern json.RawMessage `json:"action_pattern"`
}

// allowed lists the parameters of each report type.
var allowed = map[string][]string{
	vigil.ReportAccessByInterval: {"from", "to"},
	vigil.ReportPatientAccess:    {"patient_id", "resource", "resource_id"},
	vigil.ReportSession:          {"session_id"},
	vigil.ReportOffHours:         {"timezone", "start_hour", "end_hour", "days", "action_pattern"},
	vigil.ReportDisclosures:      {"patient_id", "from", "to"},
	vigil.ReportUserActivity:     {"actor_id", "from", "to"},
}

type problems []vigil.ErrorDetail

func (p *problems) add(field, msg string) {
	*p = append(*p, vigil.ErrorDetail{Field: field, Message: msg})
}

// ParseParams validates the parameters of a report type as a client sent
// them. now is the request's time: the off-hours week and the default end
// of an accounting of disclosures end there. Errors are vigil.Invalid,
// naming "type" or "params.<field>".
func ParseParams(ctx context.Context, typ string, raw json.RawMessage, workspace string, now time.Time, src OffHoursSource) (Params, error) {
	var p Params
	names, ok := allowed[typ]
	if !ok {
		msg := "must be one of " + strings.Join(vigil.ReportTypes, ", ")
		if typ == "" {
			msg = "is required"
		}
		return p, vigil.Invalid(vigil.ErrorDetail{Field: "type", Message: msg})
	}
	var in rawParams
	var bad problems
	if err := decodeParams(raw, &in, names); err != nil {
		return p, err
	}
	str := func(name string, v *string, required bool) string {
		if v == nil || *v == "" {
			if required {
				bad.add("params."+name, "is required")
			}
			return ""
		}
		if msg := vigil.CheckString(*v, vigil.Identifier, vigil.MaxIDLength); msg != "" {
			bad.add("params."+name, msg)
		}
		return *v
	}
	tm := func(name string, v *string, required bool) time.Time {
		if v == nil || *v == "" {
			if required {
				bad.add("params."+name, "is required")
			}
			return time.Time{}
		}
		sp, err := vigil.ParseTime(*v, vigil.TimeInstantOrDate)
		if err != nil {
			bad.add("params."+name, err.Error())
		}
		return sp.Start
	}
	switch typ {
	case vigil.ReportAccessByInterval:
		p.From, p.To = tm("from", in.From, true), tm("to", in.To, true)
	case vigil.ReportPatientAccess:
		p.PatientID = str("patient_id", in.PatientID, false)
		p.Resource = str("resource", in.Resource, false)
		p.ResourceID = str("resource_id", in.ResourceID, false)
		switch {
		case p.PatientID == "" && p.ResourceID == "":
			bad.add("params.patient_id", "is required (or params.resource_id, for one record)")
		case p.PatientID != "" && p.ResourceID != "":
			bad.add("params.resource_id", "give patient_id or resource_id, not both")
		case p.Resource != "" && p.ResourceID == "":
			bad.add("params.resource_id", "is required with params.resource")
		}
	case vigil.ReportSession:
		p.SessionID = str("session_id", in.SessionID, true)
	case vigil.ReportOffHours:
		if err := p.offHours(ctx, in, workspace, src, &bad); err != nil {
			return p, err
		}
		p.To = vigil.Time(now)
		p.From = p.To.Add(-OffHoursWindow)
	case vigil.ReportDisclosures:
		p.PatientID = str("patient_id", in.PatientID, true)
		p.From, p.To = tm("from", in.From, false), tm("to", in.To, false)
		if p.To.IsZero() {
			p.To = vigil.Time(now)
		}
		if p.From.IsZero() {
			p.From = p.To.AddDate(-MaxDisclosurePeriod, 0, 0)
		}
		if p.From.Before(p.To.AddDate(-MaxDisclosurePeriod, 0, 0)) {
			bad.add("params.from", "the period must not exceed "+strconv.Itoa(MaxDisclosurePeriod)+" years (45 CFR 164.528)")
		}
	case vigil.ReportUserActivity:
		p.ActorID = str("actor_id", in.ActorID, true)
		p.From, p.To = tm("from", in.From, true), tm("to", in.To, true)
	}
	if !p.From.IsZero() && !p.To.IsZero() && !p.From.Before(p.To) {
		bad.add("params.to", "must be after from")
	}
	if len(bad) > 0 {
		return p, vigil.Invalid(bad...)
	}
	return p, nil
}

// offHours reads the window from the parameters, or else from the
// workspace's configured off_hours rule. The parameters follow the alert
// rule's conditions, with action_pattern optional ("*").
func (p *Params) offHours(ctx context.Context, in rawParams, workspace string, src OffHoursSource, bad *problems) error {
	given := in.Timezone != nil || in.StartHour != nil || in.EndHour != nil || in.Days != nil || in.ActionPattern != nil
	var cond json.RawMessage
	if given {
		m := map[string]json.RawMessage{"action_pattern": json.RawMessage(`"*"`)}
		for k, v := range map[string]json.RawMessage{"timezone": in.Timezone, "start_hour": in.StartHour,
			"end_hour": in.EndHour, "days": in.Days, "action_pattern": in.ActionPattern} {
			if v != nil {
				m[k] = v
			}
		}
		cond, _ = json.Marshal(m)
	} else if src != nil {
		c, ok, err := src(ctx, workspace)
		if err != nil {
			return vigil.Unavailable("reading the workspace's off_hours rule failed", err)
		}
		if ok {
			cond = c
		}
	}
	if cond == nil {
		msg := "is required: give the off-hours window, or configure an off_hours alert rule for the workspace"
		bad.add("params.timezone", msg)
		bad.add("params.start_hour", msg)
		bad.add("params.end_hour", msg)
		return nil
	}
	c, err := alert.ParseConditions(vigil.RuleOffHours, cond)
	if err != nil {
		for _, d := range vigil.ErrorDetails(err) {
			bad.add("params."+strings.TrimPrefix(d.Field, "conditions."), d.Message)
		}
		return nil
	}
	p.OffHours = c.(*alert.OffHours)
	p.OffHoursJSON, _ = json.Marshal(p.OffHours)
	return nil
}

// decodeParams decodes params strictly: an object, with only the type's
// parameters, each once.
func decodeParams(raw json.RawMessage, v *rawParams, names []string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return vigil.Invalid(vigil.ErrorDetail{Field: "params", Message: "must be a JSON object"})
	}
	var bad problems
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.Token()
	seen := map[string]bool{}
	for dec.More() {
		t, _ := dec.Token()
		k, _ := t.(string)
		var skip json.RawMessage
		dec.Decode(&skip)
		if seen[k] {
			bad.add("params."+k, "appears more than once")
		}
		seen[k] = true
	}
	for k := range m {
		ok := false
		for _, n := range names {
			ok = ok || n == k
		}
		if !ok {
			bad.add("params."+k, "is not a parameter of this report (it takes "+strings.Join(names, ", ")+")")
		}
	}
	if len(bad) > 0 {
		return vigil.Invalid(bad...)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return vigil.Invalid(vigil.ErrorDetail{Field: "params." + typ.Field, Message: "must be a string"})
		}
		return vigil.Invalid(vigil.ErrorDetail{Field: "params", Message: "must be a JSON object"})
	}
	return nil
}

// JSON returns the normalised parameters of a report type, as stored and
// printed.
func (p Params) JSON(typ string) json.RawMessage {
	m := map[string]any{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	putTime := func(k string, t time.Time) {
		if !t.IsZero() {
			m[k] = t.UTC().Format(time.RFC3339Nano)
		}
	}
	put("patient_id", p.PatientID)
	put("resource", p.Resource)
	put("resource_id", p.ResourceID)
	put("session_id", p.SessionID)
	put("actor_id", p.ActorID)
	putTime("from", p.From)
	putTime("to", p.To)
	if typ == vigil.ReportOffHours && p.OffHours != nil {
		var oh map[string]any
		json.Unmarshal(p.OffHoursJSON, &oh)
		for k, v := range oh {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return b
}

// ParseStored reads parameters normalised by JSON back: what a worker
// runs. They were validated when the job was queued.
func ParseStored(typ string, raw json.RawMessage) (Params, error) {
	var p Params
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return p, fmt.Errorf("report: stored params: %w", err)
	}
	s := func(k string) string {
		var v string
		json.Unmarshal(m[k], &v)
		return v
	}
	p.PatientID, p.Resource, p.ResourceID, p.SessionID, p.ActorID = s("patient_id"), s("resource"), s("resource_id"), s("session_id"), s("actor_id")
	for k, dst := range map[string]*time.Time{"from": &p.From, "to": &p.To} {
		if v := s(k); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return p, fmt.Errorf("report: stored params: %s: %w", k, err)
			}
			*dst = t
		}
	}
	if typ == vigil.ReportOffHours {
		cond := map[string]json.RawMessage{}
		for _, k := range []string{"action_pattern", "timezone", "start_hour", "end_hour", "days"} {
			if v, ok := m[k]; ok {
				cond[k] = v
			}
		}
		b, _ := json.Marshal(cond)
		c, err := alert.ParseConditions(vigil.RuleOffHours, b)
		if err != nil {
			return p, fmt.Errorf("report: stored params: %w", err)
		}
		p.OffHours, p.OffHoursJSON = c.(*alert.OffHours), b
	}
	return p, nil
}
