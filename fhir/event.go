package fhir

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
)

// MetadataKey is the reserved metadata key under which an event received
// as an AuditEvent keeps the resource as it was sent (without id and the
// server's meta), so the FHIR view gives back every element.
const MetadataKey = "fhir"

// ParseAuditEvent decodes and validates a FHIR R4 AuditEvent. Errors are
// vigil errors whose details name FHIR element paths.
func ParseAuditEvent(body []byte) (AuditEvent, error) {
	var a AuditEvent
	if err := decodeStrict(body, "AuditEvent", &a); err != nil {
		return a, err
	}
	if ds := a.validate(); len(ds) > 0 {
		return a, vigil.Invalid(ds...)
	}
	return a, nil
}

// ToEvent maps an AuditEvent (validated again here) onto a Vigil event:
// the columns Vigil searches, alerts and reports on, and the resource
// itself under metadata.fhir. Client ids and the server's meta elements
// are dropped: the store assigns them.
func ToEvent(a AuditEvent) (vigil.Event, error) {
	if ds := a.validate(); len(ds) > 0 {
		return vigil.Event{}, vigil.Invalid(ds...)
	}
	a.ID = ""
	if a.Meta != nil {
		m := *a.Meta
		m.VersionID, m.LastUpdated = "", ""
		a.Meta = &m
		if m.Source == "" && m.Profile == nil && m.Security == nil && m.Tag == nil {
			a.Meta = nil
		}
	}
	var e vigil.Event
	var ds []vigil.ErrorDetail
	check := func(path, v string, max int) string {
		if len(v) > max {
			ds = append(ds, vigil.ErrorDetail{Field: path, Message: "must be at most " + itoaN(max) + " bytes: Vigil keeps it in a column of that size"})
		}
		return v
	}
	req := requestor(a.Agent)
	g := a.Agent[req]
	gp := "AuditEvent.agent[" + itoaN(req) + "]"
	e.ActorID = check(gp+".who", agentID(g), vigil.MaxIDLength)
	if e.ActorID == "" {
		ds = append(ds, vigil.ErrorDetail{Field: gp, Message: "the requesting agent needs who (identifier, reference or display), altId or name"})
	}
	if g.Who != nil {
		if typ, _, ok := relativeRef(g.Who.Reference); ok {
			e.ActorType = typ
		}
	}
	e.ActorName = g.Name
	if e.ActorName == "" && g.Who != nil && g.Who.Display != e.ActorID {
		e.ActorName = g.Who.Display
	}
	if a.Action != "" {
		e.Action = actionCodes[a.Action]
	} else {
		e.Action = check("AuditEvent.type.code", a.Type.Code, vigil.MaxIDLength)
	}
	// A view of a Vigil event carries Vigil's own action and actor type
	// in codings of its own; reading it back restores them.
	for i, c := range a.Subtype {
		if c.System == SystemVigilAction && c.Code != "" {
			e.Action = check("AuditEvent.subtype["+itoaN(i)+"].code", c.Code, vigil.MaxIDLength)
			break
		}
	}
	for _, r := range g.Role {
		for _, c := range r.Coding {
			if c.System == SystemVigilActorType && c.Code != "" && e.ActorType == "" {
				e.ActorType = check(gp+".role", c.Code, vigil.MaxIDLength)
			}
		}
	}
	e.ActionCategory = check("AuditEvent.type.code", a.Type.Code, vigil.MaxIDLength)
	e.Outcome = outcomeCodes[a.Outcome]
	if t, ok := ParseInstant(a.Recorded); ok {
		e.OccurredAt = t
	}
	patient := -1
	for i, en := range a.Entity {
		if id := patientOf(en); id != "" {
			e.PatientID = check("AuditEvent.entity["+itoaN(i)+"].what", id, vigil.MaxIDLength)
			patient = i
			break
		}
	}
	if patient < 0 {
		for i, ag := range a.Agent {
			if ag.Who != nil {
				if typ, id, ok := relativeRef(ag.Who.Reference); ok && typ == "Patient" {
					e.PatientID = check("AuditEvent.agent["+itoaN(i)+"].who", id, vigil.MaxIDLength)
					break
				}
			}
		}
	}
	main := -1
	for i := range a.Entity {
		if i != patient && a.Entity[i].What != nil {
			main = i
			break
		}
	}
	if main < 0 {
		main = patient
	}
	for i, en := range a.Entity {
		typ, id := entityRef(en)
		p := "AuditEvent.entity[" + itoaN(i) + "].what"
		if i == main {
			e.Resource = check(p, typ, vigil.MaxIDLength)
			e.ResourceID = check(p, id, vigil.MaxIDLength)
			e.ResourceName = check("AuditEvent.entity["+itoaN(i)+"].name", en.Name, vigil.MaxTextLength)
			continue
		}
		if i != patient && typ != "" && id != "" {
			e.Targets = append(e.Targets, vigil.Target{Type: check(p, typ, vigil.MaxIDLength), ID: check(p, id, vigil.MaxIDLength), Name: en.Name})
		}
	}
	e.IPAddress = ipOf(a.Agent, req)
	e.PurposeOfUse = check("AuditEvent.purposeOfEvent", purposeOf(a, g), vigil.MaxIDLength)
	if a.Source != nil && a.Source.Observer != nil {
		e.Source = check("AuditEvent.source.observer", refText(a.Source.Observer), vigil.MaxTextLength)
	}
	if len(ds) > 0 {
		return e, vigil.Invalid(ds...)
	}
	res, err := json.Marshal(a)
	if err != nil {
		return e, vigil.Errorf(vigil.EINVALID, "the AuditEvent cannot be encoded: %v", err)
	}
	if len(res) > vigil.MaxMetadataBytes-16 {
		// It is kept in the event's metadata, which has this limit.
		return e, &vigil.Error{Code: vigil.ETOOLARGE, Message: "the AuditEvent must encode to at most 65520 bytes",
			Details: []vigil.ErrorDetail{{Field: "AuditEvent", Message: "must encode to at most 65520 bytes"}}}
	}
	e.Metadata, _ = json.Marshal(map[string]json.RawMessage{MetadataKey: res})
	return e, nil
}

// Stored returns the AuditEvent an event was received as, if it was.
func Stored(e vigil.Event) (AuditEvent, bool) {
	if len(e.Metadata) == 0 || !bytes.Contains(e.Metadata, []byte(`"`+MetadataKey+`"`)) {
		return AuditEvent{}, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(e.Metadata, &m) != nil || m[MetadataKey] == nil {
		return AuditEvent{}, false
	}
	var a AuditEvent
	if json.Unmarshal(m[MetadataKey], &a) != nil || a.ResourceType != "AuditEvent" {
		return AuditEvent{}, false
	}
	return a, true
}

// FromEvent is the AuditEvent view of any event: the resource it was
// received as, or, for events recorded through Vigil's own API, a
// BALP-shaped AuditEvent built from its columns. id is the event's id;
// meta carries versionId 1 (events never change) and lastUpdated, the
// time Vigil recorded it.
func FromEvent(e vigil.Event) AuditEvent {
	a, ok := Stored(e)
	if !ok {
		a = balpView(e)
	}
	a.ID = e.ID
	meta := Meta{}
	if a.Meta != nil {
		meta = *a.Meta
	}
	meta.VersionID = "1"
	meta.LastUpdated = e.CreatedAt.UTC().Format(time.RFC3339Nano)
	a.Meta = &meta
	return a
}

// requestor is the index of the agent that asked for the access: the
// first with requestor true, or the first.
func requestor(agents []Agent) int {
	for i, g := range agents {
		if g.Requestor != nil && *g.Requestor {
			return i
		}
	}
	return 0
}

func agentID(g Agent) string {
	if g.Who != nil {
		switch {
		case g.Who.Identifier != nil && g.Who.Identifier.Value != "":
			return g.Who.Identifier.Value
		case g.Who.Reference != "":
			return g.Who.Reference
		}
	}
	if g.AltID != "" {
		return g.AltID
	}
	if g.Who != nil && g.Who.Display != "" {
		return g.Who.Display
	}
	return g.Name
}

// relativeRef splits "Type/id" (also a versioned "Type/id/_history/n",
// and the tail of an absolute URL when it names a FHIR resource type).
// Vigil's own resource types are lower-case ("patient_record/pat_1").
func relativeRef(ref string) (typ, id string, ok bool) {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return "", "", false
	}
	typ, id = parts[len(parts)-2], parts[len(parts)-1]
	if typ == "" || id == "" || !isTypeName(typ) {
		return "", "", false
	}
	if strings.Contains(ref, "://") && (typ[0] < 'A' || typ[0] > 'Z') {
		return "", "", false
	}
	if len(parts) > 2 && !strings.Contains(ref, "://") {
		return "", "", false
	}
	return typ, id, true
}

func isTypeName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

func patientOf(en Entity) string {
	if en.What == nil {
		return ""
	}
	if typ, id, ok := relativeRef(en.What.Reference); ok && typ == "Patient" {
		return id
	}
	if en.Role != nil && en.Role.Code == "1" && (en.Role.System == SystemObjectRole || en.Role.System == "") &&
		en.What.Identifier != nil && en.What.Identifier.Value != "" {
		return en.What.Identifier.Value
	}
	return ""
}

// entityRef is the resource type and id an entity names.
func entityRef(en Entity) (typ, id string) {
	if en.What == nil {
		return "", ""
	}
	if t, i, ok := relativeRef(en.What.Reference); ok {
		return t, i
	}
	if en.What.Identifier != nil && en.What.Identifier.Value != "" {
		return en.What.Type, en.What.Identifier.Value
	}
	if en.What.Reference != "" {
		return en.What.Type, en.What.Reference
	}
	return en.What.Type, ""
}

// ipOf is the first agent network address that is an IP address, the
// requestor's first.
func ipOf(agents []Agent, req int) string {
	order := append([]int{req}, make([]int, 0, len(agents))...)
	for i := range agents {
		if i != req {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if n := agents[i].Network; n != nil {
			if addr, err := netip.ParseAddr(n.Address); err == nil {
				return addr.Unmap().String()
			}
		}
	}
	return ""
}

func purposeOf(a AuditEvent, g Agent) string {
	for _, cc := range append(append([]CodeableConcept{}, a.PurposeOfEvent...), g.PurposeOfUse...) {
		if s := conceptText(cc); s != "" {
			return s
		}
	}
	return ""
}

// conceptText is a concept's first code, or its text.
func conceptText(cc CodeableConcept) string {
	for _, c := range cc.Coding {
		if c.Code != "" {
			return c.Code
		}
	}
	return cc.Text
}

// refText is what a reference names, for a text column.
func refText(r *Reference) string {
	switch {
	case r.Display != "":
		return r.Display
	case r.Identifier != nil && r.Identifier.Value != "":
		return r.Identifier.Value
	}
	return r.Reference
}

func itoaN(i int) string { return strconv.Itoa(i) }
