package sqlite_test

import (
	"fmt"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
	"github.com/vigilhq/vigil/alert/alerttest"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/sqlite"
)

// TestHistoryConformance: the store answers the alert rules' look-ups as
// the reference implementation does.
func TestHistoryConformance(t *testing.T) {
	alerttest.TestHistory(t, func(t testing.TB, events []vigil.Event) (alert.History, []vigil.Event) {
		// Countries come from enrichment, which the store owns: the
		// fixture's are handed back through it, keyed by idempotency key.
		countries := map[string]string{}
		for i := range events {
			events[i].IdempotencyKey = fmt.Sprintf("fx-%s-%d", events[i].Workspace, events[i].Sequence)
			countries[events[i].IdempotencyKey] = events[i].IPCountry
		}
		db, err := embedded.Open(ctx(t.(*testing.T)), embedded.Config{SQLite: sqlite.Config{Path: t.TempDir() + "/vigil.db"},
			Enrich: func(e *vigil.Event) { e.IPCountry = countries[e.IdempotencyKey] }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		var stored []vigil.Event
		for _, e := range events {
			db.EnsureWorkspace(ctx(t.(*testing.T)), e.Workspace)
			res, err := db.Append(ctx(t.(*testing.T)), e.Workspace, []vigil.Event{e})
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.Event(ctx(t.(*testing.T)), e.Workspace, "", res[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, got)
		}
		return db.History(), stored
	})
}
