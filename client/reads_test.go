package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/client"
	"github.com/vigilhq/vigil/ledger"
)

// TestEventsFollowsCursors reads 250 events in pages of 30.
func TestEventsFollowsCursors(t *testing.T) {
	s := newServer(t)
	c := mustNew(t, s.url, s.ingest)
	ctx := context.Background()
	events := make([]client.Event, 250)
	for i := range events {
		events[i] = client.Event{ActorID: "dr", Action: "patient_record.viewed", PatientID: "pt_1", Metadata: map[string]any{"i": i}}
	}
	events[7].PatientID = "pt_2"
	if _, err := c.TrackBatch(ctx, events); err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, s.url, s.auditor)
	var n int
	last := int64(1 << 62)
	for e, err := range a.Events(ctx, client.Query{PatientID: "pt_1", PageSize: 30}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Sequence >= last {
			t.Fatalf("sequence %d after %d: not newest first", e.Sequence, last)
		}
		last = e.Sequence
		n++
	}
	if n != 249 {
		t.Fatalf("%d events for pt_1, want 249", n)
	}
	// Stopping early stops fetching.
	n = 0
	for _, err := range a.Events(ctx, client.Query{Action: "patient_record.viewed", PageSize: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 15 {
			break
		}
	}
	one, err := a.Event(ctx, "")
	if err == nil {
		t.Fatalf("an empty id read %+v", one)
	}
	// An error ends the sequence and is yielded once.
	bad := mustNew(t, s.url, s.ingest)
	var errs int
	for _, err := range bad.Events(ctx, client.Query{}) {
		if err == nil || asAPIError(t, err).Status != 403 {
			t.Fatalf("an ingest key listed events: %v", err)
		}
		errs++
	}
	if errs != 1 {
		t.Fatalf("%d errors yielded", errs)
	}
}

// TestLedgerReads checks an event's inclusion in a signed checkpoint, and
// one checkpoint's consistency with a later one, with package ledger: the
// SDK hands over what an independent verifier needs.
func TestLedgerReads(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := mustNew(t, s.url, s.ingest)
	a := mustNew(t, s.url, s.auditor)
	r, err := c.Track(ctx, client.Event{ActorID: "dr", Action: "patient_record.viewed"})
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := a.VerifierKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := func(min int64) ledgerCheckpoint {
		var cp ledgerCheckpoint
		waitFor(t, 10*time.Second, "a checkpoint", func() bool {
			note, err := a.Checkpoint(ctx)
			if err != nil {
				return false
			}
			cp, err = openCheckpoint(note, vkey)
			if err != nil {
				t.Fatal(err)
			}
			return cp.size >= min
		})
		return cp
	}
	cp1 := checkpoint(1)
	p, err := a.Proof(ctx, r.ID, cp1.size)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkInclusion(p, cp1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TrackBatch(ctx, []client.Event{{ActorID: "dr", Action: "x"}, {ActorID: "dr", Action: "y"}}); err != nil {
		t.Fatal(err)
	}
	cp2 := checkpoint(cp1.size + 2)
	cons, err := a.Consistency(ctx, cp1.size, cp2.size)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkConsistency(cons, cp1, cp2); err != nil {
		t.Fatal(err)
	}
	old, err := a.CheckpointAt(ctx, cp1.size)
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := openCheckpoint(old, vkey); err != nil || cp.size != cp1.size || cp.root != cp1.root {
		t.Fatalf("checkpoint at %d: %+v %v", cp1.size, cp, err)
	}
	v, err := a.Verify(ctx, client.VerifyOptions{})
	if err != nil || !v.Valid || v.EventsChecked == 0 {
		t.Fatalf("verify %+v %v", v, err)
	}
}

type ledgerCheckpoint struct {
	size int64
	root vigil.Hash
}

func openCheckpoint(note []byte, vkey string) (ledgerCheckpoint, error) {
	cp, err := ledger.Open(note, vkey)
	return ledgerCheckpoint{size: cp.Size, root: cp.Root}, err
}

func checkInclusion(p client.Proof, cp ledgerCheckpoint) error {
	leaf, err := ledger.ParseHash(p.LeafHash)
	if err != nil {
		return err
	}
	hashes, err := ledger.ParseHashes(p.Hashes)
	if err != nil {
		return err
	}
	return ledger.CheckInclusion(vigil.InclusionProof{LeafIndex: p.LeafIndex, TreeSize: p.TreeSize, LeafHash: leaf, Hashes: hashes}, cp.root)
}

func checkConsistency(c client.Consistency, old, cur ledgerCheckpoint) error {
	hashes, err := ledger.ParseHashes(c.Hashes)
	if err != nil {
		return err
	}
	return ledger.CheckConsistency(hashes, c.First, old.root, c.Second, cur.root)
}
