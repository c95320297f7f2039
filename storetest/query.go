package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// seedFilters stores a known set and returns the sequences per label.
func seedFilters(t *testing.T, s Store) {
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	mk := func(i int, actor, action string, mod func(*vigil.Event)) vigil.Event {
		e := vigil.Event{ActorID: actor, Action: action, OccurredAt: base.Add(time.Duration(i) * 24 * time.Hour)}
		if mod != nil {
			mod(&e)
		}
		return e
	}
	mustAppend(t, s, "ws",
		mk(0, "dr_a", "patient_record.viewed", func(e *vigil.Event) {
			e.ActorName, e.Resource, e.ResourceID, e.PatientID = "Dr. Alice Smith", "patient_record", "rec_1", "pt_1"
			e.TenantID, e.SessionID, e.PurposeOfUse = "t1", "s1", "TREAT"
			e.Targets = []vigil.Target{{Type: "patient_record", ID: "rec_1"}, {Type: "lab", ID: "lab_9"}}
		}),
		mk(1, "dr_a", "patient_record.exported", func(e *vigil.Event) {
			e.Resource, e.ResourceID, e.PatientID, e.TenantID, e.SessionID = "patient_record", "rec_2", "pt_2", "t1", "s1"
		}),
		mk(2, "nurse_b", "lab_results.accessed", func(e *vigil.Event) {
			e.ActorName, e.Resource, e.ResourceID, e.PatientID, e.TenantID = "Carlos Reyes", "lab", "lab_9", "pt_1", "t2"
			e.Outcome, e.PurposeOfUse = vigil.OutcomeFailure, "ETREAT"
			e.Targets = []vigil.Target{{Type: "lab", ID: "lab_9"}}
		}),
		mk(3, "nurse_b", "patient[record].viewed", func(e *vigil.Event) { e.ResourceName = "100%_sure" }),
		mk(4, "svc", "login", nil),
	)
}

func testFilters(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	seedFilters(t, s)
	day := func(d int) time.Time { return time.Date(2024, 6, 1+d, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		name string
		q    vigil.Query
		want []int64 // sequences, newest first
	}{
		{"all", vigil.Query{}, []int64{4, 3, 2, 1, 0}},
		{"actor", vigil.Query{ActorID: "dr_a"}, []int64{1, 0}},
		{"action exact", vigil.Query{Action: "login"}, []int64{4}},
		{"action wildcard", vigil.Query{Action: "patient_record.*"}, []int64{1, 0}},
		{"action wildcard middle", vigil.Query{Action: "*.viewed"}, []int64{3, 0}},
		{"action glob chars are literal", vigil.Query{Action: "patient[record].*"}, []int64{3}},
		{"resource", vigil.Query{Resource: "lab"}, []int64{2}},
		{"resource_id", vigil.Query{ResourceID: "rec_2"}, []int64{1}},
		{"tenant", vigil.Query{TenantID: "t1"}, []int64{1, 0}},
		{"session", vigil.Query{SessionID: "s1"}, []int64{1, 0}},
		{"target type", vigil.Query{TargetType: "lab"}, []int64{2, 0}},
		{"target id", vigil.Query{TargetID: "rec_1"}, []int64{0}},
		{"target type and id", vigil.Query{TargetType: "lab", TargetID: "rec_1"}, nil},
		{"patient", vigil.Query{PatientID: "pt_1"}, []int64{2, 0}},
		{"outcome", vigil.Query{Outcome: vigil.OutcomeFailure}, []int64{2}},
		{"purpose", vigil.Query{PurposeOfUse: "ETREAT"}, []int64{2}},
		{"search name", vigil.Query{Search: "alice"}, []int64{0}},
		{"search action", vigil.Query{Search: "export"}, []int64{1}},
		{"search like chars are literal", vigil.Query{Search: "100%_"}, []int64{3}},
		{"search percent alone", vigil.Query{Search: "%"}, []int64{3}},
		{"from", vigil.Query{From: day(3)}, []int64{4, 3}},
		{"to exclusive", vigil.Query{To: day(1)}, []int64{0}},
		{"from to", vigil.Query{From: day(1), To: day(3)}, []int64{2, 1}},
		{"combined", vigil.Query{ActorID: "nurse_b", PatientID: "pt_1"}, []int64{2}},
		{"nothing", vigil.Query{ActorID: "nobody"}, nil},
	}
	for _, c := range cases {
		q := c.q
		q.Workspace, q.Before = "ws", -1
		page, err := s.Events(ctx(t), q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []int64
		for _, e := range page.Events {
			got = append(got, e.Sequence)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || page.Total != int64(len(c.want)) || page.HasMore {
			t.Errorf("%s: got %v (total %d, more %v), want %v", c.name, got, page.Total, page.HasMore, c.want)
		}
	}
}

// testIDsAndRecorded: the filters on event ids (lists ANDed, ids of one
// list ORed; an empty list matches nothing) and on created_at.
func testIDsAndRecorded(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	seedFilters(t, s)
	all, err := s.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1})
	if err != nil || len(all.Events) != 5 {
		t.Fatalf("%d events, %v", len(all.Events), err)
	}
	id := func(seq int64) string { return all.Events[4-seq].ID }
	created := func(seq int64) time.Time { return all.Events[4-seq].CreatedAt }
	cases := []struct {
		name string
		q    vigil.Query
		want []int64
	}{
		{"one id", vigil.Query{IDs: [][]string{{id(3)}}}, []int64{3}},
		{"ids ORed", vigil.Query{IDs: [][]string{{id(0), id(2), "unknown"}}}, []int64{2, 0}},
		{"lists ANDed", vigil.Query{IDs: [][]string{{id(0), id(2)}, {id(2), id(4)}}}, []int64{2}},
		{"disjoint lists", vigil.Query{IDs: [][]string{{id(0)}, {id(1)}}}, nil},
		{"empty list", vigil.Query{IDs: [][]string{{}}}, nil},
		{"ids and a filter", vigil.Query{IDs: [][]string{{id(0), id(2)}}, ActorID: "dr_a"}, []int64{0}},
		{"recorded from", vigil.Query{CreatedFrom: created(2)}, []int64{4, 3, 2}},
		{"recorded to exclusive", vigil.Query{CreatedTo: created(2)}, []int64{1, 0}},
		{"recorded from to", vigil.Query{CreatedFrom: created(1), CreatedTo: created(3)}, []int64{2, 1}},
	}
	for _, c := range cases {
		q := c.q
		q.Workspace, q.Before = "ws", -1
		page, err := s.Events(ctx(t), q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []int64
		for _, e := range page.Events {
			got = append(got, e.Sequence)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || page.Total != int64(len(c.want)) {
			t.Errorf("%s: got %v (total %d), want %v", c.name, got, page.Total, c.want)
		}
	}
}

func testPagination(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	for i := range 23 {
		mustAppend(t, s, "ws", event("a", fmt.Sprintf("act.%d", i)))
	}
	var got []int64
	q := vigil.Query{Workspace: "ws", ActorID: "a", Before: -1, Limit: 5}
	var wg sync.WaitGroup
	for pages := 0; ; pages++ {
		page, err := s.Events(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total < 23 {
			t.Fatalf("total = %d", page.Total)
		}
		for _, e := range page.Events {
			got = append(got, e.Sequence)
		}
		if !page.HasMore {
			break
		}
		if pages == 1 {
			// Inserts while paging must not shift later pages.
			wg.Add(1)
			go func() { defer wg.Done(); mustAppend(t, s, "ws", event("a", "late"), event("a", "later")) }()
			wg.Wait()
		}
		q.Before = page.Next
	}
	if len(got) != 23 {
		t.Fatalf("paged %d events, want 23: %v", len(got), got)
	}
	for i, seq := range got {
		if seq != int64(22-i) {
			t.Fatalf("page order %v", got)
		}
	}
}

func testTenantScope(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	a := event("u", "x")
	a.TenantID = "t1"
	b := event("u", "x")
	b.TenantID = "t2"
	res := mustAppend(t, s, "ws", a, b, event("u", "x"))
	if _, err := s.Event(ctx(t), "ws", "t1", res[1].ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("tenant t1 read t2's event: %v", err)
	}
	if _, err := s.Event(ctx(t), "ws", "t1", res[0].ID); err != nil {
		t.Fatal(err)
	}
	page, err := s.Events(ctx(t), vigil.Query{Workspace: "ws", TenantScope: "t1", Before: -1})
	if err != nil || len(page.Events) != 1 || page.Total != 1 || page.Events[0].ID != res[0].ID {
		t.Fatalf("scoped query = %+v %v", page, err)
	}
	page, _ = s.Events(ctx(t), vigil.Query{Workspace: "ws", TenantScope: "t1", TenantID: "t2", Before: -1})
	if len(page.Events) != 0 || page.Total != 0 {
		t.Fatalf("asking for another tenant widened the scope: %+v", page)
	}
}

func testWorkspaceIsolation(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	if _, err := s.EnsureWorkspace(ctx(t), "other"); err != nil {
		t.Fatal(err)
	}
	res := mustAppend(t, s, "ws", event("a", "x"))
	o := mustAppend(t, s, "other", event("a", "x"))
	if o[0].Sequence != 0 {
		t.Fatalf("each workspace's sequence starts at 0, got %d", o[0].Sequence)
	}
	if _, err := s.Event(ctx(t), "other", "", res[0].ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("read across workspaces: %v", err)
	}
	page, _ := s.Events(ctx(t), vigil.Query{Workspace: "other", Before: -1})
	if page.Total != 1 || page.Events[0].ID != o[0].ID {
		t.Fatalf("other workspace sees %+v", page)
	}
	if created, err := s.EnsureWorkspace(ctx(t), "other"); err != nil || created {
		t.Fatalf("EnsureWorkspace twice: %v %v", created, err)
	}
	if _, err := s.EnsureWorkspace(ctx(t), "a/b"); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("bad workspace name: %v", err)
	}
}

func testClosed(t *testing.T, open Opener) {
	s, _ := open(t)
	if _, err := s.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "ws", event("a", "b"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Append(ctx(t), "ws", []vigil.Event{event("a", "b")})
	if code := vigil.ErrorCode(err); code != vigil.EUNAVAILABLE {
		t.Fatalf("append after close: %v", err)
	}
}
