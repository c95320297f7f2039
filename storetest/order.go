package storetest

import (
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// testOccurredOrder: the occurred_at orders sort by the client's time,
// sequence breaking ties, and page by position without repeats or gaps.
func testOccurredOrder(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	days := []int{5, 1, 3, 2, 4, 3, 6, 0}
	for _, d := range days {
		e := event("o", "x")
		e.OccurredAt = base.AddDate(0, 0, d)
		mustAppend(t, s, "ws", e)
	}
	for _, order := range []vigil.Order{vigil.OrderOccurredAsc, vigil.OrderOccurredDesc} {
		q := vigil.Query{Workspace: "ws", ActorID: "o", Before: -1, Limit: 3, Order: order}
		var got []vigil.Event
		for {
			page, err := s.Events(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != int64(len(days)) {
				t.Fatalf("total %d", page.Total)
			}
			got = append(got, page.Events...)
			if !page.HasMore {
				break
			}
			last := page.Events[len(page.Events)-1]
			q.After = &vigil.Position{Occurred: last.OccurredAt.UnixNano(), Sequence: last.Sequence}
		}
		if len(got) != len(days) {
			t.Fatalf("order %d: paged %d events", order, len(got))
		}
		for i := 1; i < len(got); i++ {
			a, b := got[i-1], got[i]
			if order == vigil.OrderOccurredDesc {
				a, b = b, a
			}
			if a.OccurredAt.After(b.OccurredAt) || a.OccurredAt.Equal(b.OccurredAt) && a.Sequence >= b.Sequence {
				t.Fatalf("order %d: %v (%d) before %v (%d)", order, got[i-1].OccurredAt, got[i-1].Sequence, got[i].OccurredAt, got[i].Sequence)
			}
		}
	}
}
