package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

func toAPIKey(k vigil.APIKey) api.Key {
	out := api.Key{ID: k.ID, Workspace: k.Workspace, Role: string(k.Role), TenantID: str(k.TenantID), Name: str(k.Name),
		Hint: k.Hint, CreatedAt: k.CreatedAt.Format(time.RFC3339Nano)}
	if k.Revoked() {
		t := k.RevokedAt.Format(time.RFC3339Nano)
		out.RevokedAt = &t
	}
	return out
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, admin vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	body, err := readBody(r, vigil.MaxRequestBytes)
	if err != nil {
		return err
	}
	var in api.KeyInput
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	tenant := ""
	if in.TenantID != nil {
		// Given but empty is a mistake (an unset variable in a script),
		// never a request for a key of every tenant.
		if strings.TrimSpace(*in.TenantID) == "" {
			return vigil.Invalid(vigil.ErrorDetail{Field: "tenant_id", Message: vigil.TenantEmptyMessage})
		}
		tenant = *in.TenantID
	}
	if admin.TenantID != "" {
		// An admin confined to a tenant hands out keys of that tenant only.
		if tenant != "" && tenant != admin.TenantID {
			return vigil.Errorf(vigil.EFORBIDDEN, "this key may manage only tenant %q", admin.TenantID)
		}
		tenant = admin.TenantID
	}
	k, secret, err := vigil.CreateKey(r.Context(), s.store, admin.Workspace, vigil.Role(in.Role), tenant, in.Name, s.cfg.Now())
	if err != nil {
		return err
	}
	if err := s.record(r, admin, ActionKeysCreated, map[string]string{"key_id": k.ID, "role": string(k.Role), "tenant_id": k.TenantID}); err != nil {
		s.logger.Error("recording key creation failed", "key_id", k.ID, "err", err)
	}
	out := toAPIKey(k)
	out.Secret = secret
	writeJSON(w, http.StatusCreated, api.Data[api.Key]{Data: out})
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, admin vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	keys, err := s.store.Keys(r.Context(), admin.Workspace)
	if err != nil {
		return err
	}
	out := []api.Key{}
	for _, k := range keys {
		if admin.TenantID == "" || k.TenantID == admin.TenantID {
			out = append(out, toAPIKey(k))
		}
	}
	writeJSON(w, http.StatusOK, api.Data[[]api.Key]{Data: out})
	return nil
}

func (s *Server) findKey(r *http.Request, admin vigil.APIKey, id string) (vigil.APIKey, error) {
	keys, err := s.store.Keys(r.Context(), admin.Workspace)
	if err != nil {
		return vigil.APIKey{}, err
	}
	for _, k := range keys {
		if k.ID == id && (admin.TenantID == "" || k.TenantID == admin.TenantID) {
			return k, nil
		}
	}
	return vigil.APIKey{}, vigil.Errorf(vigil.ENOTFOUND, "key not found")
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request, admin vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	k, err := s.findKey(r, admin, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.Key]{Data: toAPIKey(k)})
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, admin vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	if _, err := s.findKey(r, admin, r.PathValue("id")); err != nil {
		return err
	}
	k, err := s.store.RevokeKey(r.Context(), admin.Workspace, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.keys.forget(k.ID)
	if err := s.record(r, admin, ActionKeysRevoked, map[string]string{"key_id": k.ID}); err != nil {
		s.logger.Error("recording key revocation failed", "key_id", k.ID, "err", err)
	}
	writeJSON(w, http.StatusOK, api.Data[api.Key]{Data: toAPIKey(k)})
	return nil
}
