package storetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// keyed is a minimal event with an idempotency key.
func keyed(actor, action, key string) vigil.Event {
	e := event(actor, action)
	e.IdempotencyKey = key
	return e
}

// total is the number of events stored in a workspace.
func total(t *testing.T, s Store, ws string) int64 {
	t.Helper()
	page, err := s.Events(ctx(t), vigil.Query{Workspace: ws, Before: -1, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}

// wantConflict checks that err refuses a reused idempotency key: ECONFLICT
// with a detail on idempotency_key (at index, when not nil) whose message
// contains every one of names.
func wantConflict(t *testing.T, err error, index *int, names ...string) {
	t.Helper()
	wantCode(t, err, vigil.ECONFLICT)
	for _, d := range vigil.ErrorDetails(err) {
		if d.Field != "idempotency_key" || (index == nil) != (d.Index == nil) || (index != nil && *d.Index != *index) {
			continue
		}
		for _, n := range names {
			if !strings.Contains(d.Message, n) {
				t.Fatalf("conflict detail %q does not name %q", d.Message, n)
			}
		}
		return
	}
	t.Fatalf("conflict %v: no idempotency_key detail at index %v in %+v", err, index, vigil.ErrorDetails(err))
}

func ptr(i int) *int { return &i }

func testIdempotency(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	e := keyed("a", "x", "k1")
	first := mustAppend(t, s, "ws", e)[0]
	again := mustAppend(t, s, "ws", e)[0]
	if !again.Duplicate || again.ID != first.ID || again.Sequence != first.Sequence {
		t.Fatalf("repeat = %+v, want duplicate of %+v", again, first)
	}
	// Within one batch, and mixed with new events.
	e2 := keyed("b", "y", "k2")
	res := mustAppend(t, s, "ws", e2, e2, e)
	if res[0].Duplicate || !res[1].Duplicate || res[1].ID != res[0].ID || !res[2].Duplicate || res[2].ID != first.ID {
		t.Fatalf("batch = %+v", res)
	}
	// Concurrent repeats store once.
	e3 := keyed("c", "z", "k3")
	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Append(ctx(t), "ws", []vigil.Event{e3})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = r[0].ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent repeats got different ids: %v", ids)
		}
	}
	if n := total(t, s, "ws"); n != 3 {
		t.Fatalf("stored %d events, want 3", n)
	}
	// Keys are per workspace.
	if _, err := s.EnsureWorkspace(ctx(t), "other"); err != nil {
		t.Fatal(err)
	}
	if r := mustAppend(t, s, "other", e)[0]; r.Duplicate {
		t.Fatal("an idempotency key of one workspace deduplicated another's event")
	}
}

// testIdempotencyContent: a key names one content. The same content again
// (after normalisation) is a duplicate; other content under the key is
// refused, naming the first event's sequence, and nothing is stored.
func testIdempotencyContent(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	mustAppend(t, s, "ws", event("a", "padding"))
	e := fullEvent()
	first := mustAppend(t, s, "ws", e)[0]

	// The same content, spelled differently: metadata members reordered
	// and spaced, the address IPv4-mapped, the time in another zone.
	same := fullEvent()
	same.Metadata = json.RawMessage(`{ "n": 1.5, "sections_accessed": ["demographics","medications"], "patient_mrn": "MRN-2024-08291" }`)
	same.Targets[0].Metadata = json.RawMessage(`{"a":1, "b":2.0}`)
	same.IPAddress = "203.0.113.42"
	same.OccurredAt = e.OccurredAt.UTC()
	if r := mustAppend(t, s, "ws", same)[0]; !r.Duplicate || r.ID != first.ID || r.Sequence != first.Sequence {
		t.Fatalf("the same content again = %+v, want a duplicate of %+v", r, first)
	}

	// Any one field different is another event: refused.
	changes := map[string]func(*vigil.Event){
		"action":         func(e *vigil.Event) { e.Action = "patient_record.exported" },
		"actor_name":     func(e *vigil.Event) { e.ActorName = "" },
		"outcome":        func(e *vigil.Event) { e.Outcome = vigil.OutcomeSuccess },
		"occurred_at":    func(e *vigil.Event) { e.OccurredAt = e.OccurredAt.Add(time.Nanosecond) },
		"no occurred_at": func(e *vigil.Event) { e.OccurredAt = time.Time{} },
		"metadata":       func(e *vigil.Event) { e.Metadata = json.RawMessage(`{"n":1.5}`) },
		"target":         func(e *vigil.Event) { e.Targets = e.Targets[:1] },
		"target meta":    func(e *vigil.Event) { e.Targets[0].Metadata = nil },
		"ip_address":     func(e *vigil.Event) { e.IPAddress = "203.0.113.43" },
		"patient_id":     func(e *vigil.Event) { e.PatientID = "pt_other" },
		"version":        func(e *vigil.Event) { e.Version = "3" },
	}
	for name, change := range changes {
		other := fullEvent()
		change(&other)
		_, err := s.Append(ctx(t), "ws", []vigil.Event{other})
		if vigil.ErrorCode(err) != vigil.ECONFLICT {
			t.Fatalf("%s changed under the same key: %v, want ECONFLICT", name, err)
		}
		wantConflict(t, err, nil, fmt.Sprintf("sequence %d", first.Sequence), first.ID)
	}
	if n := total(t, s, "ws"); n != 2 {
		t.Fatalf("%d events stored, want 2: a conflict stored something", n)
	}
	// The log did not move: the next event takes the next sequence.
	if r := mustAppend(t, s, "ws", event("a", "after"))[0]; r.Sequence != 2 {
		t.Fatalf("the event after the conflicts got sequence %d, want 2", r.Sequence)
	}

	// An event without occurred_at gets the server's time; sending it
	// again without one is the same content, with one is not.
	bare := keyed("u", "login", "bare")
	firstBare := mustAppend(t, s, "ws", bare)[0]
	time.Sleep(2 * time.Millisecond)
	if r := mustAppend(t, s, "ws", bare)[0]; !r.Duplicate || r.ID != firstBare.ID {
		t.Fatalf("the same event without occurred_at again = %+v, want a duplicate", r)
	}
	stored, err := s.Event(ctx(t), "ws", "", firstBare.ID)
	if err != nil {
		t.Fatal(err)
	}
	dated := bare
	dated.OccurredAt = stored.OccurredAt
	_, err = s.Append(ctx(t), "ws", []vigil.Event{dated})
	wantConflict(t, err, nil, fmt.Sprintf("sequence %d", firstBare.Sequence))
	// A default spelled out is the same content: outcome success.
	explicit := bare
	explicit.Outcome = vigil.OutcomeSuccess
	if r := mustAppend(t, s, "ws", explicit)[0]; !r.Duplicate || r.ID != firstBare.ID {
		t.Fatalf("the default outcome spelled out = %+v, want a duplicate", r)
	}

	// An address the server took from the connection is not the
	// client's: a retry from another address is the same event, and one
	// that names an address of its own is not.
	conn := keyed("u", "read", "conn")
	conn.IPAddress, conn.IPFromConnection = "198.51.100.7", true
	firstConn := mustAppend(t, s, "ws", conn)[0]
	got, err := s.Event(ctx(t), "ws", "", firstConn.ID)
	if err != nil || got.IPAddress != "198.51.100.7" || !got.IPFromConnection {
		t.Fatalf("an address from the connection read back as %q (from the connection: %v), %v", got.IPAddress, got.IPFromConnection, err)
	}
	moved := conn
	moved.IPAddress = "198.51.100.8"
	if r := mustAppend(t, s, "ws", moved)[0]; !r.Duplicate || r.ID != firstConn.ID {
		t.Fatalf("a retry from another address = %+v, want a duplicate", r)
	}
	own := conn
	own.IPFromConnection = false
	_, err = s.Append(ctx(t), "ws", []vigil.Event{own})
	wantConflict(t, err, nil, fmt.Sprintf("sequence %d", firstConn.Sequence))
}

// testIdempotencyTenants: keys are scoped to (workspace, tenant). The same
// key in two tenants, and without a tenant, names three events; neither
// answer names another tenant's event.
func testIdempotencyTenants(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	in := func(tenant, action string) vigil.Event {
		e := keyed("u", action, "shared")
		e.TenantID = tenant
		return e
	}
	a := mustAppend(t, s, "ws", in("t1", "x"))[0]
	b := mustAppend(t, s, "ws", in("t2", "x"))[0]
	n := mustAppend(t, s, "ws", in("", "x"))[0]
	if a.Duplicate || b.Duplicate || n.Duplicate || a.ID == b.ID || a.ID == n.ID || b.ID == n.ID {
		t.Fatalf("the same key in tenants t1, t2 and none = %+v %+v %+v, want three stored events", a, b, n)
	}
	for _, c := range []struct {
		tenant string
		want   vigil.AppendResult
	}{{"t1", a}, {"t2", b}, {"", n}} {
		r := mustAppend(t, s, "ws", in(c.tenant, "x"))[0]
		if !r.Duplicate || r.ID != c.want.ID || r.Sequence != c.want.Sequence {
			t.Fatalf("tenant %q repeat = %+v, want a duplicate of its own %+v", c.tenant, r, c.want)
		}
		e, err := s.Event(ctx(t), "ws", c.tenant, r.ID)
		if err != nil || e.TenantID != c.tenant {
			t.Fatalf("tenant %q was answered with event %s of tenant %q (%v)", c.tenant, r.ID, e.TenantID, err)
		}
		_, err = s.Append(ctx(t), "ws", []vigil.Event{in(c.tenant, "y")})
		wantConflict(t, err, nil, fmt.Sprintf("sequence %d", c.want.Sequence), c.want.ID)
		for _, other := range []vigil.AppendResult{a, b, n} {
			if other.ID != c.want.ID && strings.Contains(err.Error(), other.ID) {
				t.Fatalf("tenant %q's conflict names another tenant's event %s: %v", c.tenant, other.ID, err)
			}
		}
	}
	// In one batch: the same key in two tenants is two events.
	res := mustAppend(t, s, "ws", keyedIn("t1", "batch"), keyedIn("t2", "batch"), keyedIn("t1", "batch"))
	if res[0].Duplicate || res[1].Duplicate || res[0].ID == res[1].ID || !res[2].Duplicate || res[2].ID != res[0].ID {
		t.Fatalf("one batch, one key, two tenants = %+v", res)
	}
	if got := total(t, s, "ws"); got != 5 {
		t.Fatalf("%d events stored, want 5", got)
	}
}

func keyedIn(tenant, key string) vigil.Event {
	e := keyed("u", "x", key)
	e.TenantID = tenant
	return e
}

// testIdempotencyBatch: a batch is all or nothing. A key used twice in it
// with the same content is one event; with different content, or reusing
// a stored event's key with different content, the batch is refused with
// the item's index and nothing of it is stored.
func testIdempotencyBatch(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	stored := mustAppend(t, s, "ws", keyed("a", "x", "old"))[0]

	_, err := s.Append(ctx(t), "ws", []vigil.Event{event("n", "new"), keyed("a", "x", "dup"), event("n", "new2"), keyed("a", "other", "dup")})
	wantConflict(t, err, ptr(3), "events[1]")

	_, err = s.Append(ctx(t), "ws", []vigil.Event{event("n", "new"), keyed("a", "y", "old"), keyed("b", "z", "fresh")})
	wantConflict(t, err, ptr(1), fmt.Sprintf("sequence %d", stored.Sequence), stored.ID)

	// Every conflicting item is named.
	_, err = s.Append(ctx(t), "ws", []vigil.Event{keyed("a", "y", "old"), keyed("c", "1", "twice"), keyed("c", "2", "twice")})
	wantConflict(t, err, ptr(0), fmt.Sprintf("sequence %d", stored.Sequence))
	wantConflict(t, err, ptr(2), "events[1]")

	if n := total(t, s, "ws"); n != 1 {
		t.Fatalf("refused batches stored %d events", n-1)
	}
	res := mustAppend(t, s, "ws", keyed("a", "x", "dup"), event("n", "new"), keyed("a", "x", "dup"), keyed("a", "x", "old"))
	if res[0].Duplicate || res[0].Sequence != 1 || !res[2].Duplicate || res[2].ID != res[0].ID ||
		!res[3].Duplicate || res[3].ID != stored.ID || res[1].Sequence != 2 {
		t.Fatalf("batch with repeats = %+v", res)
	}
}

// testIdempotencyConcurrent: appends reusing one key with two contents
// race with unrelated appends. One event is stored under the key; every
// other answer is its duplicate or a conflict naming it; the unrelated
// appends are all stored, whatever they were committed with.
func testIdempotencyConcurrent(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	const n = 40
	type answer struct {
		res vigil.AppendResult
		err error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r, err := s.Append(ctx(t), "ws", []vigil.Event{keyed("a", fmt.Sprint(i%2), "race")})
			if err == nil {
				answers[i].res = r[0]
			}
			answers[i].err = err
		}()
		go func() {
			defer wg.Done()
			if _, err := s.Append(ctx(t), "ws", []vigil.Event{event("bystander", fmt.Sprint(i))}); err != nil {
				t.Errorf("an unrelated append failed beside a conflict: %v", err)
			}
		}()
	}
	wg.Wait()
	var winner vigil.AppendResult
	for _, a := range answers {
		if a.err == nil && !a.res.Duplicate {
			if winner.ID != "" {
				t.Fatalf("two events stored under one key: %+v and %+v", winner, a.res)
			}
			winner = a.res
		}
	}
	if winner.ID == "" {
		t.Fatal("no event stored under the key")
	}
	for _, a := range answers {
		switch {
		case a.err != nil:
			wantConflict(t, a.err, nil, fmt.Sprintf("sequence %d", winner.Sequence), winner.ID)
		case a.res.ID != winner.ID:
			t.Fatalf("answer %+v, want the id of %+v", a.res, winner)
		}
	}
	if got := total(t, s, "ws"); got != n+1 {
		t.Fatalf("%d events stored, want %d", got, n+1)
	}
}
