package fhir

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/vigilhq/vigil"
)

// SimpleAuditEvent is the flattened AuditEvent of seed 001 ("Clinik"):
// codes as plain strings, agent.who and source.observer as strings,
// entity.what as "Type/id". It maps onto the same records as the FHIR
// endpoint: it is turned into an R4 AuditEvent and stored as one.
type SimpleAuditEvent struct {
	ID             string         `json:"id,omitempty"` // server-assigned; refused on create
	Type           string         `json:"type"`
	Subtype        []string       `json:"subtype,omitempty"`
	Action         string         `json:"action,omitempty"`
	Recorded       string         `json:"recorded"`
	Outcome        string         `json:"outcome,omitempty"`
	OutcomeDesc    string         `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []string       `json:"purposeOfEvent,omitempty"`
	Agent          []SimpleAgent  `json:"agent"`
	Source         *SimpleSource  `json:"source"`
	Entity         []SimpleEntity `json:"entity,omitempty"`
}

// SimpleAgent is one agent of the simplified shape.
type SimpleAgent struct {
	Who            string `json:"who,omitempty"`
	Name           string `json:"name,omitempty"`
	Requestor      *bool  `json:"requestor,omitempty"`
	Role           string `json:"role,omitempty"`
	NetworkAddress string `json:"networkAddress,omitempty"`
}

// SimpleSource is the simplified source.
type SimpleSource struct {
	Observer string `json:"observer"`
	Site     string `json:"site,omitempty"`
	Type     string `json:"type,omitempty"`
}

// SimpleEntity is one entity of the simplified shape.
type SimpleEntity struct {
	What        string `json:"what,omitempty"`
	Type        string `json:"type,omitempty"`
	Role        string `json:"role,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// Codes whose system the simplified shape leaves out, restored so the
// stored AuditEvent is a proper R4 resource.
var (
	interactions = set("read", "vread", "update", "patch", "delete", "history", "history-instance",
		"history-type", "history-system", "create", "search", "search-type", "search-system",
		"capabilities", "transaction", "batch", "operation")
	sourceTypes = []string{"", "User Device", "Data Interface", "Web Server", "Application Server",
		"Database Server", "Security Server", "Network Device", "Network Router", "Other"}
)

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// ParseSimple decodes the simplified shape strictly (paths name the
// offending element) and turns it into a validated R4 AuditEvent.
func ParseSimple(body []byte) (AuditEvent, error) {
	var s SimpleAuditEvent
	if err := decodeStrict(body, "", &s); err != nil {
		return AuditEvent{}, err
	}
	if s.ID != "" {
		return AuditEvent{}, vigil.Invalid(vigil.ErrorDetail{Field: "id", Message: "is assigned by the server"})
	}
	var ds []vigil.ErrorDetail
	if s.Type == "" {
		ds = append(ds, vigil.ErrorDetail{Field: "type", Message: "is required"})
	}
	if s.Recorded == "" {
		ds = append(ds, vigil.ErrorDetail{Field: "recorded", Message: "is required"})
	}
	if len(s.Agent) == 0 {
		ds = append(ds, vigil.ErrorDetail{Field: "agent", Message: "is required: at least one agent"})
	}
	if s.Source == nil {
		ds = append(ds, vigil.ErrorDetail{Field: "source", Message: "is required"})
	}
	if len(ds) > 0 {
		return AuditEvent{}, vigil.Invalid(ds...)
	}
	a := s.toFHIR()
	if ds := a.validate(); len(ds) > 0 {
		return a, SimplePaths(vigil.Invalid(ds...))
	}
	return a, nil
}

// SimplePaths renames the details of err from the paths of the R4
// AuditEvent a simplified one was turned into to the simplified shape's
// own ("AuditEvent.agent[0].network.address" to "agent[0].networkAddress").
func SimplePaths(err error) error {
	ds := vigil.ErrorDetails(err)
	if len(ds) == 0 {
		return err
	}
	out := make([]vigil.ErrorDetail, len(ds))
	for i, d := range ds {
		d.Field = simplePath(d.Field)
		out[i] = d
	}
	var ve *vigil.Error
	if errors.As(err, &ve) && ve.Code != vigil.EINVALID {
		return &vigil.Error{Code: ve.Code, Message: ve.Message, Details: out, Err: ve.Err}
	}
	return vigil.Invalid(out...)
}

// simplePath is the simplified shape's name of an R4 element path.
func simplePath(p string) string {
	p = strings.TrimPrefix(p, "AuditEvent.")
	switch {
	case p == "type.code":
		return "type"
	case strings.HasPrefix(p, "subtype["):
		return strings.TrimSuffix(p, ".code")
	case strings.HasPrefix(p, "purposeOfEvent"):
		return "purposeOfEvent"
	case strings.HasPrefix(p, "agent[") && strings.HasSuffix(p, ".network.address"):
		return strings.TrimSuffix(p, ".network.address") + ".networkAddress"
	case strings.HasPrefix(p, "agent[") && strings.Contains(p, ".who."):
		return p[:strings.Index(p, ".who.")+len(".who")]
	case strings.HasPrefix(p, "agent[") && strings.Contains(p, ".role["):
		return p[:strings.Index(p, ".role[")+len(".role")]
	}
	return p
}

func (s SimpleAuditEvent) toFHIR() AuditEvent {
	a := AuditEvent{
		ResourceType: "AuditEvent",
		Type:         &Coding{Code: s.Type},
		Action:       s.Action,
		Recorded:     s.Recorded,
		Outcome:      s.Outcome,
		OutcomeDesc:  s.OutcomeDesc,
	}
	if s.Type == "rest" {
		a.Type.System = SystemEventType
	}
	for _, st := range s.Subtype {
		c := Coding{Code: st}
		if interactions[st] {
			c.System = SystemInteraction
		}
		a.Subtype = append(a.Subtype, c)
	}
	for _, p := range s.PurposeOfEvent {
		a.PurposeOfEvent = append(a.PurposeOfEvent, CodeableConcept{Text: p})
	}
	for _, g := range s.Agent {
		ag := Agent{Who: simpleRef(g.Who), Name: g.Name, Requestor: g.Requestor}
		if ag.Requestor == nil {
			no := false
			ag.Requestor = &no
		}
		if g.Role != "" {
			ag.Role = []CodeableConcept{{Coding: []Coding{{Code: g.Role}}}}
		}
		if g.NetworkAddress != "" {
			ag.Network = &Network{Address: g.NetworkAddress, Type: "1"}
			if _, err := netip.ParseAddr(g.NetworkAddress); err == nil {
				ag.Network.Type = "2"
			}
		}
		a.Agent = append(a.Agent, ag)
	}
	a.Source = &Source{Site: s.Source.Site}
	if s.Source.Observer != "" {
		a.Source.Observer = &Reference{Display: s.Source.Observer}
	}
	if s.Source.Type != "" {
		a.Source.Type = []Coding{sourceType(s.Source.Type)}
	}
	for _, en := range s.Entity {
		e := Entity{What: simpleRef(en.What), Name: en.Name, Description: en.Description}
		if en.Type != "" {
			e.Type = &Coding{Code: en.Type}
			if len(en.Type) == 1 && en.Type >= "1" && en.Type <= "4" {
				e.Type.System = SystemEntityType
			}
		}
		if en.Role != "" {
			e.Role = &Coding{Code: en.Role, System: SystemObjectRole}
		}
		a.Entity = append(a.Entity, e)
	}
	return a
}

// simpleRef reads "Type/id" as a reference and anything else as an
// identifier value.
func simpleRef(s string) *Reference {
	switch {
	case s == "":
		return nil
	case strings.Contains(s, "/"):
		return &Reference{Reference: s}
	}
	return &Reference{Identifier: &Identifier{Value: s}}
}

// sourceType reads a security-source-type code ("4") or display
// ("Application Server"); other text stays a display.
func sourceType(s string) Coding {
	for code, display := range sourceTypes {
		if code > 0 && (s == display || s == string(rune('0'+code))) {
			return Coding{System: SystemSourceType, Code: string(rune('0' + code)), Display: display}
		}
	}
	return Coding{Display: s}
}

// ToSimple renders any event's AuditEvent view in the simplified shape.
// Code systems, displays and elements the shape has no place for are left
// out; the FHIR endpoint serves them.
func ToSimple(a AuditEvent) SimpleAuditEvent {
	s := SimpleAuditEvent{ID: a.ID, Action: a.Action, Recorded: a.Recorded, Outcome: a.Outcome, OutcomeDesc: a.OutcomeDesc}
	if a.Type != nil {
		s.Type = a.Type.Code
	}
	for _, c := range a.Subtype {
		s.Subtype = append(s.Subtype, c.Code)
	}
	for _, p := range a.PurposeOfEvent {
		if p.Text != "" {
			s.PurposeOfEvent = append(s.PurposeOfEvent, p.Text)
		} else {
			s.PurposeOfEvent = append(s.PurposeOfEvent, conceptText(p))
		}
	}
	for _, g := range a.Agent {
		sg := SimpleAgent{Name: g.Name, Requestor: g.Requestor}
		if g.Who != nil {
			sg.Who = refString(g.Who)
		}
		if len(g.Role) > 0 {
			sg.Role = conceptText(g.Role[0])
		}
		if g.Network != nil {
			sg.NetworkAddress = g.Network.Address
		}
		s.Agent = append(s.Agent, sg)
	}
	if a.Source != nil {
		s.Source = &SimpleSource{Site: a.Source.Site}
		if a.Source.Observer != nil {
			s.Source.Observer = refText(a.Source.Observer)
		}
		if len(a.Source.Type) > 0 {
			s.Source.Type = a.Source.Type[0].Display
			if s.Source.Type == "" {
				s.Source.Type = a.Source.Type[0].Code
			}
		}
	}
	for _, en := range a.Entity {
		se := SimpleEntity{Name: en.Name, Description: en.Description}
		if en.What != nil {
			se.What = refString(en.What)
		}
		if en.Type != nil {
			se.Type = en.Type.Code
		}
		if en.Role != nil {
			se.Role = en.Role.Code
		}
		s.Entity = append(s.Entity, se)
	}
	return s
}

// refString is a reference as the simplified shape writes it.
func refString(r *Reference) string {
	switch {
	case r.Reference != "":
		return r.Reference
	case r.Identifier != nil && r.Identifier.Value != "":
		return r.Identifier.Value
	}
	return r.Display
}
