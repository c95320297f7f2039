package fhir

import "encoding/json"

// Code systems and URLs the mapping uses.
const (
	SystemEventType        = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	SystemInteraction      = "http://hl7.org/fhir/restful-interaction"
	SystemOutcome          = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"
	SystemEntityType       = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	SystemObjectRole       = "http://terminology.hl7.org/CodeSystem/object-role"
	SystemSourceType       = "http://terminology.hl7.org/CodeSystem/security-source-type"
	SystemParticipation    = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	SystemActReason        = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	SystemNetworkType      = "http://hl7.org/fhir/network-type"
	SystemDICOM            = "http://dicom.nema.org/resources/ontology/DCM"
	SystemVigilAction      = "urn:vigil:action"
	SystemVigilActorType   = "urn:vigil:actor-type"
	ProfileBALPPatientRead = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"
)

// Coding is a FHIR Coding.
type Coding struct {
	System       string `json:"system,omitempty"`
	Version      string `json:"version,omitempty"`
	Code         string `json:"code,omitempty"`
	Display      string `json:"display,omitempty"`
	UserSelected *bool  `json:"userSelected,omitempty"`
}

// CodeableConcept is a FHIR CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Period is a FHIR Period.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Identifier is a FHIR Identifier (without assigner).
type Identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
	Period *Period          `json:"period,omitempty"`
}

// Reference is a FHIR Reference.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Meta is a resource's meta element. VersionID and LastUpdated are the
// server's.
type Meta struct {
	VersionID   string   `json:"versionId,omitempty"`
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Source      string   `json:"source,omitempty"`
	Profile     []string `json:"profile,omitempty"`
	Security    []Coding `json:"security,omitempty"`
	Tag         []Coding `json:"tag,omitempty"`
}

// Narrative is a resource's text.
type Narrative struct {
	Status string `json:"status,omitempty"`
	Div    string `json:"div,omitempty"`
}

// AuditEvent is the R4 AuditEvent resource.
type AuditEvent struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id,omitempty"`
	Meta              *Meta             `json:"meta,omitempty"`
	ImplicitRules     string            `json:"implicitRules,omitempty"`
	Language          string            `json:"language,omitempty"`
	Text              *Narrative        `json:"text,omitempty"`
	Extension         []json.RawMessage `json:"extension,omitempty"`
	ModifierExtension []json.RawMessage `json:"modifierExtension,omitempty"`
	Type              *Coding           `json:"type,omitempty"`
	Subtype           []Coding          `json:"subtype,omitempty"`
	Action            string            `json:"action,omitempty"`
	Period            *Period           `json:"period,omitempty"`
	Recorded          string            `json:"recorded,omitempty"`
	Outcome           string            `json:"outcome,omitempty"`
	OutcomeDesc       string            `json:"outcomeDesc,omitempty"`
	PurposeOfEvent    []CodeableConcept `json:"purposeOfEvent,omitempty"`
	Agent             []Agent           `json:"agent,omitempty"`
	Source            *Source           `json:"source,omitempty"`
	Entity            []Entity          `json:"entity,omitempty"`
}

// Agent is AuditEvent.agent.
type Agent struct {
	Type         *CodeableConcept  `json:"type,omitempty"`
	Role         []CodeableConcept `json:"role,omitempty"`
	Who          *Reference        `json:"who,omitempty"`
	AltID        string            `json:"altId,omitempty"`
	Name         string            `json:"name,omitempty"`
	Requestor    *bool             `json:"requestor,omitempty"`
	Location     *Reference        `json:"location,omitempty"`
	Policy       []string          `json:"policy,omitempty"`
	Media        *Coding           `json:"media,omitempty"`
	Network      *Network          `json:"network,omitempty"`
	PurposeOfUse []CodeableConcept `json:"purposeOfUse,omitempty"`
}

// Network is AuditEvent.agent.network.
type Network struct {
	Address string `json:"address,omitempty"`
	Type    string `json:"type,omitempty"`
}

// Source is AuditEvent.source.
type Source struct {
	Site     string     `json:"site,omitempty"`
	Observer *Reference `json:"observer,omitempty"`
	Type     []Coding   `json:"type,omitempty"`
}

// Entity is AuditEvent.entity.
type Entity struct {
	What          *Reference `json:"what,omitempty"`
	Type          *Coding    `json:"type,omitempty"`
	Role          *Coding    `json:"role,omitempty"`
	Lifecycle     *Coding    `json:"lifecycle,omitempty"`
	SecurityLabel []Coding   `json:"securityLabel,omitempty"`
	Name          string     `json:"name,omitempty"`
	Description   string     `json:"description,omitempty"`
	Query         string     `json:"query,omitempty"`
	Detail        []Detail   `json:"detail,omitempty"`
}

// Detail is AuditEvent.entity.detail; exactly one value[x].
type Detail struct {
	Type              string `json:"type"`
	ValueString       string `json:"valueString,omitempty"`
	ValueBase64Binary string `json:"valueBase64Binary,omitempty"`
}
