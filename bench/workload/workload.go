// Package workload is the event shape Vigil's benchmarks measure with:
// `vigil bench` over HTTP and its raw SQLite baseline, and the in-process
// comparison with other logs in bench/peers. One definition, so every
// figure of a run is of the same rows.
//
// Event n of writer w is a physician's view of a medical record: actor
// dr_<w%97>, action patient.record.viewed on a MedicalRecord with a
// resource_id of its own, one patient among 100,000, the writer's session,
// a tenant, an outcome, an address and metadata {"n", "reason"}.
package workload

import (
	"encoding/json"
	"strconv"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

const (
	// Actors and Patients are how many distinct actors and patients the
	// events name.
	Actors   = 97
	Patients = 100_000

	// First is the first event number. Numbers from First to Last have
	// the same number of digits, so an encoded body keeps its length
	// whatever numbers it carries (Template).
	First int64 = 1_000_000_000_000
	Last  int64 = 9_999_999_999_999

	Action   = "patient.record.viewed"
	Resource = "MedicalRecord"
	Tenant   = "clinic_bayview"
)

// Event returns event number n (First <= n <= Last) of writer w.
// Metadata is in canonical form, as the store keeps it.
func Event(w int, n int64) vigil.Event {
	ns := strconv.FormatInt(n, 10)
	return vigil.Event{
		ActorID:    "dr_" + strconv.Itoa(w%Actors),
		ActorName:  "Dr. Emily Nakamura",
		ActorType:  "physician",
		Action:     Action,
		Resource:   Resource,
		ResourceID: "rec_" + ns,
		PatientID:  patient(n),
		SessionID:  "sess_" + strconv.Itoa(w),
		TenantID:   Tenant,
		Outcome:    vigil.OutcomeSuccess,
		IPAddress:  "203.0.113." + strconv.Itoa(w%254+1),
		Metadata:   json.RawMessage(`{"n":` + ns + `,"reason":"treatment"}`),
	}
}

// patient is "pt_" and the last five digits of n: one of Patients.
func patient(n int64) string {
	p := strconv.FormatInt(n%Patients+Patients, 10) // 1xxxxx: five digits after the 1
	return "pt_" + p[1:]
}

// Input is Event(w, n) as the body of POST /api/v1/events.
func Input(w int, n int64) api.EventInput {
	e := Event(w, n)
	return api.EventInput{
		ActorID: e.ActorID, ActorName: e.ActorName, ActorType: e.ActorType, Action: e.Action,
		Resource: e.Resource, ResourceID: e.ResourceID, PatientID: e.PatientID, SessionID: e.SessionID,
		TenantID: e.TenantID, Outcome: string(e.Outcome), IPAddress: e.IPAddress, Metadata: e.Metadata,
	}
}
