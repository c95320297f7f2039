package client_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigilhq/vigil/client"
)

// TestGuardRecordsAttemptAndResult checks the exact two events of each
// guarded call.
func TestGuardRecordsAttemptAndResult(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest, fastRetry())
	ctx := context.Background()
	e := c.Actor("dr_m4k8p2", "Dr. Emily Nakamura", "physician").Patient("pt_1").Purpose("TREAT").
		Event("patient_record.viewed", client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d"},
			client.Metadata(map[string]any{"department": "cardiology"}))

	ran := false
	if err := c.Guard(ctx, e, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("ran=%v err=%v", ran, err)
	}
	locked := errors.New("the record is locked")
	if err := c.Guard(ctx, e, func() error { return locked }); !errors.Is(err, locked) {
		t.Fatalf("Guard returned %v, want fn's error", err)
	}
	gone := &client.OutcomeError{Outcome: client.MinorFailure, Err: errors.New("no such record")}
	if err := c.Guard(ctx, e, func() error { return gone }); err != gone {
		t.Fatalf("Guard returned %v", err)
	}
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Fatalf("the panic did not go on: %v", v)
			}
		}()
		c.Guard(ctx, e, func() error { panic("boom") })
	}()

	got := s.stored(t, "patient_record.viewed")
	slices.Reverse(got) // oldest first
	if len(got) != 8 {
		t.Fatalf("%d events, want an attempt and a result for each of 4 calls", len(got))
	}
	for i, want := range []client.Outcome{client.Success, client.Failure, client.MinorFailure, client.SeriousFailure} {
		attempt, result := got[2*i], got[2*i+1]
		k := attempt.IdempotencyKey
		if attempt.Metadata[client.GuardPhaseKey] != "attempt" || attempt.Outcome != client.Success ||
			attempt.Metadata["department"] != "cardiology" || attempt.PatientID != "pt_1" {
			t.Fatalf("call %d: attempt %+v", i, attempt.Event)
		}
		if result.Metadata[client.GuardPhaseKey] != "result" || result.Metadata[client.GuardAttemptKey] != k ||
			result.IdempotencyKey != k+":result" || result.Outcome != want || result.Metadata["department"] != "cardiology" ||
			result.ActorID != "dr_m4k8p2" || result.Resource.ID != "pat_7f3a9c2d" || result.OccurredAt.Before(attempt.OccurredAt) {
			t.Fatalf("call %d: result %+v for attempt %s", i, result.Event, k)
		}
	}
}

// TestGuardRefusesWhenItCannotRecord: server down and no spool, or a full
// spool: fn never runs, and the error says why.
func TestGuardRefusesWhenItCannotRecord(t *testing.T) {
	s := newServer(t)
	s.setDown(true)
	e := client.Event{ActorID: "dr", Action: "guard.refused", PatientID: "pt_1"}

	c := mustNew(t, s.url, s.ingest, fastRetry())
	ran := false
	err := c.Guard(context.Background(), e, func() error { ran = true; return nil })
	if _, ok := errors.AsType[*client.GuardError](err); ran || !ok {
		t.Fatalf("Guard ran=%v with the server down and no spool: %v", ran, err)
	}

	full := mustNew(t, s.url, s.ingest, client.WithSpool(t.TempDir(), client.SpoolMaxBytes(2048)), fastRetry())
	defer full.Close(ctxT(t, time.Second))
	for {
		if _, err := full.Track(context.Background(), e); err != nil {
			break
		}
	}
	err = full.Guard(context.Background(), e, func() error { ran = true; return nil })
	if _, ok := errors.AsType[*client.GuardError](err); ran || !ok || !errors.Is(err, client.ErrSpoolFull) {
		t.Fatalf("Guard ran=%v with the spool full: %v", ran, err)
	}
}

// TestGuardWithSpoolRunsDuringOutage: with a spool the spool's fsync is
// the durable record, so the access goes ahead while the server is down,
// and both events arrive later.
func TestGuardWithSpoolRunsDuringOutage(t *testing.T) {
	s := newServer(t)
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithSpool(t.TempDir()), fastRetry())
	ran := false
	e := client.Event{ActorID: "dr", Action: "guard.spooled", IdempotencyKey: "access-1"}
	if err := c.Guard(context.Background(), e, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("ran=%v err=%v", ran, err)
	}
	s.setDown(false)
	if err := c.Close(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.deliveredOnce(t, "guard.spooled", []string{"access-1", "access-1:result"})
}
