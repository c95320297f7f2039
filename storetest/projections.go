package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vigilhq/vigil"
)

// ProjectionBackend is what RunProjections exercises: the log as the
// consumers that follow it after the acknowledgement read it, and their
// durable cursors. Events are appended through the store's EventStore.
type ProjectionBackend interface {
	vigil.KeyStore
	vigil.EventStore
	vigil.EventLog
	vigil.CursorStore
	Close() error
}

// ProjectionOpener prepares fresh, empty storage for one test and returns
// the function that opens it; called again after Close it opens the same
// storage, so the suite can check that cursors survive a restart.
type ProjectionOpener func(t *testing.T) (open func() ProjectionBackend)

// RunProjections is the conformance suite of vigil.EventLog and
// vigil.CursorStore.
func RunProjections(t *testing.T, prepare ProjectionOpener) {
	t.Run("Workspaces", func(t *testing.T) { testLogWorkspaceOrder(t, prepare) })
	t.Run("Follow", func(t *testing.T) { testFollow(t, prepare) })
	t.Run("FollowIsolation", func(t *testing.T) { testFollowIsolation(t, prepare) })
	t.Run("Cursors", func(t *testing.T) { testCursors(t, prepare) })
	t.Run("CursorsDurable", func(t *testing.T) { testCursorsDurable(t, prepare) })
	t.Run("BadCursor", func(t *testing.T) { testBadCursor(t, prepare) })
}

func openProjections(t *testing.T, prepare ProjectionOpener) ProjectionBackend {
	t.Helper()
	s := prepare(t)()
	t.Cleanup(func() { s.Close() })
	return s
}

func appendN(t *testing.T, s vigil.EventStore, ws string, n int) []vigil.AppendResult {
	t.Helper()
	events := make([]vigil.Event, n)
	for i := range events {
		events[i] = vigil.Event{ActorID: fmt.Sprintf("dr_%d", i), Action: "patient.record.viewed", PatientID: fmt.Sprintf("pt_%s_%d", ws, i)}
	}
	res, err := s.Append(ctx(t), ws, events)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

// testLogWorkspaceOrder: Workspaces lists every workspace once, in
// creation order.
func testLogWorkspaceOrder(t *testing.T, prepare ProjectionOpener) {
	s := openProjections(t, prepare)
	ensure(t, s, "zeta", "alpha", "mid", "alpha")
	got, err := s.Workspaces(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"zeta", "alpha", "mid"}) {
		t.Fatalf("Workspaces = %q, want [zeta alpha mid]", got)
	}
}

// testFollow: LogSize counts every acknowledged event at once, and
// EventsFrom reads them in sequence order from any position, each as
// Event returns it.
func testFollow(t *testing.T, prepare ProjectionOpener) {
	s := openProjections(t, prepare)
	ensure(t, s, "ws")
	if n, err := s.LogSize(ctx(t), "ws"); err != nil || n != 0 {
		t.Fatalf("LogSize of an empty log = %d %v", n, err)
	}
	if es, err := s.EventsFrom(ctx(t), "ws", 0, 10); err != nil || len(es) != 0 {
		t.Fatalf("EventsFrom of an empty log = %d events %v", len(es), err)
	}
	var ids []string
	for _, n := range []int{3, 1, 4} {
		for _, r := range appendN(t, s, "ws", n) {
			ids = append(ids, r.ID)
		}
		if size, err := s.LogSize(ctx(t), "ws"); err != nil || size != int64(len(ids)) {
			t.Fatalf("LogSize right after an acknowledged append = %d %v, want %d", size, err, len(ids))
		}
	}
	for _, tc := range []struct {
		from        int64
		limit, want int
	}{{0, 100, 8}, {0, 3, 3}, {5, 100, 3}, {7, 1, 1}, {8, 10, 0}, {100, 10, 0}} {
		es, err := s.EventsFrom(ctx(t), "ws", tc.from, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != tc.want {
			t.Fatalf("EventsFrom(%d, %d) = %d events, want %d", tc.from, tc.limit, len(es), tc.want)
		}
		for i, e := range es {
			seq := tc.from + int64(i)
			if e.Sequence != seq || e.ID != ids[seq] || e.Workspace != "ws" {
				t.Fatalf("EventsFrom(%d)[%d] = seq %d id %s ws %q, want seq %d id %s", tc.from, i, e.Sequence, e.ID, e.Workspace, seq, ids[seq])
			}
			stored, err := s.Event(ctx(t), "ws", "", e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if e.ActorID != stored.ActorID || e.PatientID != stored.PatientID || e.Action != stored.Action ||
				!e.CreatedAt.Equal(stored.CreatedAt) || !e.OccurredAt.Equal(stored.OccurredAt) {
				t.Fatalf("EventsFrom gives %+v, Event gives %+v", e, stored)
			}
		}
	}
	if _, err := s.LogSize(ctx(t), "never-made"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("LogSize of no workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
	if _, err := s.EventsFrom(ctx(t), "never-made", 0, 10); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("EventsFrom of no workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testFollowIsolation: each workspace's log has its own sequence from 0
// and its own events.
func testFollowIsolation(t *testing.T, prepare ProjectionOpener) {
	s := openProjections(t, prepare)
	ensure(t, s, "a", "b")
	appendN(t, s, "a", 5)
	appendN(t, s, "b", 2)
	for ws, n := range map[string]int{"a": 5, "b": 2} {
		size, err := s.LogSize(ctx(t), ws)
		if err != nil || size != int64(n) {
			t.Fatalf("LogSize(%s) = %d %v, want %d", ws, size, err, n)
		}
		es, err := s.EventsFrom(ctx(t), ws, 0, 100)
		if err != nil || len(es) != n {
			t.Fatalf("EventsFrom(%s) = %d events %v, want %d", ws, len(es), err, n)
		}
		for i, e := range es {
			if e.Workspace != ws || e.Sequence != int64(i) || e.PatientID != fmt.Sprintf("pt_%s_%d", ws, i) {
				t.Fatalf("EventsFrom(%s)[%d] = %+v", ws, i, e)
			}
		}
	}
}

// testCursors: a cursor starts at 0 and is kept per consumer and
// workspace; it may move back (a projection rebuilt from the log).
func testCursors(t *testing.T, prepare ProjectionOpener) {
	s := openProjections(t, prepare)
	ensure(t, s, "a", "b")
	cursor := func(consumer, ws string) int64 {
		t.Helper()
		n, err := s.Cursor(ctx(t), consumer, ws)
		if err != nil {
			t.Fatalf("Cursor(%s, %s): %v", consumer, ws, err)
		}
		return n
	}
	set := func(consumer, ws string, next int64) {
		t.Helper()
		if err := s.SetCursor(ctx(t), consumer, ws, next); err != nil {
			t.Fatalf("SetCursor(%s, %s, %d): %v", consumer, ws, next, err)
		}
	}
	if n := cursor("alerts", "a"); n != 0 {
		t.Fatalf("a new cursor is %d, want 0", n)
	}
	set("alerts", "a", 7)
	set("stream:siem", "a", 3)
	set("alerts", "b", 11)
	for _, tc := range []struct {
		consumer, ws string
		want         int64
	}{{"alerts", "a", 7}, {"stream:siem", "a", 3}, {"alerts", "b", 11}, {"stream:siem", "b", 0}, {"terms", "a", 0}} {
		if n := cursor(tc.consumer, tc.ws); n != tc.want {
			t.Fatalf("Cursor(%s, %s) = %d, want %d", tc.consumer, tc.ws, n, tc.want)
		}
	}
	set("alerts", "a", 2)
	if n := cursor("alerts", "a"); n != 2 {
		t.Fatalf("Cursor after moving it back = %d, want 2", n)
	}
	if _, err := s.Cursor(ctx(t), "alerts", "never-made"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("Cursor of no workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
	if err := s.SetCursor(ctx(t), "alerts", "never-made", 1); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("SetCursor of no workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testCursorsDurable: cursors and the log survive closing and reopening.
func testCursorsDurable(t *testing.T, prepare ProjectionOpener) {
	open := prepare(t)
	s := open()
	ensure(t, s, "ws")
	appendN(t, s, "ws", 4)
	if err := s.SetCursor(ctx(t), "alerts", "ws", 4); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(ctx(t), "stream:siem", "ws", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close()
	for consumer, want := range map[string]int64{"alerts": 4, "stream:siem": 1} {
		if n, err := s.Cursor(ctx(t), consumer, "ws"); err != nil || n != want {
			t.Fatalf("Cursor(%s) after reopening = %d %v, want %d", consumer, n, err, want)
		}
	}
	if n, err := s.LogSize(ctx(t), "ws"); err != nil || n != 4 {
		t.Fatalf("LogSize after reopening = %d %v, want 4", n, err)
	}
}

// testBadCursor: a negative position or a nameless consumer is refused
// with EINVALID and the cursor is left as it was.
func testBadCursor(t *testing.T, prepare ProjectionOpener) {
	s := openProjections(t, prepare)
	ensure(t, s, "ws")
	if err := s.SetCursor(ctx(t), "alerts", "ws", 5); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(ctx(t), "alerts", "ws", -1); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("SetCursor(-1): %v, want %s", err, vigil.EINVALID)
	}
	if err := s.SetCursor(ctx(t), "", "ws", 1); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("SetCursor of a nameless consumer: %v, want %s", err, vigil.EINVALID)
	}
	if n, err := s.Cursor(ctx(t), "alerts", "ws"); err != nil || n != 5 {
		t.Fatalf("Cursor after refusals = %d %v, want 5", n, err)
	}
	if n, err := s.Cursor(ctx(t), "", "ws"); err != nil || n != 0 {
		t.Fatalf("Cursor of the nameless consumer = %d %v, want 0", n, err)
	}
}
