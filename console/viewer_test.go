package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

func (e *env) mint(key, body string) api.ViewerToken {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/viewer-token", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok api.ViewerToken
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, &tok) != nil {
		e.t.Fatalf("viewer-token: %d %s", resp.StatusCode, b)
	}
	return tok
}

func (e *env) viewerGet(path, token string) (int, string, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestViewerExpiryAndRevocation: a token works until its expiry and not
// a second after, stops when its key is revoked, and every use is
// recorded as the token's, in its tenant.
func TestViewerExpiryAndRevocation(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.send(`{"actor_id":"dr-1","action":"chart.read","tenant_id":"t1"}`, `{"actor_id":"dr-2","action":"chart.read","tenant_id":"t2"}`)
	issuer := e.key(vigil.RoleIssuer, "t1")
	tok := e.mint(issuer, `{"tenant_id":"t1","ttl":60}`)
	status, body, h := e.viewerGet("/viewer?token="+url.QueryEscape(tok.Token), "")
	if status != 200 || !strings.Contains(body, "dr-1") || strings.Contains(body, "dr-2") {
		t.Fatalf("viewer page: %d %.500s", status, body)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || h.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("viewer headers: %v", h)
	}
	status, body, h = e.viewerGet("/viewer/events", tok.Token)
	if status != 200 || !strings.Contains(body, `"actor_id":"dr-1"`) || strings.Contains(body, "dr-2") || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("viewer events: %d %s %v", status, body, h)
	}
	// Set from the token's own expiry (whole seconds), not from the time
	// it was minted, so a slow machine cannot push the check past it.
	expiry := time.Unix(tok.ExpiresAt, 0)
	e.clock.setTo(expiry.Add(-time.Second))
	if status, _, _ := e.viewerGet("/viewer/events", tok.Token); status != 200 {
		t.Fatalf("a second before expiry: %d", status)
	}
	e.clock.setTo(expiry.Add(time.Second))
	for _, path := range []string{"/viewer/events", "/viewer?token=" + url.QueryEscape(tok.Token)} {
		status, body, _ := e.viewerGet(path, tok.Token)
		if status != 401 || strings.Contains(body, "dr-1") || !strings.Contains(body, "expired") {
			t.Fatalf("%s after expiry: %d %.300s", path, status, body)
		}
	}
	tok = e.mint(issuer, `{"tenant_id":"t1"}`)
	keys, _ := e.db.Keys(context.Background(), "default")
	for _, k := range keys {
		if k.Role == vigil.RoleIssuer {
			e.db.RevokeKey(context.Background(), "default", k.ID)
		}
	}
	if status, body, _ := e.viewerGet("/viewer/events", tok.Token); status != 401 || !strings.Contains(body, "revoked") {
		t.Fatalf("after the key's revocation: %d %s", status, body)
	}
	if status, _, _ := e.viewerGet("/viewer/events", tok.Token+"x"); status != 401 {
		t.Fatalf("an altered token: %d", status)
	}
	uses := map[vigil.Outcome]int{}
	for _, ev := range e.events("vigil.events.query") {
		if ev.ActorType != "viewer_token" {
			continue
		}
		uses[ev.Outcome]++
		if ev.TenantID != "t1" || !strings.Contains(string(ev.Metadata), `"via":"viewer"`) {
			t.Fatalf("a viewer use recorded as %+v %s", ev, ev.Metadata)
		}
	}
	// Three reads; two expired and one revoked use refused (the altered
	// token is nobody's).
	if uses[vigil.OutcomeSuccess] != 3 || uses[vigil.OutcomeFailure] != 3 {
		t.Fatalf("viewer uses recorded: %v, want 3 successes and 3 failures", uses)
	}
	if status, _, _ := e.viewerGet("/viewer.js", ""); status != 200 {
		t.Fatalf("viewer.js: %d", status)
	}
}
