package ledger_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// TestAppendContent: the content form is the leaf without the members the
// server assigns or adds, in the same canonical form, so an event's
// content is the same whatever the server gave it.
func TestAppendContent(t *testing.T) {
	for i, e := range sampleEvents() {
		c := ledger.AppendContent(nil, &e)
		if canon, err := ledger.Canonicalize(c); err != nil || !bytes.Equal(canon, c) {
			t.Fatalf("%s: content %s is not canonical (%v)", vectorNames[i], c, err)
		}
		var content, leaf map[string]json.RawMessage
		if err := json.Unmarshal(c, &content); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(ledger.AppendEvent(nil, &e), &leaf); err != nil {
			t.Fatal(err)
		}
		for _, server := range []string{"id", "workspace", "sequence", "created_at", "v", "ip_city", "ip_country", "ip_region"} {
			if _, ok := content[server]; ok {
				t.Errorf("%s: content has the server's %q", vectorNames[i], server)
			}
			delete(leaf, server)
		}
		if !reflect.DeepEqual(content, leaf) {
			t.Errorf("%s: content %s is not the leaf's client members %v", vectorNames[i], c, leaf)
		}

		// The server's members change nothing.
		other := e
		other.ID, other.Workspace, other.Sequence = "0190b5a0-ffff-7000-8000-000000000000", "elsewhere", e.Sequence+7
		other.CreatedAt = e.CreatedAt.Add(time.Hour)
		other.IPCountry, other.IPCity, other.IPRegion = "FR", "Paris", "IDF"
		if ledger.ContentDigest(&other) != ledger.ContentDigest(&e) {
			t.Errorf("%s: the server's members changed the content digest", vectorNames[i])
		}
		// The client's do.
		changed := e
		changed.Action += "!"
		if ledger.ContentDigest(&changed) == ledger.ContentDigest(&e) {
			t.Errorf("%s: another action has the same content digest", vectorNames[i])
		}
	}
}

// TestAppendContentDefaults: an address from the connection and an absent
// occurred_at are not content; the client's address and time are.
func TestAppendContentDefaults(t *testing.T) {
	e := vigil.Event{ActorID: "a", Action: "b", Outcome: vigil.OutcomeSuccess, IPAddress: "198.51.100.7"}
	if got := string(ledger.AppendContent(nil, &e)); got != `{"action":"b","actor_id":"a","ip_address":"198.51.100.7","outcome":"success"}` {
		t.Fatalf("content = %s", got)
	}
	e.IPFromConnection = true
	if got := string(ledger.AppendContent(nil, &e)); got != `{"action":"b","actor_id":"a","outcome":"success"}` {
		t.Fatalf("content with the connection's address = %s", got)
	}
	if leaf := string(ledger.AppendEvent(nil, &e)); !bytes.Contains([]byte(leaf), []byte(`"ip_address":"198.51.100.7"`)) {
		t.Fatalf("the leaf lost the connection's address: %s", leaf)
	}
	e.OccurredAt = time.Date(2024, 6, 15, 8, 30, 0, 1, time.UTC)
	if got := string(ledger.AppendContent(nil, &e)); got != `{"action":"b","actor_id":"a","occurred_at":"2024-06-15T08:30:00.000000001Z","outcome":"success"}` {
		t.Fatalf("content with occurred_at = %s", got)
	}
}

// BenchmarkContentDigest is what comparing idempotency keys adds per keyed
// event on the write path: the content form and its SHA-256.
func BenchmarkContentDigest(b *testing.B) {
	e := sampleEvents()[1]
	b.ReportAllocs()
	for b.Loop() {
		ledger.ContentDigest(&e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
