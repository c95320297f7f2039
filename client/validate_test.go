package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/client"
	"github.com/vigilhq/vigil/ledger"
)

// TestChecksAgreeWithServer: the SDK's copy of the server's limits and
// character rules refuses what vigil.Prepare refuses, naming the same
// field, and passes what it passes, so an event is refused at Track rather
// than set aside from the spool later.
func TestChecksAgreeWithServer(t *testing.T) {
	if client.MaxIDLength != vigil.MaxIDLength || client.MaxTextLength != vigil.MaxTextLength || client.MaxTargets != vigil.MaxTargets ||
		client.MinYear != vigil.MinYear || client.MaxYear != vigil.MaxYear {
		t.Fatal("the SDK's limits differ from the server's")
	}
	// No server: Track checks an event before sending it, and the
	// context is done, so an event that passes fails at once on sending.
	c, err := client.New("http://127.0.0.1:1", "vgl_"+strings.Repeat("a", 43))
	if err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	base := client.Event{ActorID: "dr_a", Action: "record.read", IdempotencyKey: "k1", OccurredAt: time.Date(2024, 6, 15, 8, 30, 0, 0, time.UTC)}
	ids := map[string]func(*client.Event, string){
		"actor_id": func(e *client.Event, v string) { e.ActorID = v }, "action": func(e *client.Event, v string) { e.Action = v },
		"actor_type": func(e *client.Event, v string) { e.ActorType = v }, "tenant_id": func(e *client.Event, v string) { e.TenantID = v },
		"resource_id": func(e *client.Event, v string) { e.Resource.ID = v }, "patient_id": func(e *client.Event, v string) { e.PatientID = v },
		"session_id": func(e *client.Event, v string) { e.SessionID = v }, "purpose_of_use": func(e *client.Event, v string) { e.PurposeOfUse = v },
		"version":       func(e *client.Event, v string) { e.Version = v },
		"targets[0].id": func(e *client.Event, v string) { e.Targets = []client.Target{{Type: "t", ID: v}} },
	}
	names := map[string]func(*client.Event, string){
		"actor_name": func(e *client.Event, v string) { e.ActorName = v }, "resource_name": func(e *client.Event, v string) { e.Resource.Name = v },
		"user_agent": func(e *client.Event, v string) { e.UserAgent = v }, "source": func(e *client.Event, v string) { e.Source = v },
		"targets[0].name": func(e *client.Event, v string) { e.Targets = []client.Target{{Type: "t", ID: "i", Name: v}} },
	}
	values := []string{"plain", "with space", "é-ü", "a\tb", "a\nb", "a\x7fb", "a\u0085b", "a\u2028b", "a\u200bb", "a\u200db", "a\u202eb",
		"a\u2066b", "a\ufeffb", "a\u00a0b", "a\u200eb", strings.Repeat("x", vigil.MaxIDLength), strings.Repeat("x", vigil.MaxIDLength+1),
		strings.Repeat("x", vigil.MaxTextLength+1)}
	check := func(field string, e client.Event) {
		t.Helper()
		_, err := c.Track(done, e)
		clientRefused := false
		var ce *client.Error
		if errors.As(err, &ce) && ce.Code == "validation_failed" {
			for _, d := range ce.Details {
				clientRefused = clientRefused || d.Field == field
			}
		}
		_, perr := vigil.Prepare(serverEvent(e), ledger.Canonicalize)
		serverRefused := false
		for _, d := range vigil.ErrorDetails(perr) {
			serverRefused = serverRefused || d.Field == field
		}
		if clientRefused != serverRefused {
			t.Errorf("%s: the SDK refuses: %v (%v), the server: %v (%v)", field, clientRefused, err, serverRefused, perr)
		}
	}
	for _, fields := range []map[string]func(*client.Event, string){ids, names} {
		for field, set := range fields {
			for _, v := range values {
				e := base
				set(&e, v)
				check(field, e)
			}
		}
	}
	for _, at := range []time.Time{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(2201, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2262, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2200, 12, 31, 23, 59, 59, 999999999, time.UTC)} {
		e := base
		e.OccurredAt = at
		check("occurred_at", e)
	}
}

// serverEvent is the domain event the server makes of an SDK event.
func serverEvent(e client.Event) vigil.Event {
	out := vigil.Event{ActorID: e.ActorID, ActorName: e.ActorName, ActorType: e.ActorType, Action: e.Action, ActionCategory: e.ActionCategory,
		Resource: e.Resource.Type, ResourceID: e.Resource.ID, ResourceName: e.Resource.Name, TenantID: e.TenantID, SessionID: e.SessionID,
		IdempotencyKey: e.IdempotencyKey, Version: e.Version, Outcome: vigil.Outcome(e.Outcome), PatientID: e.PatientID,
		PurposeOfUse: e.PurposeOfUse, IPAddress: e.IPAddress, UserAgent: e.UserAgent, Source: e.Source, OccurredAt: e.OccurredAt}
	for _, t := range e.Targets {
		out.Targets = append(out.Targets, vigil.Target{Type: t.Type, ID: t.ID, Name: t.Name})
	}
	return out
}
