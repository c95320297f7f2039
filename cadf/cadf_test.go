package cadf_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/cadf"
)

func TestFromEvent(t *testing.T) {
	e := vigil.Event{
		ID: "0193a6f0-0000-7000-8000-000000000003", ActorID: "dr_m4k8p2", ActorName: "Dr. Emily Nakamura", ActorType: "physician",
		Action: "patient_record.viewed", Resource: "patient_record", ResourceID: "pat_7f3a9c2d", ResourceName: "Record #7f3a9c2d",
		PatientID: "pat_7f3a9c2d", PurposeOfUse: "TREAT", IPAddress: "203.0.113.9", UserAgent: "EHR/1.0",
		IPCountry: "US", Outcome: vigil.OutcomeFailure, Source: "EHR", SessionID: "sess_1",
		OccurredAt: time.Date(2024, 6, 15, 8, 30, 0, 5, time.UTC),
	}
	c := cadf.FromEvent(e, "R")
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	initiator := got["initiator"].(map[string]any)
	target := got["target"].(map[string]any)
	observer := got["observer"].(map[string]any)
	reason := got["reason"].(map[string]any)
	checks := []struct {
		name      string
		got, want any
	}{
		{"typeURI", got["typeURI"], "http://schemas.dmtf.org/cloud/audit/1.0/event"},
		{"id", got["id"], e.ID},
		{"eventType", got["eventType"], "activity"},
		{"eventTime", got["eventTime"], "2024-06-15T08:30:00.000000005Z"},
		{"action", got["action"], "read"},
		{"outcome", got["outcome"], "failure"},
		{"reasonCode", reason["reasonCode"], "8"},
		{"initiator id", initiator["id"], "dr_m4k8p2"},
		{"initiator name", initiator["name"], "Dr. Emily Nakamura"},
		{"initiator typeURI", initiator["typeURI"], "data/security/account/user"},
		{"host", initiator["host"].(map[string]any)["address"], "203.0.113.9"},
		{"agent", initiator["host"].(map[string]any)["agent"], "EHR/1.0"},
		{"country", initiator["geolocation"].(map[string]any)["country"], "US"},
		{"target id", target["id"], "patient_record/pat_7f3a9c2d"},
		{"target typeURI", target["typeURI"], "data/patient_record"},
		{"observer", observer["id"], "EHR"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	attached := map[string]string{}
	for _, a := range c.Attachments {
		attached[a.Name] = a.Content
	}
	for k, v := range map[string]string{"vigil.action": "patient_record.viewed", "patient_id": "pat_7f3a9c2d", "purpose_of_use": "TREAT", "session_id": "sess_1"} {
		if attached[k] != v {
			t.Errorf("attachment %s = %q, want %q", k, attached[k], v)
		}
	}
}

func TestActions(t *testing.T) {
	cases := []struct {
		code string
		e    vigil.Event
		want string
	}{
		{"C", vigil.Event{}, "create"},
		{"R", vigil.Event{}, "read"},
		{"U", vigil.Event{}, "update"},
		{"D", vigil.Event{}, "delete"},
		{"E", vigil.Event{ActionCategory: "login"}, "authenticate/login"},
		{"E", vigil.Event{Action: "user.logout"}, "authenticate/logout"},
		{"E", vigil.Event{ActionCategory: "110114"}, "authenticate"},
		{"E", vigil.Event{Action: "job.run"}, "unknown"},
	}
	for _, c := range cases {
		if got := cadf.FromEvent(c.e, c.code).Action; got != c.want {
			t.Errorf("%s %+v: %s, want %s", c.code, c.e, got, c.want)
		}
	}
	// A patient-only event targets the patient; success has no reason.
	c := cadf.FromEvent(vigil.Event{PatientID: "p1", Outcome: vigil.OutcomeSuccess, ActorType: "api_key"}, "R")
	if c.Target.ID != "Patient/p1" || c.Target.TypeURI != "data/patient" || c.Outcome != "success" || c.Reason != nil || c.Initiator.TypeURI != "service" || c.Observer.ID != "vigil" {
		t.Errorf("%+v", c)
	}
}
