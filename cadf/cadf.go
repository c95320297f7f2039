// Package cadf renders Vigil's events in the DMTF Cloud Auditing Data
// Federation (CADF, DSP0262) event model: who (initiator) did what
// (action) to what (target), when (eventTime), with what outcome, as seen
// by whom (observer).
package cadf

import (
	"time"

	"github.com/vigilhq/vigil"
)

// TypeURI identifies a CADF event.
const TypeURI = "http://schemas.dmtf.org/cloud/audit/1.0/event"

// Event is a CADF event record.
type Event struct {
	TypeURI     string       `json:"typeURI"`
	ID          string       `json:"id"`
	EventType   string       `json:"eventType"`
	EventTime   string       `json:"eventTime"`
	Action      string       `json:"action"`
	Outcome     string       `json:"outcome"`
	Reason      *Reason      `json:"reason,omitempty"`
	Initiator   Resource     `json:"initiator"`
	Target      Resource     `json:"target"`
	Observer    Resource     `json:"observer"`
	Tags        []string     `json:"tags,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Reason explains an outcome.
type Reason struct {
	ReasonType string `json:"reasonType"`
	ReasonCode string `json:"reasonCode"`
}

// Resource is a CADF resource: initiator, target or observer.
type Resource struct {
	TypeURI     string       `json:"typeURI"`
	ID          string       `json:"id"`
	Name        string       `json:"name,omitempty"`
	Host        *Host        `json:"host,omitempty"`
	Geolocation *Geolocation `json:"geolocation,omitempty"`
}

// Host is where an initiator acted from.
type Host struct {
	Address string `json:"address,omitempty"`
	Agent   string `json:"agent,omitempty"`
}

// Geolocation is the initiator's location as enriched at ingest.
type Geolocation struct {
	Country string `json:"country,omitempty"`
	Region  string `json:"region,omitempty"`
	City    string `json:"city,omitempty"`
}

// Attachment carries a Vigil field CADF has no element for.
type Attachment struct {
	TypeURI string `json:"typeURI"`
	Name    string `json:"name"`
	Content string `json:"content"`
}

// OutcomeReasonType names the code system of Reason.ReasonCode: FHIR's
// AuditEvent outcome codes, which Vigil's outcomes are.
const OutcomeReasonType = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"

// FromEvent renders e as a CADF event. action follows CADF's taxonomy
// from the event's FHIR action code (C create, R read, U update,
// D delete; E, which CADF has no verb for, is "authenticate/login" (or
// logout) for logins and "unknown" otherwise, Vigil's action attached).
func FromEvent(e vigil.Event, fhirAction string) Event {
	c := Event{
		TypeURI:   TypeURI,
		ID:        e.ID,
		EventType: "activity",
		EventTime: e.OccurredAt.UTC().Format(time.RFC3339Nano),
		Action:    action(fhirAction, e),
		Outcome:   "success",
		Initiator: Resource{TypeURI: initiatorType(e.ActorType), ID: e.ActorID, Name: e.ActorName},
		Observer:  Resource{TypeURI: "service/security", ID: observerID(e.Source), Name: e.Source},
	}
	if e.Outcome != vigil.OutcomeSuccess && e.Outcome != "" {
		c.Outcome = "failure"
		c.Reason = &Reason{ReasonType: OutcomeReasonType, ReasonCode: map[vigil.Outcome]string{
			vigil.OutcomeMinorFailure: "4", vigil.OutcomeFailure: "8", vigil.OutcomeSeriousFailure: "12"}[e.Outcome]}
	}
	if e.IPAddress != "" || e.UserAgent != "" {
		c.Initiator.Host = &Host{Address: e.IPAddress, Agent: e.UserAgent}
	}
	if e.IPCountry != "" || e.IPRegion != "" || e.IPCity != "" {
		c.Initiator.Geolocation = &Geolocation{Country: e.IPCountry, Region: e.IPRegion, City: e.IPCity}
	}
	switch {
	case e.PatientID != "" && (e.Resource == "" || e.Resource == "Patient" && e.ResourceID == e.PatientID):
		c.Target = Resource{TypeURI: "data/patient", ID: "Patient/" + e.PatientID, Name: e.ResourceName}
	case e.Resource != "" || e.ResourceID != "":
		c.Target = Resource{TypeURI: "data/" + orUnknown(e.Resource), ID: joinRef(e.Resource, e.ResourceID), Name: e.ResourceName}
	default:
		c.Target = Resource{TypeURI: "unknown", ID: "unknown"}
	}
	attach := func(name, v string) {
		if v != "" {
			c.Attachments = append(c.Attachments, Attachment{TypeURI: "text/plain", Name: name, Content: v})
		}
	}
	attach("vigil.action", e.Action)
	if c.Target.TypeURI != "data/patient" {
		attach("patient_id", e.PatientID)
	}
	attach("purpose_of_use", e.PurposeOfUse)
	attach("session_id", e.SessionID)
	attach("tenant_id", e.TenantID)
	for _, t := range e.Targets {
		attach("target", joinRef(t.Type, t.ID))
	}
	return c
}

func action(code string, e vigil.Event) string {
	switch code {
	case "C":
		return "create"
	case "R":
		return "read"
	case "U":
		return "update"
	case "D":
		return "delete"
	}
	switch {
	case e.ActionCategory == "login" || e.Action == "login" || e.Action == "user.login" || e.Action == "auth.login":
		return "authenticate/login"
	case e.ActionCategory == "logout" || e.Action == "logout" || e.Action == "user.logout" || e.Action == "auth.logout":
		return "authenticate/logout"
	case e.ActionCategory == "110114": // DICOM User Authentication
		return "authenticate"
	}
	return "unknown"
}

func initiatorType(actorType string) string {
	switch actorType {
	case "api_key", "service", "system", "Device":
		return "service"
	}
	return "data/security/account/user"
}

func observerID(source string) string {
	if source == "" {
		return "vigil"
	}
	return source
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func joinRef(typ, id string) string {
	switch {
	case typ != "" && id != "":
		return typ + "/" + id
	case id != "":
		return id
	}
	return typ
}
