package sqlite_test

import (
	"cmp"
	"fmt"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// TestScanByActorPatient: a scan in actor and patient order returns every
// matching event in that order, both when the filter is broad (most of a
// log of more than 50,000 events: the actor index is walked) and when it
// is narrow (the matches are sorted whole).
func TestScanByActorPatient(t *testing.T) {
	db := MustOpenDB(t, t.TempDir())
	defer db.Close()
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	const n = 60_000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += 1000 {
		batch := make([]vigil.Event, 1000)
		for j := range batch {
			k := i + j
			batch[j] = vigil.Event{ActorID: fmt.Sprintf("dr_%03d", (k*7919)%97), Action: "patient_record.viewed",
				PatientID: fmt.Sprintf("pt_%02d", (k*31)%41), OccurredAt: base.Add(time.Duration(k) * time.Minute)}
		}
		if _, err := appendRetrying(t, db, "ws", batch); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"broad", base, base.Add(n * time.Minute), n},
		{"narrow", base.Add(1000 * time.Minute), base.Add(2000 * time.Minute), 1000},
	} {
		q := vigil.Query{Workspace: "ws", From: c.from, To: c.to}
		var prev vigil.Event
		got := 0
		for e, err := range db.ScanEvents(ctx(t), q, n, vigil.ByActorPatient) {
			if err != nil {
				t.Fatal(err)
			}
			if got > 0 && cmp.Or(cmp.Compare(prev.ActorID, e.ActorID), cmp.Compare(prev.PatientID, e.PatientID), cmp.Compare(prev.Sequence, e.Sequence)) >= 0 {
				t.Fatalf("%s: %s/%s/%d came after %s/%s/%d", c.name, e.ActorID, e.PatientID, e.Sequence, prev.ActorID, prev.PatientID, prev.Sequence)
			}
			if e.OccurredAt.Before(c.from) || !e.OccurredAt.Before(c.to) {
				t.Fatalf("%s: event at %v outside the range", c.name, e.OccurredAt)
			}
			prev = e
			got++
		}
		if got != c.want {
			t.Fatalf("%s: %d events, want %d", c.name, got, c.want)
		}
	}
}
