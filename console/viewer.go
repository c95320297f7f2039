package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil"
	vhttp "github.com/vigilhq/vigil/http"
)

// The embeddable viewer shows one tenant's events (one actor's, when the
// token names one), read-only, until its token expires. It has no session
// and no cookie: the token is the credential, checked on every use, and
// every use is recorded in the audit trail as a query by the token.

// viewerPageSize is the viewer's page of events.
const viewerPageSize = 50

// viewerGrant checks a token: its signature, its expiry, and that the key
// that minted it is still valid. A genuine token refused (expired, or its
// key revoked) is recorded as a failed read by it.
func (c *Console) viewerGrant(r *http.Request, token string) (vigil.ViewerGrant, error) {
	if c.cfg.ViewerTokens == nil {
		return vigil.ViewerGrant{}, vigil.Errorf(vigil.EUNAVAILABLE, "the viewer is not configured on this server")
	}
	g, err := c.checkGrant(r, token)
	if err != nil && g.Workspace != "" {
		e := c.metaEvent(r, g.ID, "viewer token of "+g.IssuedBy, actorTypeViewer, g.TenantID, actionEventsQuery)
		params := map[string]string{"via": "viewer", "token_id": g.ID, "tenant_id": g.TenantID, "issued_by": g.IssuedBy}
		if rerr := vigil.RecordRead(r.Context(), c.cfg.Events, g.Workspace, e, r.URL.Path, params, func() error { return err }); vigil.ErrorCode(rerr) == vigil.EUNAVAILABLE {
			return g, rerr
		}
	}
	return g, err
}

func (c *Console) checkGrant(r *http.Request, token string) (vigil.ViewerGrant, error) {
	g, err := c.cfg.ViewerTokens.Check(token, c.cfg.Now())
	if err != nil {
		return g, err
	}
	keys, err := c.cfg.Keys.Keys(r.Context(), g.Workspace)
	if err != nil {
		return g, err
	}
	for _, k := range keys {
		if k.ID == g.IssuedBy && !k.Revoked() {
			return g, nil
		}
	}
	return g, vigil.Errorf(vigil.EUNAUTHORIZED, "the key that minted this viewer token was revoked")
}

// viewerQuery reads the events a grant may see, recorded as the token's,
// and the cursor of the page after them ("" when none follows).
func (c *Console) viewerQuery(r *http.Request, g vigil.ViewerGrant, cursor string) (vigil.Page, string, error) {
	v := url.Values{"limit": {strconv.Itoa(viewerPageSize)}}
	q, _, err := vhttp.ParseEventQuery(v)
	if err != nil {
		return vigil.Page{}, "", err
	}
	// The grant's scope is the query's tenant scope, not a filter: nothing
	// of another tenant can come back whatever else is asked.
	q.Workspace, q.TenantScope, q.ActorID = g.Workspace, g.TenantID, g.ActorID
	if err := vhttp.OpenEventCursor(&q, cursor); err != nil {
		return vigil.Page{}, "", err
	}
	params := map[string]string{"via": "viewer", "token_id": g.ID, "tenant_id": g.TenantID, "issued_by": g.IssuedBy}
	if g.ActorID != "" {
		params["actor_id"] = g.ActorID
	}
	if cursor != "" {
		params["cursor"] = cursor
	}
	e := c.metaEvent(r, g.ID, "viewer token of "+g.IssuedBy, actorTypeViewer, g.TenantID, actionEventsQuery)
	var page vigil.Page
	err = vigil.RecordRead(r.Context(), c.cfg.Events, g.Workspace, e, r.URL.Path, params, func() error {
		var err error
		page, err = c.cfg.Events.Events(r.Context(), q)
		return err
	})
	if err != nil || !page.HasMore {
		return page, "", err
	}
	return page, vhttp.EventCursor(q, page.Next), nil
}

type viewerData struct {
	Grant  vigil.ViewerGrant
	Events []vigil.Event
	Next   string
	Error  string
}

// viewerCSP is the console's, except that the viewer may be framed by the
// page that embeds it.
const viewerCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'none'; frame-ancestors *; base-uri 'none'"

func (c *Console) viewerPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := q.Get("token")
	status := http.StatusOK
	d := viewerData{}
	g, err := c.viewerGrant(r, token)
	if err == nil {
		d.Grant = g
		var page vigil.Page
		var next string
		page, next, err = c.viewerQuery(r, g, q.Get("cursor"))
		if err == nil {
			d.Events = page.Events
			if next != "" {
				d.Next = "/viewer?" + url.Values{"token": {token}, "cursor": {next}}.Encode()
			}
		}
	}
	if err != nil {
		status, _ = vhttp.ErrorStatus(vigil.ErrorCode(err))
		d.Error = vigil.ErrorMessage(err)
	}
	c.pages.render(w, status, "viewer", pageData{Title: "Access log", Data: d})
}

// viewerEvents answers the web component: JSON, to any origin (the token
// in the Authorization header is the credential; no cookie is involved).
func (c *Console) viewerEvents(w http.ResponseWriter, r *http.Request) {
	c.viewerCORS(w)
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var out struct {
		Data       []viewerEvent `json:"data"`
		NextCursor string        `json:"next_cursor,omitempty"`
		ExpiresAt  int64         `json:"expires_at"`
	}
	g, err := c.viewerGrant(r, strings.TrimSpace(token))
	var page vigil.Page
	var next string
	if err == nil {
		page, next, err = c.viewerQuery(r, g, r.URL.Query().Get("cursor"))
	}
	if err != nil {
		status, wire := vhttp.ErrorStatus(vigil.ErrorCode(err))
		writeJSON(w, status, map[string]any{"error": wire, "message": vigil.ErrorMessage(err), "details": []any{}})
		return
	}
	out.Data = make([]viewerEvent, len(page.Events))
	for i, e := range page.Events {
		out.Data[i] = toViewerEvent(e)
	}
	out.NextCursor = next
	out.ExpiresAt = g.Expires
	writeJSON(w, http.StatusOK, out)
}

func (c *Console) viewerPreflight(w http.ResponseWriter, r *http.Request) {
	c.viewerCORS(w)
	w.WriteHeader(http.StatusNoContent)
}

func (c *Console) viewerCORS(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", "Authorization")
	h.Set("Access-Control-Allow-Methods", "GET")
	h.Set("Access-Control-Max-Age", "600")
}

// viewerEvent is what the viewer shows of an event: who, what, when,
// on what, with what outcome; nothing of the ledger or the metadata.
type viewerEvent struct {
	ID         string `json:"id"`
	OccurredAt string `json:"occurred_at"`
	ActorID    string `json:"actor_id"`
	ActorName  string `json:"actor_name,omitempty"`
	Action     string `json:"action"`
	Resource   string `json:"resource,omitempty"`
	ResourceID string `json:"resource_id,omitempty"`
	Outcome    string `json:"outcome"`
}

func toViewerEvent(e vigil.Event) viewerEvent {
	return viewerEvent{ID: e.ID, OccurredAt: e.OccurredAt.UTC().Format("2006-01-02T15:04:05Z"), ActorID: e.ActorID, ActorName: e.ActorName,
		Action: e.Action, Resource: e.Resource, ResourceID: e.ResourceID, Outcome: string(e.Outcome)}
}

func (c *Console) viewerScript(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("static/viewer.js")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	w.Write(b)
}
