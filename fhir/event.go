package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
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
// are dropped: the store assigns them. The event is checked, like every
// event, by vigil.Prepare on the write path; ElementPaths names what it
// refuses by the elements the client sent.
func ToEvent(a AuditEvent) (vigil.Event, error) {
	e, _, err := mapEvent(a)
	return e, err
}

// ElementPaths renames the details of err, vigil.Prepare's refusal of the
// event ToEvent made of a, to the elements of a each field came from
// ("actor_id" to "AuditEvent.agent[0].who"). Fields of no element are
// left as they are.
func ElementPaths(a AuditEvent, err error) error {
	ds := vigil.ErrorDetails(err)
	if len(ds) == 0 {
		return err
	}
	_, paths, merr := mapEvent(a)
	if merr != nil {
		return err
	}
	out := make([]vigil.ErrorDetail, 0, len(ds))
	for _, d := range ds {
		if p, ok := paths[d.Field]; ok {
			d.Field = p
		} else if rest, ok := strings.CutPrefix(d.Field, "metadata."+MetadataKey+"."); ok {
			// An element of the resource kept whole (the PHI guard
			// names the free text it refuses by its path there).
			d.Field = "AuditEvent." + rest
		}
		// One element may fill two fields (a patient entity that is
		// also the resource): name its problem once.
		if !slices.ContainsFunc(out, func(o vigil.ErrorDetail) bool { return o.Field == d.Field && o.Message == d.Message }) {
			out = append(out, d)
		}
	}
	var ve *vigil.Error
	if errors.As(err, &ve) && ve.Code != vigil.EINVALID {
		return &vigil.Error{Code: ve.Code, Message: ve.Message, Details: out, Err: ve.Err}
	}
	return vigil.Invalid(out...)
}

// mapEvent is ToEvent, also returning for each event field it filled the
// element path it came from.
func mapEvent(a AuditEvent) (vigil.Event, map[string]string, error) {
	if ds := a.validate(); len(ds) > 0 {
		return vigil.Event{}, nil, vigil.Invalid(ds...)
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
	paths := map[string]string{"occurred_at": "AuditEvent.recorded", "outcome": "AuditEvent.outcome", "metadata": "AuditEvent"}
	req := requestor(a.Agent)
	g := a.Agent[req]
	gp := "AuditEvent.agent[" + itoaN(req) + "]"
	e.ActorID, paths["actor_id"] = agentID(g), gp+".who"
	if e.ActorID == "" {
		return e, nil, vigil.Invalid(vigil.ErrorDetail{Field: gp, Message: "the requesting agent needs who (identifier, reference or display), altId or name"})
	}
	if g.Who != nil {
		if typ, _, ok := relativeRef(g.Who.Reference); ok {
			e.ActorType, paths["actor_type"] = typ, gp+".who"
		}
	}
	e.ActorName, paths["actor_name"] = g.Name, gp+".name"
	if e.ActorName == "" && g.Who != nil && g.Who.Display != e.ActorID {
		e.ActorName, paths["actor_name"] = g.Who.Display, gp+".who.display"
	}
	if a.Action != "" {
		e.Action, paths["action"] = actionCodes[a.Action], "AuditEvent.action"
	} else {
		e.Action, paths["action"] = a.Type.Code, "AuditEvent.type.code"
	}
	// A view of a Vigil event carries Vigil's own action and actor type
	// in codings of its own; reading it back restores them.
	for i, c := range a.Subtype {
		if c.System == SystemVigilAction && c.Code != "" {
			e.Action, paths["action"] = c.Code, "AuditEvent.subtype["+itoaN(i)+"].code"
			break
		}
	}
	for i, r := range g.Role {
		for _, c := range r.Coding {
			if c.System == SystemVigilActorType && c.Code != "" && e.ActorType == "" {
				e.ActorType, paths["actor_type"] = c.Code, gp+".role["+itoaN(i)+"]"
			}
		}
	}
	e.ActionCategory, paths["action_category"] = a.Type.Code, "AuditEvent.type.code"
	e.Outcome = outcomeCodes[a.Outcome]
	if sp, err := vigil.ParseTime(a.Recorded, vigil.TimeInstant); err == nil {
		e.OccurredAt = sp.Start
	}
	patient := -1
	for i, en := range a.Entity {
		if id := patientOf(en); id != "" {
			e.PatientID, paths["patient_id"] = id, "AuditEvent.entity["+itoaN(i)+"].what"
			patient = i
			break
		}
	}
	if patient < 0 {
		for i, ag := range a.Agent {
			if ag.Who != nil {
				if typ, id, ok := relativeRef(ag.Who.Reference); ok && typ == "Patient" {
					e.PatientID, paths["patient_id"] = id, "AuditEvent.agent["+itoaN(i)+"].who"
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
		p := "AuditEvent.entity[" + itoaN(i) + "]"
		if i == main {
			e.Resource, e.ResourceID, e.ResourceName = typ, id, en.Name
			paths["resource"], paths["resource_id"], paths["resource_name"] = p+".what", p+".what", p+".name"
			continue
		}
		if i != patient && typ != "" && id != "" {
			t := "targets[" + itoaN(len(e.Targets)) + "]."
			paths[t+"type"], paths[t+"id"], paths[t+"name"] = p+".what", p+".what", p+".name"
			e.Targets = append(e.Targets, vigil.Target{Type: typ, ID: id, Name: en.Name})
		}
	}
	if ip, i := ipOf(a.Agent, req); ip != "" {
		e.IPAddress, paths["ip_address"] = ip, "AuditEvent.agent["+itoaN(i)+"].network.address"
	}
	e.PurposeOfUse, paths["purpose_of_use"] = purposeOf(a, g), "AuditEvent.purposeOfEvent"
	if len(a.PurposeOfEvent) == 0 {
		paths["purpose_of_use"] = gp + ".purposeOfUse"
	}
	if a.Source != nil && a.Source.Observer != nil {
		e.Source, paths["source"] = refText(a.Source.Observer), "AuditEvent.source.observer"
	}
	res, err := json.Marshal(a)
	if err != nil {
		return e, nil, vigil.Errorf(vigil.EINVALID, "the AuditEvent cannot be encoded: %v", err)
	}
	if len(res) > maxResourceBytes {
		// It is kept in the event's metadata, which has this limit.
		msg := "must encode to at most " + strconv.Itoa(maxResourceBytes) + " bytes"
		return e, nil, &vigil.Error{Code: vigil.ETOOLARGE, Message: "the AuditEvent " + msg,
			Details: []vigil.ErrorDetail{{Field: "AuditEvent", Message: msg}}}
	}
	e.Metadata, _ = json.Marshal(map[string]json.RawMessage{MetadataKey: res})
	return e, paths, nil
}

// maxResourceBytes bounds a resource kept whole in an event's metadata:
// the metadata limit less the envelope {"fhir":...}.
const maxResourceBytes = vigil.MaxMetadataBytes - 16

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
// requestor's first, and the index of its agent.
func ipOf(agents []Agent, req int) (string, int) {
	order := append([]int{req}, make([]int, 0, len(agents))...)
	for i := range agents {
		if i != req {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if n := agents[i].Network; n != nil {
			if addr, err := netip.ParseAddr(n.Address); err == nil {
				return addr.Unmap().String(), i
			}
		}
	}
	return "", -1
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
