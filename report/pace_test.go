package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/report"
)

// TestPaced: a paced scan yields every event and, at a quarter of a core,
// takes at least about four times the work it paces.
func TestPaced(t *testing.T) {
	db := seeded(t)
	evs := make([]vigil.Event, 2048)
	for i := range evs {
		evs[i] = vigil.Event{ActorID: "dr_p", Action: "patient_record.viewed", SessionID: "paced"}
	}
	if _, err := db.Append(context.Background(), "default", evs); err != nil {
		t.Fatal(err)
	}
	waitCheckpoint(t, db, 17+2048)
	src := report.Paced(db, 0.25)
	var work time.Duration
	start := time.Now()
	n := 0
	for _, err := range src.ScanEvents(context.Background(), vigil.Query{Workspace: "default", SessionID: "paced"}, 17+2048, vigil.BySequence) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		w := time.Now()
		for time.Since(w) < 20*time.Microsecond {
		}
		work += time.Since(w)
	}
	elapsed := time.Since(start)
	if n != 2048 {
		t.Fatalf("%d events", n)
	}
	if elapsed < 3*work {
		t.Errorf("paced to 0.25 of a core: %s elapsed for %s of work", elapsed, work)
	}
	if report.Paced(db, 1) != report.Source(db) {
		t.Error("a share of 1 paces")
	}
}
