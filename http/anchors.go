package http

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

// Anchors cover a workspace's whole log, and like checkpoints they reveal
// no event: every auditor may read them, tenant-restricted or not, and
// reading them is not recorded in the trail.

func (s *Server) anchors() (vigil.AnchorService, error) {
	if s.cfg.Anchors == nil {
		return nil, vigil.Errorf(vigil.EUNAVAILABLE, "anchors are not available on this server")
	}
	return s.cfg.Anchors, nil
}

// Anchor cursors name the anchor id below which the next page starts.
const anchorCursorPrefix = "n1."

func encodeAnchorCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(anchorCursorPrefix + id))
}

func decodeAnchorCursor(s string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), anchorCursorPrefix) {
		return "", false
	}
	id := string(b[len(anchorCursorPrefix):])
	return id, validID(id)
}

func (s *Server) listAnchors(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r, "limit", "cursor"); err != nil {
		return err
	}
	q := vigil.AnchorQuery{Workspace: k.Workspace, Limit: vigil.DefaultQueryLimit}
	var details []vigil.ErrorDetail
	bad := func(field, msg string) { details = append(details, vigil.ErrorDetail{Field: field, Message: msg}) }
	get := r.URL.Query().Get
	q.Limit = parseLimit(get, bad, q.Limit)
	if v := get("cursor"); v != "" {
		id, ok := decodeAnchorCursor(v)
		if !ok {
			bad("cursor", "is not a cursor this server issued")
		}
		q.Before = id
	}
	if len(details) > 0 {
		return vigil.Invalid(details...)
	}
	svc, err := s.anchors()
	if err != nil {
		return err
	}
	page, err := svc.Anchors(r.Context(), q)
	if err != nil {
		return err
	}
	out := api.AnchorList{Data: make([]api.Anchor, len(page.Anchors)), Pagination: api.Pagination{HasMore: page.HasMore, Total: page.Total}}
	for i, a := range page.Anchors {
		out.Data[i] = toAPIAnchor(a)
	}
	if page.HasMore {
		c := encodeAnchorCursor(page.Next)
		out.Pagination.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getAnchor(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	id, err := anchorID(r)
	if err != nil {
		return err
	}
	svc, err := s.anchors()
	if err != nil {
		return err
	}
	a, err := svc.Anchor(r.Context(), k.Workspace, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.AnchorDetail]{Data: toAPIAnchorDetail(a)})
	return nil
}

func (s *Server) verifyAnchor(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	id, err := anchorID(r)
	if err != nil {
		return err
	}
	svc, err := s.anchors()
	if err != nil {
		return err
	}
	v, err := svc.VerifyAnchor(r.Context(), k.Workspace, id)
	if err != nil {
		return err
	}
	out := api.AnchorVerification{AnchorID: v.AnchorID, MerkleRoot: v.Root.String(), Valid: v.Valid, ChainValid: v.ChainValid,
		Expected: v.Expected.String(), EventsCount: v.EventsCount, Problems: v.Problems}
	if v.Actual != nil {
		out.Actual = str(v.Actual.String())
	}
	if out.Problems == nil {
		out.Problems = []string{}
	}
	writeJSON(w, http.StatusOK, api.Data[api.AnchorVerification]{Data: out})
	return nil
}

// anchorNow sends the workspace's latest checkpoint to every witness now
// (201 with the anchors made, or 200 with none when each has seen it).
func (s *Server) anchorNow(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	if err := noBody(r); err != nil {
		return err
	}
	if k.TenantID != "" {
		return vigil.Errorf(vigil.EFORBIDDEN, "anchoring covers the whole workspace; use a key without a tenant restriction")
	}
	svc, err := s.anchors()
	if err != nil {
		return err
	}
	made, err := svc.AnchorNow(r.Context(), k.Workspace)
	if err != nil && len(made) == 0 {
		return err
	}
	out := api.Data[[]api.AnchorDetail]{Data: make([]api.AnchorDetail, len(made))}
	for i, a := range made {
		out.Data[i] = toAPIAnchorDetail(a)
	}
	status := http.StatusCreated
	if len(made) == 0 {
		status = http.StatusOK
	}
	writeJSON(w, status, out)
	return nil
}

func anchorID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !validID(id) {
		return "", vigil.Errorf(vigil.ENOTFOUND, "anchor not found")
	}
	return id, onlyParams(r)
}

func timeOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return str(t.UTC().Format(time.RFC3339Nano))
}

func hashOrNil(h *vigil.Hash) *string {
	if h == nil {
		return nil
	}
	return str(h.String())
}

func toAPIAnchor(a vigil.Anchor) api.Anchor {
	out := api.Anchor{ID: a.ID, MerkleRoot: a.Root.String(), PreviousAnchorHash: hashOrNil(a.PreviousHash), EventsCount: a.EventsCount(),
		PeriodStart: timeOrNil(a.PeriodStart), PeriodEnd: timeOrNil(a.PeriodEnd), Chain: a.Chain, Status: a.Status,
		CreatedAt: a.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if len(a.Evidence) > 0 {
		h := a.EvidenceHash()
		out.TxHash = hashOrNil(&h)
	}
	return out
}

func toAPIAnchorDetail(a vigil.Anchor) api.AnchorDetail {
	out := api.AnchorDetail{Anchor: toAPIAnchor(a), FirstEventHash: hashOrNil(a.FirstEventHash), LastEventHash: hashOrNil(a.LastEventHash),
		TreeSize: a.TreeSize, Checkpoint: string(a.Checkpoint), Kind: a.Kind, EvidenceTime: timeOrNil(a.EvidenceTime),
		WitnessKey: str(a.WitnessKey), Attempts: a.Attempts, LastError: str(a.LastError)}
	if len(a.Evidence) > 0 {
		out.Evidence = str(base64.StdEncoding.EncodeToString(a.Evidence))
	}
	return out
}
