package http

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

// Actions recording changes to retention and legal holds.
const (
	ActionRetentionUpdated  = "vigil.retention.updated"
	ActionLegalHoldCreated  = "vigil.legal_holds.created"
	ActionLegalHoldReleased = "vigil.legal_holds.released"
)

func (s *Server) retention() (vigil.RetentionStore, error) {
	if s.cfg.Retention == nil {
		return nil, vigil.Errorf(vigil.EUNAVAILABLE, "retention policies are not available on this server")
	}
	return s.cfg.Retention, nil
}

// workspaceAdmin refuses tenant-restricted admins: retention and legal
// holds are the workspace's, over every tenant's events.
func workspaceAdmin(k vigil.APIKey, what string) error {
	if k.TenantID != "" {
		return vigil.Errorf(vigil.EFORBIDDEN, "%s cover every tenant of the workspace; a key restricted to tenant %q may not manage them", what, k.TenantID)
	}
	return nil
}

func toAPIRetention(p vigil.RetentionPolicy) api.Retention {
	out := api.Retention{Workspace: p.Workspace, RetentionDays: p.Days, HIPAA: p.HIPAA, Default: !p.Set}
	if p.Set {
		t := p.UpdatedAt.Format(time.RFC3339Nano)
		out.UpdatedAt, out.UpdatedBy = &t, str(p.UpdatedBy)
	}
	return out
}

func (s *Server) getRetention(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.retention()
	if err != nil {
		return err
	}
	if err := onlyParams(r); err != nil {
		return err
	}
	if err := workspaceAdmin(k, "retention policies"); err != nil {
		return err
	}
	p, err := store.RetentionPolicy(r.Context(), k.Workspace)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.Retention]{Data: toAPIRetention(p)})
	return nil
}

func (s *Server) putRetention(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.retention()
	if err != nil {
		return err
	}
	if err := onlyParams(r); err != nil {
		return err
	}
	if err := workspaceAdmin(k, "retention policies"); err != nil {
		return err
	}
	body, err := readBody(r, vigil.MaxRequestBytes)
	if err != nil {
		return err
	}
	var in api.RetentionInput
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	if in.RetentionDays == nil {
		return vigil.Invalid(vigil.ErrorDetail{Field: "retention_days", Message: "is required"})
	}
	p := vigil.RetentionPolicy{Workspace: k.Workspace, Days: *in.RetentionDays, HIPAA: in.HIPAA == nil || *in.HIPAA,
		UpdatedAt: s.cfg.Now(), UpdatedBy: k.ID}
	if err := p.Check(); err != nil {
		return err
	}
	before, err := store.RetentionPolicy(r.Context(), k.Workspace)
	if err != nil {
		return err
	}
	if p, err = store.SetRetentionPolicy(r.Context(), p); err != nil {
		return err
	}
	if err := s.record(r, k, ActionRetentionUpdated, map[string]string{
		"retention_days": strconv.Itoa(p.Days), "hipaa": strconv.FormatBool(p.HIPAA),
		"previous_retention_days": strconv.Itoa(before.Days), "previous_hipaa": strconv.FormatBool(before.HIPAA),
	}); err != nil {
		return changedUnrecorded("the retention policy", err)
	}
	writeJSON(w, http.StatusOK, api.Data[api.Retention]{Data: toAPIRetention(p)})
	return nil
}

// changedUnrecorded is the answer to a change that was stored but whose
// record in the audit trail failed: the client is told, the server logs
// it, and the next read shows the change.
func changedUnrecorded(what string, err error) error {
	return vigil.Unavailable(what+" was changed, but recording the change in the audit trail failed; the server logged it", err)
}

// joinNonEmpty drops empty values of a record's parameters.
func joinNonEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if strings.TrimSpace(v) == "" {
			delete(m, k)
		}
	}
	return m
}
