package http

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/fhir"
)

// The simplified AuditEvent of seed 001 at /api/v1/audit-events: the same
// records as the FHIR endpoint, in {data: ...} envelopes, with the REST
// API's errors.

func (s *Server) createAuditEvent(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	e, duplicate, err := s.ingestAuditEvent(r, k, jsonTypes, fhir.ParseSimple, true)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if duplicate {
		status = http.StatusOK // a repeat under the same Idempotency-Key: nothing created
	}
	w.Header().Set("Location", "/api/v1/audit-events/"+e.ID)
	writeJSON(w, status, api.Data[fhir.SimpleAuditEvent]{Data: fhir.ToSimple(fhir.FromEvent(e))})
	return nil
}

func (s *Server) getAuditEvent(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	id := r.PathValue("id")
	if !validID(id) {
		return vigil.Errorf(vigil.ENOTFOUND, "audit event not found")
	}
	if err := onlyParams(r); err != nil {
		return err
	}
	var e vigil.Event
	err := s.audited(r, k, ActionEventsRead, map[string]string{"event_id": id}, func() error {
		var err error
		e, err = s.store.Event(r.Context(), k.Workspace, k.TenantID, id)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[fhir.SimpleAuditEvent]{Data: fhir.ToSimple(fhir.FromEvent(e))})
	return nil
}

// simpleSearchParams are seed 001's search fields, plus paging.
var simpleSearchParams = map[string]bool{"action": true, "outcome": true, "dateFrom": true, "dateTo": true, "limit": true, "cursor": true}

// AuditEventList answers GET /api/v1/audit-events.
type auditEventList struct {
	Data       []fhir.SimpleAuditEvent `json:"data"`
	Pagination api.Pagination          `json:"pagination"`
}

func (s *Server) searchAuditEvents(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	values := r.URL.Query()
	var details []vigil.ErrorDetail
	bad := func(field, msg string) { details = append(details, vigil.ErrorDetail{Field: field, Message: msg}) }
	for name, vs := range values {
		switch {
		case !simpleSearchParams[name]:
			bad(name, "unknown query parameter")
		case len(vs) > 1:
			bad(name, "must be given once")
		}
	}
	if len(details) > 0 {
		return vigil.Invalid(details...)
	}
	// The same search as the FHIR endpoint's: dateFrom and dateTo cover
	// their whole day (or whatever precision they are given in).
	fv := url.Values{}
	set := func(from, to, prefix string) {
		if v := values.Get(from); v != "" {
			fv.Add(to, prefix+v)
		}
	}
	set("action", "action", "")
	set("outcome", "outcome", "")
	set("dateFrom", "date", "ge")
	set("dateTo", "date", "le")
	set("limit", "_count", "")
	set("cursor", "_cursor", "")
	if v := values.Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > vigil.MaxQueryLimit {
			bad("limit", "must be an integer from 1 to "+strconv.Itoa(vigil.MaxQueryLimit))
		}
	}
	for _, name := range []string{"dateFrom", "dateTo"} {
		if v := values.Get(name); v != "" {
			if _, err := vigil.ParseTime(v, vigil.TimeFHIRSearch); err != nil {
				bad(name, err.Error())
			}
		}
	}
	if len(details) > 0 {
		return vigil.Invalid(details...)
	}
	search, err := fhir.ParseSearch(fv, true)
	if err != nil {
		// Name the parameters as the caller sent them.
		names := map[string]string{"_count": "limit", "_cursor": "cursor"}
		for _, d := range vigil.ErrorDetails(err) {
			if n := names[d.Field]; n != "" {
				d.Field = n
			}
			details = append(details, d)
		}
		return vigil.Invalid(details...)
	}
	q := search.Query
	q.Workspace, q.TenantScope = k.Workspace, k.TenantID
	if err := continueAfter(&q, search.Cursor, "cursor"); err != nil {
		return err
	}
	var page vigil.Page
	err = s.audited(r, k, ActionEventsQuery, joinQuery(values), func() error {
		var err error
		page, err = s.store.Events(r.Context(), q)
		return err
	})
	if err != nil {
		return err
	}
	out := auditEventList{Data: []fhir.SimpleAuditEvent{}, Pagination: api.Pagination{HasMore: page.HasMore, Total: page.Total}}
	for _, e := range page.Events {
		out.Data = append(out.Data, fhir.ToSimple(fhir.FromEvent(e)))
	}
	if page.HasMore {
		c := nextSearchCursor(q, page)
		out.Pagination.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
