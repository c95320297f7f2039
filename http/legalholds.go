package http

import (
	"net/http"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

func (s *Server) holds() (vigil.LegalHolds, error) {
	if s.cfg.Holds == nil {
		return nil, vigil.Errorf(vigil.EUNAVAILABLE, "legal holds are not available on this server")
	}
	return s.cfg.Holds, nil
}

func toAPIHold(h vigil.LegalHold) api.LegalHold {
	out := api.LegalHold{ID: h.ID, Workspace: h.Workspace, TenantID: str(h.TenantID), PatientID: str(h.PatientID),
		From: timeStr(h.From), To: timeStr(h.To), Reason: h.Reason, Status: "active",
		CreatedAt: h.CreatedAt.UTC().Format(time.RFC3339Nano), CreatedBy: h.CreatedBy}
	if !h.Active() {
		out.Status, out.ReleasedAt, out.ReleasedBy, out.ReleaseReason = "released", timeStr(h.ReleasedAt), str(h.ReleasedBy), str(h.ReleaseReason)
	}
	return out
}

// holdAdmin runs the checks every legal-hold route makes first.
func (s *Server) holdAdmin(r *http.Request, k vigil.APIKey) (vigil.LegalHolds, error) {
	store, err := s.holds()
	if err != nil {
		return nil, err
	}
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	return store, workspaceAdmin(k, "legal holds")
}

func (s *Server) createLegalHold(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.holdAdmin(r, k)
	if err != nil {
		return err
	}
	body, err := readBody(r, vigil.MaxRequestBytes)
	if err != nil {
		return err
	}
	var in api.LegalHoldInput
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	h := vigil.LegalHold{Workspace: k.Workspace, Reason: in.Reason, CreatedBy: k.ID, CreatedAt: s.cfg.Now()}
	var details []vigil.ErrorDetail
	given := func(field string, v *string) string {
		if v == nil {
			return ""
		}
		if *v == "" {
			// Given but empty is a mistake (an unset variable in a
			// script), never a hold of every tenant or patient.
			details = append(details, vigil.ErrorDetail{Field: field, Message: "must not be empty; leave it out to hold every one"})
		}
		return *v
	}
	h.TenantID, h.PatientID = given("tenant_id", in.TenantID), given("patient_id", in.PatientID)
	for _, f := range []struct {
		name string
		v    string
		into *time.Time
	}{{"from", in.From, &h.From}, {"to", in.To, &h.To}} {
		if f.v == "" {
			continue
		}
		sp, err := vigil.ParseTime(f.v, vigil.TimeInstantOrDate)
		if err != nil {
			details = append(details, vigil.ErrorDetail{Field: f.name, Message: err.Error()})
			continue
		}
		*f.into = sp.Start
	}
	if len(details) > 0 {
		return vigil.Invalid(details...)
	}
	if err := h.Check(); err != nil {
		return err
	}
	if h, err = store.CreateLegalHold(r.Context(), h); err != nil {
		return err
	}
	if err := s.recordHold(r, k, ActionLegalHoldCreated, h, map[string]string{"reason": h.Reason,
		"from": deref(timeStr(h.From)), "to": deref(timeStr(h.To))}); err != nil {
		return changedUnrecorded("the legal hold "+h.ID, err)
	}
	w.Header().Set("Location", "/api/v1/legal-holds/"+h.ID)
	writeJSON(w, http.StatusCreated, api.Data[api.LegalHold]{Data: toAPIHold(h)})
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// recordHold records a change to a hold in the workspace's trail: the
// hold's patient is the event's patient, so the hold is in that
// patient's history; the reasons are in its metadata, sealed with the
// event's identifying fields when the store encrypts at rest.
func (s *Server) recordHold(r *http.Request, k vigil.APIKey, action string, h vigil.LegalHold, params map[string]string) error {
	params["hold_id"], params["tenant_id"] = h.ID, h.TenantID
	e := s.metaEvent(r, k, action, joinNonEmpty(params))
	e.Resource, e.ResourceID, e.PatientID = "legal_hold", h.ID, h.PatientID
	_, err := s.store.Append(vigil.ServerRecord(r.Context()), k.Workspace, []vigil.Event{e})
	return err
}

func (s *Server) listLegalHolds(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.holdAdmin(r, k)
	if err != nil {
		return err
	}
	hs, err := store.LegalHoldsOf(r.Context(), k.Workspace)
	if err != nil {
		return err
	}
	out := make([]api.LegalHold, len(hs))
	for i, h := range hs {
		out[i] = toAPIHold(h)
	}
	writeJSON(w, http.StatusOK, api.Data[[]api.LegalHold]{Data: out})
	return nil
}

// findHold returns the hold the path names, ENOTFOUND for an id of no
// hold of the key's workspace (or of no shape an id has).
func (s *Server) findHold(r *http.Request, store vigil.LegalHolds, k vigil.APIKey) (vigil.LegalHold, error) {
	id := r.PathValue("id")
	if !validID(id) {
		return vigil.LegalHold{}, vigil.Errorf(vigil.ENOTFOUND, "legal hold not found")
	}
	return store.LegalHold(r.Context(), k.Workspace, id)
}

func (s *Server) getLegalHold(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.holdAdmin(r, k)
	if err != nil {
		return err
	}
	h, err := s.findHold(r, store, k)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.LegalHold]{Data: toAPIHold(h)})
	return nil
}

// releaseLegalHold answers DELETE /api/v1/legal-holds/{id}: the hold is
// released, not deleted; its record stays, with who released it and why
// (the body's reason, required).
func (s *Server) releaseLegalHold(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.holdAdmin(r, k)
	if err != nil {
		return err
	}
	h, err := s.findHold(r, store, k)
	if err != nil {
		return err
	}
	body, err := readBody(r, vigil.MaxRequestBytes)
	if err != nil {
		return err
	}
	var in api.LegalHoldRelease
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	if h, err = store.ReleaseLegalHold(r.Context(), k.Workspace, h.ID, k.ID, in.Reason, s.cfg.Now()); err != nil {
		return err
	}
	if err := s.recordHold(r, k, ActionLegalHoldReleased, h, map[string]string{"reason": h.ReleaseReason}); err != nil {
		return changedUnrecorded("the legal hold "+h.ID, err)
	}
	writeJSON(w, http.StatusOK, api.Data[api.LegalHold]{Data: toAPIHold(h)})
	return nil
}
