package http_test

import (
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

func TestKeysAPI(t *testing.T) {
	e := newEnv(t)
	r := e.post("/api/v1/keys", e.admin, `{"role":"auditor","name":"compliance","tenant_id":"clinic_a"}`)
	wantStatus(t, r, 201)
	var created api.Data[api.Key]
	r.json(t, &created)
	k := created.Data
	if !vigil.LooksLikeKey(k.Secret) || k.Role != "auditor" || *k.TenantID != "clinic_a" || k.Hint != k.Secret[:10] || k.RevokedAt != nil {
		t.Fatalf("created %s", r.body)
	}
	wantStatus(t, e.get("/api/v1/events", k.Secret), 200)

	// Listed and read without the secret.
	r = e.get("/api/v1/keys", e.admin)
	wantStatus(t, r, 200)
	if strings.Contains(string(r.body), k.Secret) || !strings.Contains(string(r.body), k.ID) {
		t.Fatalf("list %s", r.body)
	}
	r = e.get("/api/v1/keys/"+k.ID, e.admin)
	wantStatus(t, r, 200)
	if strings.Contains(string(r.body), `"secret"`) {
		t.Fatalf("get shows the secret: %s", r.body)
	}
	// Revocation through the API takes effect at once, even for a key the
	// server has cached.
	r = e.do("DELETE", "/api/v1/keys/"+k.ID, e.admin, nil)
	wantStatus(t, r, 200)
	var revoked api.Data[api.Key]
	r.json(t, &revoked)
	if revoked.Data.RevokedAt == nil {
		t.Fatalf("revoke answered %s", r.body)
	}
	wantStatus(t, e.get("/api/v1/events", k.Secret), 401)

	// Admins of another workspace see nothing of this one.
	other := e.key("other", vigil.RoleAdmin, "")
	wantStatus(t, e.get("/api/v1/keys/"+k.ID, other), 404)
	wantStatus(t, e.do("DELETE", "/api/v1/keys/"+k.ID, other, nil), 404)

	// A tenant admin hands out keys of its tenant only.
	tadmin := e.key("default", vigil.RoleAdmin, "clinic_b")
	wantStatus(t, e.post("/api/v1/keys", tadmin, `{"role":"ingest","tenant_id":"clinic_a"}`), 403)
	r = e.post("/api/v1/keys", tadmin, `{"role":"ingest"}`)
	wantStatus(t, r, 201)
	r.json(t, &created)
	if created.Data.TenantID == nil || *created.Data.TenantID != "clinic_b" {
		t.Fatalf("tenant admin made %s", r.body)
	}
	wantStatus(t, e.get("/api/v1/keys/"+k.ID, tadmin), 404)

	// Key administration is itself in the audit trail.
	var list api.EventList
	e.get("/api/v1/events?action=vigil.keys.*", e.auditor).json(t, &list)
	var actions []string
	for _, ev := range list.Data {
		actions = append(actions, ev.Action)
	}
	if strings.Join(actions, ",") != "vigil.keys.created,vigil.keys.revoked,vigil.keys.created" {
		t.Fatalf("key administration recorded as %v", actions)
	}
}
