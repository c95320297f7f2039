package http_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

// TestViewerToken: admin and issuer keys mint tokens in the SDKs' shape,
// with the default and the largest ttl; a tenant-restricted key only for
// its tenant; other roles are refused; bad bodies name the field; each
// minting is recorded.
func TestViewerToken(t *testing.T) {
	e := newEnv(t)
	issuer := e.key("default", vigil.RoleIssuer, "")
	tenantIssuer := e.key("default", vigil.RoleIssuer, "t1")
	check := vigil.NewViewerTokens(testViewerSecret)
	for _, c := range []struct {
		name, key, body string
		ttl             time.Duration
	}{
		{"admin, default ttl", e.admin, `{"tenant_id":"t1"}`, vigil.DefaultViewerTTL},
		{"issuer with actor", issuer, `{"tenant_id":"t2","actor_id":"dr-1","ttl":60}`, time.Minute},
		{"tenant issuer, largest ttl", tenantIssuer, `{"tenant_id":"t1","ttl":3600}`, time.Hour},
	} {
		before := time.Now().Truncate(time.Second)
		r := e.post("/api/v1/viewer-token", c.key, c.body)
		wantStatus(t, r, 200)
		var out api.ViewerToken
		r.json(t, &out)
		if !strings.Contains(string(r.body), `"expires_at":`) || strings.Contains(string(r.body), `"data"`) {
			t.Fatalf("%s: body %s is not the SDKs' shape", c.name, r.body)
		}
		g, err := check.Check(out.Token, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		exp := time.Unix(out.ExpiresAt, 0)
		if exp.Before(before.Add(c.ttl)) || exp.After(time.Now().Add(c.ttl)) || !g.ExpiresAt.Equal(exp) {
			t.Fatalf("%s: expires %v, want about now + %v", c.name, exp, c.ttl)
		}
		if _, err := check.Check(out.Token, exp); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
			t.Fatalf("%s: token used at its expiry: %v", c.name, err)
		}
		if g.Workspace != "default" || !strings.Contains(c.body, `"`+g.TenantID+`"`) {
			t.Fatalf("%s: grant %+v", c.name, g)
		}
	}
	for _, c := range []struct {
		name, key, body string
		status          int
		field           string
	}{
		{"auditor", e.auditor, `{"tenant_id":"t1"}`, 403, ""},
		{"ingest", e.ingest, `{"tenant_id":"t1"}`, 403, ""},
		{"another tenant", tenantIssuer, `{"tenant_id":"t2"}`, 403, ""},
		{"no tenant", issuer, `{}`, 422, "tenant_id"},
		{"ttl too long", issuer, `{"tenant_id":"t1","ttl":3601}`, 422, "ttl"},
		{"ttl zero", issuer, `{"tenant_id":"t1","ttl":0}`, 422, "ttl"},
		{"ttl not an integer", issuer, `{"tenant_id":"t1","ttl":1.5}`, 422, "ttl"},
		{"unknown field", issuer, `{"tenant_id":"t1","scope":"all"}`, 422, "scope"},
		{"not json", issuer, `{"tenant_id":`, 400, ""},
	} {
		r := e.post("/api/v1/viewer-token", c.key, c.body)
		if r.status != c.status || (c.field != "" && !strings.Contains(string(r.body), `"field":"`+c.field+`"`)) {
			t.Fatalf("%s: %d %s, want %d naming %q", c.name, r.status, r.body, c.status, c.field)
		}
		r.errorCode(t)
	}
	var list api.EventList
	e.get("/api/v1/events?action=vigil.viewer_tokens.created", e.auditor).json(t, &list)
	if len(list.Data) != 3 {
		t.Fatalf("%d token mintings recorded, want 3", len(list.Data))
	}
}
