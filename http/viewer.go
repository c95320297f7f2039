package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

// ActionViewerTokensCreated records each viewer token minted.
const ActionViewerTokensCreated = "vigil.viewer_tokens.created"

// createViewerToken mints a token for the embeddable viewer: admin and
// issuer keys may, a tenant-restricted key only for its own tenant. The
// minting is recorded before the token is answered: a token nobody can
// trace is never handed out.
func (s *Server) createViewerToken(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if s.cfg.ViewerTokens == nil {
		return vigil.Errorf(vigil.EUNAVAILABLE, "viewer tokens are not configured on this server")
	}
	if err := onlyParams(r); err != nil {
		return err
	}
	body, err := readBody(r, 16<<10)
	if err != nil {
		return err
	}
	var in api.ViewerTokenInput
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	var details []vigil.ErrorDetail
	bad := func(field, msg string) { details = append(details, vigil.ErrorDetail{Field: field, Message: msg}) }
	switch {
	case in.TenantID == "":
		bad("tenant_id", "is required: a viewer shows one tenant's events")
	case len(in.TenantID) > vigil.MaxIDLength || !vigil.ValidText(in.TenantID):
		bad("tenant_id", "must be at most 255 bytes of text")
	}
	if len(in.ActorID) > vigil.MaxIDLength || !vigil.ValidText(in.ActorID) {
		bad("actor_id", "must be at most 255 bytes of text")
	}
	ttl := vigil.DefaultViewerTTL
	if in.TTL != nil {
		if *in.TTL < 1 || *in.TTL > int64(vigil.MaxViewerTTL/time.Second) {
			bad("ttl", "must be from 1 to "+strconv.Itoa(int(vigil.MaxViewerTTL/time.Second))+" seconds")
		}
		ttl = time.Duration(*in.TTL) * time.Second
	}
	if len(details) > 0 {
		return vigil.Invalid(details...)
	}
	if k.TenantID != "" && in.TenantID != k.TenantID {
		return vigil.Errorf(vigil.EFORBIDDEN, "this key may mint viewer tokens only for tenant %q", k.TenantID)
	}
	token, g := s.cfg.ViewerTokens.Mint(vigil.ViewerGrant{Workspace: k.Workspace, TenantID: in.TenantID, ActorID: in.ActorID,
		IssuedBy: k.ID, ExpiresAt: s.cfg.Now().Add(ttl)})
	params := map[string]string{"token_id": g.ID, "tenant_id": g.TenantID, "expires_at": g.ExpiresAt.Format(time.RFC3339)}
	if g.ActorID != "" {
		params["actor_id"] = g.ActorID
	}
	if err := s.record(r, k, ActionViewerTokensCreated, params); err != nil {
		return vigil.Unavailable("recording this token in the audit trail failed", err)
	}
	writeJSON(w, http.StatusOK, api.ViewerToken{Token: token, ExpiresAt: g.Expires})
	return nil
}
