package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

// TestEnrichment: the store fills the geolocation at ingest from the
// configured function, replaces whatever a caller sent, and the ledger
// covers it.
func TestEnrichment(t *testing.T) {
	dir := t.TempDir()
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), SigningKey: testKey, LogName: "test.vigil"},
		Enrich: func(e *vigil.Event) {
			if e.IPAddress == "203.0.113.42" {
				e.IPCountry, e.IPCity, e.IPRegion = "US", "San Francisco", "California"
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.EnsureWorkspace(ctx(t), "ws")
	res, err := db.Append(ctx(t), "ws", []vigil.Event{
		{ActorID: "a", Action: "x", IPAddress: "203.0.113.42"},
		{ActorID: "a", Action: "x", IPAddress: "10.0.0.1", IPCountry: "XX"},
		{ActorID: "a", Action: "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]string{{"US", "San Francisco", "California"}, {}, {}}
	for i, r := range res {
		e, err := db.Event(ctx(t), "ws", "", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := [3]string{e.IPCountry, e.IPCity, e.IPRegion}; got != want[i] {
			t.Errorf("event %d located %v, want %v", i, got, want[i])
		}
		p, err := db.InclusionProof(ctx(t), "ws", e.Sequence, int64(len(res)))
		if err != nil {
			t.Fatal(err)
		}
		if ledger.LeafHash(ledger.AppendEvent(nil, &e)) != p.LeafHash {
			t.Errorf("event %d: the ledger does not cover its enrichment", i)
		}
	}
}
