package http

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

// MaxAlertNotes bounds an alert's investigation notes.
const MaxAlertNotes = 16 << 10

func toAPIAlert(a vigil.Alert) api.Alert {
	out := api.Alert{ID: a.ID, RuleID: str(a.RuleID), RuleVersion: a.RuleVersion, RuleName: a.RuleName, RuleType: a.RuleType,
		Reason: a.Reason, Subject: str(a.Subject), TenantID: str(a.TenantID), Status: a.Status, Notes: str(a.Notes),
		Suppressed: a.Suppressed, TriggeredAt: a.TriggeredAt.UTC().Format(time.RFC3339Nano)}
	if a.EventID != "" || a.Sequence >= 0 {
		out.Event = &api.AlertEvent{ID: str(a.EventID), Action: str(a.EventAction), ActorID: str(a.ActorID), Sequence: a.Sequence}
	}
	if !a.NotifiedAt.IsZero() {
		t := a.NotifiedAt.UTC().Format(time.RFC3339Nano)
		out.NotifiedAt = &t
	}
	if !a.UpdatedAt.IsZero() {
		t := a.UpdatedAt.UTC().Format(time.RFC3339Nano)
		out.UpdatedAt = &t
	}
	return out
}

var alertStatuses = []string{vigil.AlertOpen, vigil.AlertInvestigating, vigil.AlertResolved, vigil.AlertFalsePositive}

func validStatus(s string) bool { return slices.Contains(alertStatuses, s) }

var ruleTypes = []string{vigil.RuleOffHours, vigil.RuleNewCountry, vigil.RuleHighVolume, vigil.RuleRepeatedFailure,
	vigil.RuleWatchlist, vigil.RuleTamper}

// parseAlertQuery reads GET /alerts filters and returns the cursor for
// the caller to open; like the event query it refuses unknown and
// repeated parameters.
func parseAlertQuery(r *http.Request) (vigil.AlertQuery, string, error) {
	q := vigil.AlertQuery{Limit: vigil.DefaultQueryLimit}
	if err := onlyParams(r, "rule_type", "status", "from", "to", "cursor", "limit"); err != nil {
		return q, "", err
	}
	var details []vigil.ErrorDetail
	bad := func(field, msg string) { details = append(details, vigil.ErrorDetail{Field: field, Message: msg}) }
	get := r.URL.Query().Get
	if q.RuleType = get("rule_type"); q.RuleType != "" && !slices.Contains(ruleTypes, q.RuleType) {
		bad("rule_type", "must be one of "+strings.Join(ruleTypes, ", "))
	}
	if q.Status = get("status"); q.Status != "" && !validStatus(q.Status) {
		bad("status", "must be one of "+strings.Join(alertStatuses, ", "))
	}
	q.From, q.To = parseRange(get, bad)
	q.Limit = parseLimit(get, bad, q.Limit)
	if len(details) > 0 {
		return q, "", vigil.Invalid(details...)
	}
	return q, get("cursor"), nil
}

// continueAlerts continues q, whose workspace and scope are set, after a
// cursor: alert cursors name the alert id below which the next page starts.
func continueAlerts(q *vigil.AlertQuery, cursor string) error {
	if cursor == "" {
		return nil
	}
	id, err := openCursor(cursorAlerts, cursor, alertsBinding(*q), "cursor")
	if err != nil {
		return err
	}
	if !validID(id) {
		return vigil.Invalid(vigil.ErrorDetail{Field: "cursor", Message: "is not a cursor this server issued"})
	}
	q.Before = id
	return nil
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.alerts()
	if err != nil {
		return err
	}
	q, cursor, err := parseAlertQuery(r)
	if err != nil {
		return err
	}
	q.Workspace, q.TenantScope = k.Workspace, k.TenantID
	if err := continueAlerts(&q, cursor); err != nil {
		return err
	}
	var page vigil.AlertPage
	err = s.audited(r, k, ActionAlertsQuery, joinQuery(r.URL.Query()), func() error {
		var err error
		page, err = store.Alerts(r.Context(), q)
		return err
	})
	if err != nil {
		return err
	}
	out := api.AlertList{Data: make([]api.Alert, len(page.Alerts)), Pagination: api.Pagination{HasMore: page.HasMore, Total: page.Total}}
	for i, a := range page.Alerts {
		out.Data[i] = toAPIAlert(a)
	}
	if page.HasMore {
		c := sealCursor(cursorAlerts, alertsBinding(q), page.Next)
		out.Pagination.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.alerts()
	if err != nil {
		return err
	}
	if err := onlyParams(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !validID(id) {
		return vigil.Errorf(vigil.ENOTFOUND, "alert not found")
	}
	var a vigil.Alert
	err = s.audited(r, k, ActionAlertsRead, map[string]string{"alert_id": id}, func() error {
		var err error
		a, err = store.Alert(r.Context(), k.Workspace, k.TenantID, id)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.Alert]{Data: toAPIAlert(a)})
	return nil
}

// patchAlert sets an alert's status and notes. The change is recorded in
// the audit trail first (write-ahead): if it cannot be recorded, nothing
// changes.
func (s *Server) patchAlert(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.alerts()
	if err != nil {
		return err
	}
	if err := onlyParams(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !validID(id) {
		return vigil.Errorf(vigil.ENOTFOUND, "alert not found")
	}
	body, err := readBody(r, MaxAlertNotes+4<<10)
	if err != nil {
		return err
	}
	var in api.AlertPatch
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	var details []vigil.ErrorDetail
	switch {
	case in.Status == nil && in.Notes == nil:
		details = append(details, vigil.ErrorDetail{Field: "status", Message: "status or notes is required"})
	case in.Status != nil && !validStatus(*in.Status):
		details = append(details, vigil.ErrorDetail{Field: "status", Message: "must be one of " + strings.Join(alertStatuses, ", ")})
	}
	if in.Notes != nil {
		if msg := vigil.CheckString(*in.Notes, vigil.Text, MaxAlertNotes); msg != "" {
			details = append(details, vigil.ErrorDetail{Field: "notes", Message: msg})
		}
	}
	if len(details) > 0 {
		return vigil.Invalid(details...)
	}
	old, err := store.Alert(r.Context(), k.Workspace, k.TenantID, id)
	if err != nil {
		return err
	}
	params := map[string]string{"alert_id": id, "previous_status": old.Status}
	if in.Status != nil {
		params["status"] = *in.Status
	}
	if in.Notes != nil {
		// The notes stay with the alert; the record says they changed.
		params["notes_changed"] = strconv.FormatBool(*in.Notes != old.Notes)
	}
	if err := s.record(r, k, ActionAlertsUpdated, params); err != nil {
		return vigil.Unavailable("recording this change in the audit trail failed", err)
	}
	a, err := store.UpdateAlert(r.Context(), k.Workspace, k.TenantID, id, in.Status, in.Notes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.Alert]{Data: toAPIAlert(a)})
	return nil
}
