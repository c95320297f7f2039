package fhir_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/ledger"
)

// TestSpecExamplesRoundTrip: the R4 and BALP examples are accepted, mapped
// onto Vigil's columns, and served back with every element they had.
func TestSpecExamplesRoundTrip(t *testing.T) {
	want := map[string]vigil.Event{
		"r4-example.json": {ActorID: "Grahame", Action: "execute", ActionCategory: "110100", Outcome: vigil.OutcomeSuccess,
			IPAddress: "127.0.0.1", Source: "Grahame's Laptop", ResourceID: "Grahame's Laptop", ResourceName: "Grahame's Laptop",
			OccurredAt: time.Date(2012, 10, 25, 11, 4, 27, 0, time.UTC)},
		"r4-example-login.json": {ActorID: "95", ActorName: "Grahame Grieve", Action: "execute", ActionCategory: "110114",
			Outcome: vigil.OutcomeSuccess, IPAddress: "127.0.0.1", Source: "hl7connect.healthintersections.com.au",
			OccurredAt: time.Date(2013, 6, 20, 23, 41, 23, 0, time.UTC)},
		"r4-example-rest.json": {ActorID: "95", ActorName: "Grahame Grieve", Action: "read", ActionCategory: "rest",
			Outcome: vigil.OutcomeSuccess, IPAddress: "127.0.0.1", Source: "hl7connect.healthintersections.com.au",
			PatientID: "example", Resource: "Patient", ResourceID: "example",
			OccurredAt: time.Date(2013, 6, 20, 23, 42, 24, 0, time.UTC)},
		"balp-ex-auditBasicReadServer.json": {ActorID: "John Smith", Action: "read", ActionCategory: "rest",
			Outcome: vigil.OutcomeSuccess, IPAddress: "2001:db8:85a3::8a2e:370:7334", Source: "Device/ex-device",
			PatientID: "ex-patient", Resource: "List", ResourceID: "ex-list",
			OccurredAt: time.Date(2020, 4, 29, 9, 49, 0, 0, time.UTC)},
		"balp-ex-auditBasicReadNoPatient.json": {ActorID: "John Smith", Action: "read", ActionCategory: "rest",
			Outcome: vigil.OutcomeSuccess, IPAddress: "2001:db8:85a3::8a2e:370:7334", Source: "Device/ex-device",
			Resource: "MeasureReport", ResourceID: "ex-measurereport",
			OccurredAt: time.Date(2020, 4, 29, 9, 49, 0, 0, time.UTC)},
		"balp-ex-auditBasicCreate.json": {ActorID: "John Smith", Action: "create", ActionCategory: "rest",
			Outcome: vigil.OutcomeSuccess, IPAddress: "2001:db8:85a3::8a2e:370:7334", Source: "Device/ex-device",
			PatientID: "ex-patient", Resource: "List", ResourceID: "ex-list",
			OccurredAt: time.Date(2020, 4, 29, 9, 49, 0, 0, time.UTC)},
		"balp-ex-auditBasicReadOServer.json": {ActorID: "35fb1058-7f36-415b-b862-677a37c95f35", ActorName: "JohnSmith", Action: "read",
			ActionCategory: "rest", Outcome: vigil.OutcomeSuccess, IPAddress: "2001:db8:85a3::8a2e:370:7334", Source: "Device/ex-device",
			PatientID: "ex-patient", Resource: "List", ResourceID: "ex-list",
			OccurredAt: time.Date(2020, 4, 29, 9, 49, 0, 0, time.UTC)},
	}
	names := append(fixtures(t, "r4-*.json"), fixtures(t, "balp-*.json")...)
	if len(names) != len(want) {
		t.Fatalf("%d fixtures, %d expectations", len(names), len(want))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			body := readFixture(t, name)
			a, err := fhir.ParseAuditEvent(body)
			if err != nil {
				t.Fatalf("refused: %v %v", err, vigil.ErrorDetails(err))
			}
			e, err := fhir.ToEvent(a)
			if err != nil {
				t.Fatalf("not mapped: %v %v", err, vigil.ErrorDetails(err))
			}
			w := want[name]
			got := e
			got.Metadata, got.Targets, got.ActorType = nil, nil, ""
			if name == "r4-example-rest.json" || strings.HasPrefix(name, "balp-") {
				got.ResourceName = ""
			}
			if !got.OccurredAt.Equal(w.OccurredAt) {
				t.Errorf("occurred_at %v, want %v", got.OccurredAt, w.OccurredAt)
			}
			got.OccurredAt, w.OccurredAt = time.Time{}, time.Time{}
			if got.Outcome == "" {
				got.Outcome = vigil.OutcomeSuccess
			}
			if !equalEvents(got, w) {
				t.Errorf("columns\n got %+v\nwant %+v", got, w)
			}
			stored := store(t, e)
			sameExceptServer(t, body, fhir.FromEvent(stored), stored.ID)
		})
	}
}

func equalEvents(a, b vigil.Event) bool {
	return a.ActorID == b.ActorID && a.ActorName == b.ActorName && a.Action == b.Action &&
		a.ActionCategory == b.ActionCategory && a.Outcome == b.Outcome && a.IPAddress == b.IPAddress &&
		a.Source == b.Source && a.PatientID == b.PatientID && a.Resource == b.Resource &&
		a.ResourceID == b.ResourceID && a.ResourceName == b.ResourceName && a.PurposeOfUse == b.PurposeOfUse
}

// TestParseErrors: every refusal names the element, by its FHIR path.
func TestParseErrors(t *testing.T) {
	valid := string(readFixture(t, "r4-example-login.json"))
	cases := []struct {
		name, body, code, path string
	}{
		{"not JSON", `{"resourceType":`, vigil.EMALFORMED, ""},
		{"array", `[]`, vigil.EMALFORMED, ""},
		{"trailing", `{"resourceType":"AuditEvent"} {}`, vigil.EMALFORMED, ""},
		{"wrong resourceType", `{"resourceType":"Patient","id":"x"}`, vigil.EINVALID, "resourceType"},
		{"no resourceType", strings.Replace(valid, `"resourceType": "AuditEvent",`, "", 1), vigil.EINVALID, "AuditEvent.resourceType"},
		{"no type", `{"resourceType":"AuditEvent","recorded":"2024-01-01T00:00:00Z","agent":[{"requestor":true,"name":"a"}],"source":{"observer":{"display":"x"}}}`, vigil.EINVALID, "AuditEvent.type"},
		{"no recorded", strings.Replace(valid, `"recorded": "2013-06-20T23:41:23Z",`, "", 1), vigil.EINVALID, "AuditEvent.recorded"},
		{"recorded without zone", strings.Replace(valid, `2013-06-20T23:41:23Z`, `2013-06-20T23:41:23`, 1), vigil.EINVALID, "AuditEvent.recorded"},
		{"recorded a date", strings.Replace(valid, `2013-06-20T23:41:23Z`, `2013-06-20`, 1), vigil.EINVALID, "AuditEvent.recorded"},
		{"bad action", strings.Replace(valid, `"action": "E"`, `"action": "X"`, 1), vigil.EINVALID, "AuditEvent.action"},
		{"bad outcome", strings.Replace(valid, `"outcome": "0"`, `"outcome": "1"`, 1), vigil.EINVALID, "AuditEvent.outcome"},
		{"outcome as number", strings.Replace(valid, `"outcome": "0"`, `"outcome": 0`, 1), vigil.EINVALID, "AuditEvent.outcome"},
		{"no agent", `{"resourceType":"AuditEvent","type":{"code":"x"},"recorded":"2024-01-01T00:00:00Z","source":{"observer":{"display":"x"}}}`, vigil.EINVALID, "AuditEvent.agent"},
		{"empty agent", `{"resourceType":"AuditEvent","type":{"code":"x"},"recorded":"2024-01-01T00:00:00Z","agent":[],"source":{"observer":{"display":"x"}}}`, vigil.EINVALID, "AuditEvent.agent"},
		{"no requestor", strings.Replace(valid, `"requestor": true,`, "", 1), vigil.EINVALID, "AuditEvent.agent[0].requestor"},
		{"requestor a string", strings.Replace(valid, `"requestor": true`, `"requestor": "yes"`, 1), vigil.EINVALID, "AuditEvent.agent[0].requestor"},
		{"no source", `{"resourceType":"AuditEvent","type":{"code":"x"},"recorded":"2024-01-01T00:00:00Z","agent":[{"requestor":true,"name":"a"}]}`, vigil.EINVALID, "AuditEvent.source"},
		{"no observer", `{"resourceType":"AuditEvent","type":{"code":"x"},"recorded":"2024-01-01T00:00:00Z","agent":[{"requestor":true,"name":"a"}],"source":{"site":"x"}}`, vigil.EINVALID, "AuditEvent.source.observer"},
		{"unknown element", strings.Replace(valid, `"altId": "601847123",`, `"altId": "601847123", "nickname": "G",`, 1), vigil.EINVALID, "AuditEvent.agent[0].nickname"},
		{"primitive extension", strings.Replace(valid, `"action": "E",`, `"action": "E", "_action": {"id": "a"},`, 1), vigil.EINVALID, "AuditEvent._action"},
		{"null", strings.Replace(valid, `"altId": "601847123"`, `"altId": null`, 1), vigil.EINVALID, "AuditEvent.agent[0].altId"},
		{"empty string", strings.Replace(valid, `"altId": "601847123"`, `"altId": ""`, 1), vigil.EINVALID, "AuditEvent.agent[0].altId"},
		{"empty object", strings.Replace(valid, `"altId": "601847123"`, `"location": {}`, 1), vigil.EINVALID, "AuditEvent.agent[0].location"},
		{"modifierExtension", strings.Replace(valid, `"action": "E",`, `"action": "E", "modifierExtension": [{"url": "http://x"}],`, 1), vigil.EINVALID, "AuditEvent.modifierExtension"},
		{"detail with two values", `{"resourceType":"AuditEvent","type":{"code":"x"},"recorded":"2024-01-01T00:00:00Z","agent":[{"requestor":true,"name":"a"}],"source":{"observer":{"display":"x"}},"entity":[{"name":"n","detail":[{"type":"t","valueString":"a","valueBase64Binary":"YQ=="}]}]}`, vigil.EINVALID, "AuditEvent.entity[0].detail[0]"},
		{"name and query", `{"resourceType":"AuditEvent","type":{"code":"x"},"recorded":"2024-01-01T00:00:00Z","agent":[{"requestor":true,"name":"a"}],"source":{"observer":{"display":"x"}},"entity":[{"name":"n","query":"YQ=="}]}`, vigil.EINVALID, "AuditEvent.entity[0]"},
		{"invalid period", strings.Replace(valid, `"action": "E",`, `"action": "E", "period": {"start": "yesterday"},`, 1), vigil.EINVALID, "AuditEvent.period.start"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := fhir.ParseAuditEvent([]byte(c.body))
			if err == nil {
				t.Fatal("accepted")
			}
			if vigil.ErrorCode(err) != c.code {
				t.Fatalf("code %s, want %s: %v", vigil.ErrorCode(err), c.code, err)
			}
			if c.path == "" {
				return
			}
			for _, d := range vigil.ErrorDetails(err) {
				if d.Field == c.path {
					return
				}
			}
			t.Errorf("no detail names %s: %+v", c.path, vigil.ErrorDetails(err))
		})
	}
}

// TestOversizedColumns: an element longer than the column it maps to, or
// holding what the column's kind refuses, is refused by vigil.Prepare
// with the message every route gives, and named by its path, not cut.
func TestOversizedColumns(t *testing.T) {
	long := strings.Repeat("a", vigil.MaxIDLength+1)
	for _, c := range []struct{ who, entity, want, msg string }{
		{long, "Patient/p", "AuditEvent.agent[0].who", "must be at most " + strconv.Itoa(vigil.MaxIDLength) + " bytes"},
		{"dr\u200ba", "Patient/p", "AuditEvent.agent[0].who", "must not contain an invisible format character (U+200B at byte 2)"},
		{"dr", "Patient/" + long, "AuditEvent.entity[0].what", "must be at most " + strconv.Itoa(vigil.MaxIDLength) + " bytes"},
		{"dr", "Observation/o\u202e", "AuditEvent.entity[0].what", "must not contain an invisible format character (U+202E at byte 1)"},
	} {
		body, _ := json.Marshal(map[string]any{"resourceType": "AuditEvent", "type": map[string]any{"code": "x"}, "recorded": "2024-01-01T00:00:00Z",
			"agent":  []any{map[string]any{"requestor": true, "who": map[string]any{"identifier": map[string]any{"value": c.who}}}},
			"source": map[string]any{"observer": map[string]any{"display": "x"}},
			"entity": []any{map[string]any{"what": map[string]any{"reference": c.entity}}}})
		a, err := fhir.ParseAuditEvent(body)
		if err != nil {
			t.Fatal(err)
		}
		e, err := fhir.ToEvent(a)
		if err != nil {
			t.Fatal(err)
		}
		_, err = vigil.Prepare(e, ledger.Canonicalize)
		ds := vigil.ErrorDetails(fhir.ElementPaths(a, err))
		if vigil.ErrorCode(err) != vigil.EINVALID || len(ds) != 1 || ds[0].Field != c.want || ds[0].Message != c.msg {
			t.Errorf("%s %s: got %v %+v, want %s: %s", c.who, c.entity, err, ds, c.want, c.msg)
		}
	}
}

// TestBALPView: an event recorded through Vigil's own API reads as a
// BALP-shaped AuditEvent with the patient entity.
func TestBALPView(t *testing.T) {
	e := vigil.Event{
		ID: "0193a6f0-0000-7000-8000-000000000002", ActorID: "dr_m4k8p2", ActorName: "Dr. Emily Nakamura", ActorType: "physician",
		Action: "patient_record.viewed", Resource: "patient_record", ResourceID: "pat_7f3a9c2d", ResourceName: "Record #7f3a9c2d",
		PatientID: "pat_7f3a9c2d", PurposeOfUse: "TREAT", IPAddress: "203.0.113.9", Outcome: vigil.OutcomeFailure,
		Targets:    []vigil.Target{{Type: "prescription", ID: "rx_1"}},
		OccurredAt: time.Date(2024, 6, 15, 8, 30, 0, 0, time.UTC), CreatedAt: time.Date(2024, 6, 15, 8, 30, 1, 0, time.UTC),
	}
	a := fhir.FromEvent(e)
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", a.ID, e.ID},
		{"type", a.Type.Code, "rest"},
		{"action", a.Action, "R"},
		{"subtype", a.Subtype[0].Code, "read"},
		{"vigil action", a.Subtype[1].Code, "patient_record.viewed"},
		{"outcome", a.Outcome, "8"},
		{"recorded", a.Recorded, "2024-06-15T08:30:00Z"},
		{"lastUpdated", a.Meta.LastUpdated, "2024-06-15T08:30:01Z"},
		{"profile", a.Meta.Profile[0], "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"},
		{"who", a.Agent[0].Who.Identifier.Value, "dr_m4k8p2"},
		{"name", a.Agent[0].Name, "Dr. Emily Nakamura"},
		{"requestor", *a.Agent[0].Requestor, true},
		{"address", a.Agent[0].Network.Address, "203.0.113.9"},
		{"purpose", a.PurposeOfEvent[0].Coding[0].Code, "TREAT"},
		{"patient", a.Entity[0].What.Reference, "Patient/pat_7f3a9c2d"},
		{"patient role", a.Entity[0].Role.Code, "1"},
		{"data", a.Entity[1].What.Reference, "patient_record/pat_7f3a9c2d"},
		{"data name", a.Entity[1].Name, "Record #7f3a9c2d"},
		{"target", a.Entity[2].What.Reference, "prescription/rx_1"},
		{"observer", a.Source.Observer.Display, "Vigil"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	// The view is itself a valid AuditEvent.
	if _, err := fhir.ParseAuditEvent(mustJSON(t, a)); err != nil {
		t.Fatalf("the view does not parse: %v %+v", err, vigil.ErrorDetails(err))
	}
}

func TestActionCode(t *testing.T) {
	for action, want := range map[string]string{
		"patient.read": "R", "record.viewed": "R", "prescription.created": "C", "chart.updated": "U",
		"note.deleted": "D", "user.login": "E", "export": "R", "": "E", "vigil.events.query": "R", "x.PATCH": "U",
	} {
		if got := fhir.ActionCode(action); got != want {
			t.Errorf("ActionCode(%q) = %s, want %s", action, got, want)
		}
	}
	for o, want := range map[vigil.Outcome]string{vigil.OutcomeSuccess: "0", vigil.OutcomeMinorFailure: "4", vigil.OutcomeFailure: "8", vigil.OutcomeSeriousFailure: "12"} {
		if got := fhir.OutcomeCode(o); got != want {
			t.Errorf("OutcomeCode(%s) = %s, want %s", o, got, want)
		}
	}
}

// TestToEventChecksItsInput: an AuditEvent that did not come through
// ParseAuditEvent is validated again, not mapped blindly.
func TestToEventChecksItsInput(t *testing.T) {
	for _, a := range []fhir.AuditEvent{{}, {ResourceType: "AuditEvent"}, {ResourceType: "AuditEvent", Type: &fhir.Coding{Code: "x"}, Recorded: "2024-01-01T00:00:00Z"}} {
		if _, err := fhir.ToEvent(a); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("%+v: %v", a, err)
		}
	}
}

// TestVigilRoundTrip: a Vigil event read as FHIR and sent back in maps onto
// the same columns (but action_category, which the BALP view has no place
// for: it reads back as the view's type, rest).
func TestVigilRoundTrip(t *testing.T) {
	for _, e := range []vigil.Event{
		{ActorID: "dr_m4k8p2", ActorName: "Dr. Emily Nakamura", ActorType: "physician", Action: "patient_record.viewed",
			Resource: "patient_record", ResourceID: "pat_7f3a9c2d", ResourceName: "Record #7f3a9c2d", PatientID: "pt_1",
			PurposeOfUse: "TREAT", IPAddress: "203.0.113.9", Outcome: vigil.OutcomeFailure, Source: "EHR",
			Targets: []vigil.Target{{Type: "prescription", ID: "rx_1", Name: "Rx"}}},
		{ActorID: "svc", Action: "export", Outcome: vigil.OutcomeSuccess, Source: "batch"},
		{ActorID: "u", Action: "note.deleted", Resource: "Patient", ResourceID: "pt_2", PatientID: "pt_2", Outcome: vigil.OutcomeMinorFailure, Source: "s"},
	} {
		e.ID, e.OccurredAt, e.CreatedAt = "0193a6f0-0000-7000-8000-000000000004", time.Date(2024, 6, 15, 8, 30, 0, 0, time.UTC), time.Now()
		a, err := fhir.ParseAuditEvent(mustJSON(t, fhir.FromEvent(e)))
		if err != nil {
			t.Fatalf("%v %+v", err, vigil.ErrorDetails(err))
		}
		back, err := fhir.ToEvent(a)
		if err != nil {
			t.Fatalf("%v %+v", err, vigil.ErrorDetails(err))
		}
		if back.ActionCategory != "rest" {
			t.Errorf("action_category %q", back.ActionCategory)
		}
		back.ActionCategory = ""
		if !equalEvents(back, e) || back.ActorType != e.ActorType || !back.OccurredAt.Equal(e.OccurredAt) || len(back.Targets) != len(e.Targets) ||
			len(e.Targets) > 0 && !reflect.DeepEqual(back.Targets[0], e.Targets[0]) {
			t.Errorf("round trip\n got %+v\nwant %+v", back, e)
		}
	}
}
