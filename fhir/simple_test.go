package fhir_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/fhir"
)

// TestSeed001Shapes: the four examples of seed 001 map onto events and
// come back unchanged in the simplified shape, and as valid R4 resources.
func TestSeed001Shapes(t *testing.T) {
	want := map[string]vigil.Event{
		"seed001-rest.json": {ActorID: "prac_dr456", ActorName: "Dr. Sarah Chen", Action: "read", ActionCategory: "rest",
			IPAddress: "10.0.1.42", Source: "EHR Application", PatientID: "pt_abc123", Resource: "Patient", ResourceID: "pt_abc123",
			ResourceName: "Patient Record", Outcome: vigil.OutcomeSuccess},
		"seed001-login.json": {ActorID: "user_nurse789", ActorName: "Nurse Johnson", Action: "execute", ActionCategory: "login",
			IPAddress: "192.168.1.50", Source: "Authentication Service", Outcome: vigil.OutcomeSuccess},
		"seed001-denied.json": {ActorID: "user_intern001", ActorName: "Medical Intern", Action: "read", ActionCategory: "rest",
			Source: "Authorization Service", PatientID: "pt_restricted999", Resource: "Patient", ResourceID: "pt_restricted999",
			ResourceName: "Restricted Patient Record", Outcome: vigil.OutcomeFailure},
		"seed001-export.json": {ActorID: "admin_user001", ActorName: "System Administrator", Action: "read", ActionCategory: "export",
			Source: "Bulk Export Service", PurposeOfUse: "HIPAA Operations", Outcome: vigil.OutcomeSuccess},
	}
	for _, name := range fixtures(t, "seed001-*.json") {
		t.Run(name, func(t *testing.T) {
			body := readFixture(t, name)
			a, err := fhir.ParseSimple(body)
			if err != nil {
				t.Fatalf("%v %+v", err, vigil.ErrorDetails(err))
			}
			e, err := fhir.ToEvent(a)
			if err != nil {
				t.Fatalf("%v %+v", err, vigil.ErrorDetails(err))
			}
			if !equalEvents(e, want[name]) {
				t.Errorf("columns\n got %+v\nwant %+v", e, want[name])
			}
			stored := store(t, e)
			view := fhir.FromEvent(stored)
			if _, err := fhir.ParseAuditEvent(mustJSON(t, view)); err != nil {
				t.Errorf("the stored resource is not a valid R4 AuditEvent: %v %+v", err, vigil.ErrorDetails(err))
			}
			back := generic(t, mustJSON(t, fhir.ToSimple(view))).(map[string]any)
			if back["id"] != stored.ID {
				t.Errorf("id %v", back["id"])
			}
			delete(back, "id")
			if sent := generic(t, body); !reflect.DeepEqual(sent, back) {
				t.Errorf("simplified round trip:\nsent %s\nback %s", mustJSON(t, sent), mustJSON(t, back))
			}
		})
	}
}

func TestSimpleErrors(t *testing.T) {
	for body, field := range map[string]string{
		`{"type":"rest","recorded":"2024-06-15T08:30:00Z","agent":[{"who":"a","requestor":true}]}`:                                  "source",
		`{"recorded":"2024-06-15T08:30:00Z","agent":[{"who":"a"}],"source":{"observer":"x"}}`:                                       "type",
		`{"type":"rest","agent":[{"who":"a"}],"source":{"observer":"x"}}`:                                                           "recorded",
		`{"type":"rest","recorded":"2024-06-15T08:30:00Z","source":{"observer":"x"}}`:                                               "agent",
		`{"type":"rest","recorded":"2024-06-15","agent":[{"who":"a"}],"source":{"observer":"x"}}`:                                   "recorded",
		`{"type":"rest","recorded":"2024-06-15T08:30:00Z","action":"Z","agent":[{"who":"a"}],"source":{"observer":"x"}}`:            "action",
		`{"type":"rest","recorded":"2024-06-15T08:30:00Z","outcome":"3","agent":[{"who":"a"}],"source":{"observer":"x"}}`:           "outcome",
		`{"type":"rest","recorded":"2024-06-15T08:30:00Z","agent":[{"who":"a","networkAdress":"x"}],"source":{"observer":"x"}}`:     "agent[0].networkAdress",
		`{"type":"rest","recorded":"2024-06-15T08:30:00Z","agent":[{"who":"a"}],"source":{"observer":"x"},"entity":[{"what":7}]}`:   "entity[0].what",
		`{"id":"x","type":"rest","recorded":"2024-06-15T08:30:00Z","agent":[{"who":"a"}],"source":{"observer":"x"}}`:                "id",
		`{"type":"rest","recorded":"2024-06-15T08:30:00Z","subtype":"read","agent":[{"who":"a"}],"source":{"observer":"x"}}`:        "subtype",
		`{"type":"rest","recorded":"2024-06-15T08:30:00Z","agent":[{"who":"a"}],"source":{"observer":"x"},"purposeOfEvent":[null]}`: "purposeOfEvent[0]",
	} {
		_, err := fhir.ParseSimple([]byte(body))
		found := false
		for _, d := range vigil.ErrorDetails(err) {
			found = found || d.Field == field
		}
		if vigil.ErrorCode(err) != vigil.EINVALID || !found {
			t.Errorf("%s: %v %+v, want a detail on %s", body, err, vigil.ErrorDetails(err), field)
		}
	}
	if _, err := fhir.ParseSimple([]byte(`{"type":`)); vigil.ErrorCode(err) != vigil.EMALFORMED {
		t.Errorf("malformed: %v", err)
	}
	if !strings.Contains(vigil.ErrorMessage(func() error { _, err := fhir.ParseSimple([]byte(`[1]`)); return err }()), "object") {
		t.Error("an array body is not named")
	}
}
