package http

import (
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/fhir"
)

// toEvent turns a decoded payload into a domain event. Field checks beyond
// the JSON shape are vigil.Prepare's, on the write path; only the
// timestamp, which has no domain form before parsing, is read here, by the
// one parser of client times.
func toEvent(in api.EventInput) (vigil.Event, []vigil.ErrorDetail) {
	e := vigil.Event{
		ActorID: in.ActorID, ActorName: in.ActorName, ActorType: in.ActorType,
		Action: in.Action, ActionCategory: in.ActionCategory,
		Resource: in.Resource, ResourceID: in.ResourceID, ResourceName: in.ResourceName,
		Metadata: in.Metadata, TenantID: in.TenantID, SessionID: in.SessionID,
		IdempotencyKey: in.IdempotencyKey, Version: string(in.Version),
		Outcome: vigil.Outcome(in.Outcome), PatientID: in.PatientID, PurposeOfUse: in.PurposeOfUse,
		IPAddress: in.IPAddress, UserAgent: in.UserAgent, Source: in.Source,
	}
	for _, t := range in.Targets {
		e.Targets = append(e.Targets, vigil.Target{Type: t.Type, ID: t.ID, Name: t.Name, Metadata: t.Metadata})
	}
	var details []vigil.ErrorDetail
	if reservedMetadata(in.Metadata) {
		details = append(details, vigil.ErrorDetail{Field: "metadata." + fhir.MetadataKey, Message: "is reserved for events recorded as FHIR AuditEvents (POST /fhir/R4/AuditEvent)"})
	}
	if in.OccurredAt != "" {
		sp, err := vigil.ParseTime(in.OccurredAt, vigil.TimeInstant)
		if err != nil {
			details = append(details, vigil.ErrorDetail{Field: "occurred_at", Message: err.Error()})
		}
		e.OccurredAt = sp.Start
	}
	return e, details
}

func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// toAPIEvent renders an event in the read shape.
func toAPIEvent(e vigil.Event, in *vigil.Integrity) api.Event {
	out := api.Event{
		ID: e.ID, Sequence: e.Sequence,
		Actor:   api.Actor{ID: e.ActorID, Name: str(e.ActorName), Type: str(e.ActorType)},
		ActorID: e.ActorID, ActorName: str(e.ActorName), ActorType: str(e.ActorType),
		Action: e.Action, ActionCategory: str(e.ActionCategory),
		Targets:  []api.Target{},
		Metadata: e.Metadata,
		TenantID: str(e.TenantID), SessionID: str(e.SessionID),
		IPAddress: str(e.IPAddress), IPCountry: str(e.IPCountry), IPCity: str(e.IPCity), IPRegion: str(e.IPRegion),
		UserAgent: str(e.UserAgent), IdempotencyKey: str(e.IdempotencyKey), Version: str(e.Version),
		Outcome: string(e.Outcome), PatientID: str(e.PatientID), PurposeOfUse: str(e.PurposeOfUse), Source: str(e.Source),
		OccurredAt: e.OccurredAt.UTC().Format(time.RFC3339Nano),
		CreatedAt:  e.CreatedAt.UTC().Format(time.RFC3339Nano),
	}
	if e.Resource != "" || e.ResourceID != "" || e.ResourceName != "" {
		out.Resource = &api.Resource{Type: str(e.Resource), ID: str(e.ResourceID), Name: str(e.ResourceName)}
	}
	if len(out.Metadata) == 0 {
		out.Metadata = []byte("{}")
	}
	for _, t := range e.Targets {
		out.Targets = append(out.Targets, api.Target{Type: t.Type, ID: t.ID, Name: t.Name, Metadata: t.Metadata})
	}
	if in != nil {
		out.Integrity = &api.Integrity{EventHash: in.EventHash, PreviousEventHash: str(in.PreviousEventHash)}
	}
	if e.Seal != nil {
		out.Seal = &api.Seal{KeyID: e.Seal.KeyID, Commitments: make(map[string]string, len(e.Seal.Commitments))}
		for _, c := range e.Seal.Commitments {
			out.Seal.Commitments[c.Field] = c.Hash.String()
		}
	}
	return out
}

// indexDetails marks each detail with the batch index it belongs to.
func indexDetails(i int, ds []vigil.ErrorDetail) []vigil.ErrorDetail {
	for j := range ds {
		idx := i
		ds[j].Index = &idx
	}
	return ds
}

// joinQuery renders query parameters for the meta-audit record.
func joinQuery(v map[string][]string) map[string]string {
	out := map[string]string{}
	for k, vs := range v {
		out[k] = strings.Join(vs, ",")
	}
	return out
}
