package http_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/sqlite"
)

// pagedListing is a listing that pages with a cursor: how to read the
// cursor of its next page from an answer, and the parameter that takes it.
type pagedListing struct {
	path  string // with the query of the first page, which must have more
	param string // the cursor's parameter
	next  func(t *testing.T, r response) string
}

func restCursor(t *testing.T, r response) string {
	t.Helper()
	var page struct {
		Pagination struct {
			NextCursor *string `json:"next_cursor"`
		}
	}
	r.json(t, &page)
	if page.Pagination.NextCursor == nil {
		t.Fatalf("no next cursor: %s", r.body)
	}
	return *page.Pagination.NextCursor
}

func fhirCursor(t *testing.T, r response) string {
	t.Helper()
	var b fhir.Bundle
	r.json(t, &b)
	for _, l := range b.Link {
		if l.Relation == "next" {
			u, err := url.Parse(l.URL)
			if err != nil {
				t.Fatal(err)
			}
			return u.Query().Get("_cursor")
		}
	}
	t.Fatalf("no next link: %s", r.body)
	return ""
}

// cursorEnv is a server whose two workspaces and two tenants each hold
// several events and alerts, so every listing has a second page.
func cursorEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	for _, ws := range []string{"default", "other"} {
		r := e.post("/api/v1/alert-rules", e.key(ws, vigil.RoleAdmin, ""), `{"name":"all","rule_type":"watchlist","conditions":{"actors":["pager"]}}`)
		wantStatus(t, r, 201)
		ingest := e.key(ws, vigil.RoleIngest, "")
		for i := range 6 {
			body := fmt.Sprintf(`{"actor_id":"pager","action":"page.read","tenant_id":"t%d","occurred_at":"2024-06-0%dT10:00:00Z"}`, i%2+1, i+1)
			wantStatus(t, e.post("/api/v1/events", ingest, body), 201)
		}
	}
	if n, err := e.db.AlertEvaluator(sqlite.AlertOptions{}).Pass(context.Background()); err != nil || n != 12 {
		t.Fatalf("%d alerts (%v)", n, err)
	}
	return e
}

var pagedListings = []pagedListing{
	{"/api/v1/events?action=page.read&limit=1", "cursor", restCursor},
	{"/api/v1/alerts?rule_type=watchlist&limit=1", "cursor", restCursor},
	{"/api/v1/audit-events?action=R&limit=1", "cursor", restCursor},
	{"/fhir/R4/AuditEvent?subtype=page.read&_count=1", "_cursor", fhirCursor},
}

// TestForeignCursors: a cursor works only for the listing that issued it.
// The same filters (in another page size) continue it; other filters,
// another order, another workspace's key or another tenant scope are
// refused with 422 naming the cursor, never answered with a page of
// something else.
func TestForeignCursors(t *testing.T) {
	e := cursorEnv(t)
	other := e.key("other", vigil.RoleAuditor, "")
	tenant := e.key("default", vigil.RoleAuditor, "t1")
	for _, l := range pagedListings {
		first := e.get(l.path, e.auditor)
		wantStatus(t, first, 200)
		c := l.next(t, first)
		with := func(path string) string { return path + "&" + l.param + "=" + url.QueryEscape(c) }
		base, _, _ := strings.Cut(l.path, "?")
		// The listing it came from takes it, in any page size.
		if r := e.get(with(l.path), e.auditor); r.status != 200 {
			t.Fatalf("%s with its own cursor: %d %s", l.path, r.status, r.body)
		}
		bigger := strings.Replace(strings.Replace(l.path, "limit=1", "limit=2", 1), "_count=1", "_count=2", 1)
		if r := e.get(with(bigger), e.auditor); r.status != 200 {
			t.Fatalf("%s with its own cursor: %d %s", bigger, r.status, r.body)
		}
		foreign := map[string]struct{ path, key string }{
			"other filters":   {base + map[bool]string{true: "?_count=1", false: "?limit=1"}[strings.HasPrefix(base, "/fhir/")], e.auditor},
			"more filters":    {l.path + "&" + map[string]string{"/api/v1/events": "actor_id=pager", "/api/v1/alerts": "status=open", "/api/v1/audit-events": "outcome=0", "/fhir/R4/AuditEvent": "agent=pager"}[base], e.auditor},
			"other workspace": {l.path, other},
			"tenant scope":    {l.path, tenant},
		}
		if base == "/fhir/R4/AuditEvent" {
			foreign["other order"] = struct{ path, key string }{l.path + "&_sort=date", e.auditor}
		}
		for name, f := range foreign {
			r := e.get(with(f.path), f.key)
			if r.status != 422 {
				t.Fatalf("%s: %s with a cursor of %s: %d, want 422: %.300s", name, f.path, l.path, r.status, r.body)
			}
			if strings.HasPrefix(base, "/fhir/") {
				if is := r.outcome(t); len(is[0].Expression) != 1 || is[0].Expression[0] != l.param {
					t.Fatalf("%s: issue %+v", name, is[0])
				}
			} else if r.errorCode(t) != "validation_failed" || !strings.Contains(string(r.body), `"field":"cursor"`) {
				t.Fatalf("%s: %s", name, r.body)
			}
		}
	}
}
