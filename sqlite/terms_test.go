package sqlite_test

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/sqlite"
)

// testIndex derives terms the way a view would: a token with a system, a
// lower-cased name for prefix search.
func testIndex(e vigil.Event) []vigil.Term {
	return []vigil.Term{
		{Name: "code", System: e.ActionCategory, Value: e.Action},
		{Name: "name", Value: strings.ToLower(e.ActorName), Text: true},
		{Name: "code", System: "always", Value: "x"},
	}
}

func openIndexed(t *testing.T, dir string, index func(vigil.Event) []vigil.Term) *embedded.Store {
	t.Helper()
	db, err := embedded.Open(ctx(t), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), Index: index}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	return db
}

func actions(t *testing.T, db *embedded.Store, filters ...vigil.TermFilter) string {
	t.Helper()
	page, err := db.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1, Limit: 100, Terms: filters})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range page.Events {
		out = append(out, e.Action)
	}
	sort.Strings(out)
	if page.Total != int64(len(out)) {
		t.Fatalf("total %d for %d events", page.Total, len(out))
	}
	return strings.Join(out, ",")
}

func TestTermFilters(t *testing.T) {
	db := openIndexed(t, t.TempDir(), testIndex)
	defer db.Close()
	_, err := db.Append(ctx(t), "ws", []vigil.Event{
		{ActorID: "a", ActorName: "Dr. Sarah Chen", Action: "read", ActionCategory: "http://sys"},
		{ActorID: "b", ActorName: "Nurse Johnson", Action: "read"},
		{ActorID: "c", ActorName: "Sarah Connor", Action: "create", ActionCategory: "http://sys"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := func(vs ...vigil.TermValue) vigil.TermFilter { return vigil.TermFilter{Name: "code", Values: vs} }
	cases := []struct {
		filters []vigil.TermFilter
		want    string
	}{
		{[]vigil.TermFilter{f(vigil.TermValue{AnySystem: true, Value: "read"})}, "read,read"},
		{[]vigil.TermFilter{f(vigil.TermValue{System: "http://sys", Value: "read"})}, "read"},
		{[]vigil.TermFilter{f(vigil.TermValue{System: "", Value: "read"})}, "read"},
		{[]vigil.TermFilter{f(vigil.TermValue{System: "http://sys"})}, "create,read"},
		{[]vigil.TermFilter{f(vigil.TermValue{AnySystem: true, Value: "create"}, vigil.TermValue{System: "", Value: "read"})}, "create,read"},
		{[]vigil.TermFilter{f(vigil.TermValue{AnySystem: true, Value: "rea"})}, ""},
		{[]vigil.TermFilter{{Name: "name", Values: []vigil.TermValue{{AnySystem: true, Value: "sarah", Prefix: true}}}}, "create"},
		{[]vigil.TermFilter{{Name: "name", Values: []vigil.TermValue{{AnySystem: true, Value: "dr. s", Prefix: true}}}}, "read"},
		{[]vigil.TermFilter{{Name: "name", Values: []vigil.TermValue{{AnySystem: true, Value: "%", Prefix: true}}}}, ""},
		{[]vigil.TermFilter{f(vigil.TermValue{AnySystem: true, Value: "read"}), {Name: "name", Values: []vigil.TermValue{{AnySystem: true, Value: "nurse", Prefix: true}}}}, "read"},
		{[]vigil.TermFilter{{Name: "code"}}, ""},
		{[]vigil.TermFilter{{Name: "other", Values: []vigil.TermValue{{AnySystem: true, Value: "read"}}}}, ""},
	}
	for i, c := range cases {
		if got := actions(t, db, c.filters...); got != c.want {
			t.Errorf("case %d %+v: %q, want %q", i, c.filters, got, c.want)
		}
	}
}

// TestTermsBackfill: events stored without an index get their terms when
// the store opens with one.
func TestTermsBackfill(t *testing.T) {
	dir := t.TempDir()
	db := openIndexed(t, dir, nil)
	for _, a := range []string{"read", "create", "read"} {
		if _, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: "a", Action: a}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.EnsureWorkspace(ctx(t), "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Append(ctx(t), "other", []vigil.Event{{ActorID: "a", Action: "read"}}); err != nil {
		t.Fatal(err)
	}
	if got := actions(t, db, vigil.TermFilter{Name: "code", Values: []vigil.TermValue{{AnySystem: true, Value: "read"}}}); got != "" {
		t.Fatalf("terms without an index: %q", got)
	}
	db.Close()
	db = openIndexed(t, dir, testIndex)
	if got := actions(t, db, vigil.TermFilter{Name: "code", Values: []vigil.TermValue{{AnySystem: true, Value: "read"}}}); got != "read,read" {
		t.Fatalf("after backfill: %q", got)
	}
	page, err := db.Events(ctx(t), vigil.Query{Workspace: "other", Before: -1, Terms: []vigil.TermFilter{{Name: "code", Values: []vigil.TermValue{{AnySystem: true, Value: "read"}}}}})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("second workspace not indexed: %d %v", len(page.Events), err)
	}
	for ws, want := range map[string]int{"ws": 3, "other": 1} {
		page, err := db.Events(ctx(t), vigil.Query{Workspace: ws, Before: -1, Terms: []vigil.TermFilter{{Name: "code", Values: []vigil.TermValue{{System: "always", Value: "x"}}}}})
		if err != nil || len(page.Events) != want {
			t.Fatalf("%s: %d events indexed, want %d: %v", ws, len(page.Events), want, err)
		}
	}
	db.Close()
}

// TestTermFiltersDense: past the sparse limit, the search walks the events
// in order; answers and totals are the same.
func TestTermFiltersDense(t *testing.T) {
	db := openIndexed(t, t.TempDir(), testIndex)
	defer db.Close()
	const n = 5200
	for i := 0; i < n; i += 1000 {
		batch := make([]vigil.Event, 0, 1000)
		for j := i; j < min(i+1000, n); j++ {
			name := "bulk"
			if j%1000 == 7 {
				name = "rare"
			}
			batch = append(batch, vigil.Event{ActorID: "a", ActorName: name, Action: "read", OccurredAt: time.Unix(int64(j%97), 0)})
		}
		if _, err := db.Append(ctx(t), "ws", batch); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		value string
		want  int64
	}{{"bulk", n - 6}, {"rare", 6}} {
		q := vigil.Query{Workspace: "ws", Before: -1, Limit: 100, Order: vigil.OrderOccurredDesc,
			Terms: []vigil.TermFilter{{Name: "name", Values: []vigil.TermValue{{AnySystem: true, Value: c.value}}}}}
		seen := int64(0)
		var last *vigil.Event
		for {
			page, err := db.Events(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != c.want {
				t.Fatalf("%s: total %d, want %d", c.value, page.Total, c.want)
			}
			for i := range page.Events {
				e := page.Events[i]
				if e.ActorName != c.value {
					t.Fatalf("%s: got %s", c.value, e.ActorName)
				}
				if last != nil && (e.OccurredAt.After(last.OccurredAt) || e.OccurredAt.Equal(last.OccurredAt) && e.Sequence > last.Sequence) {
					t.Fatalf("%s: out of order", c.value)
				}
				last = &e
				seen++
			}
			if !page.HasMore || seen > c.want {
				break
			}
			l := page.Events[len(page.Events)-1]
			q.After = &vigil.Position{Occurred: l.OccurredAt.UnixNano(), Sequence: l.Sequence}
			if c.value == "bulk" && seen >= 300 {
				break // the order and total hold; no need to page through it all
			}
		}
		if c.value == "rare" && seen != 6 {
			t.Fatalf("rare: paged %d", seen)
		}
	}
}
