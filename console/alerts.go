package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/vigilhq/vigil"
	vhttp "github.com/vigilhq/vigil/http"
)

var alertFilters = []field{
	{Name: "status", Label: "Status", Options: append([]string{""}, vhttp.AlertStatuses()...)},
	{Name: "rule_type", Label: "Rule type", Options: []string{"", vigil.RuleOffHours, vigil.RuleNewCountry, vigil.RuleHighVolume,
		vigil.RuleRepeatedFailure, vigil.RuleWatchlist, vigil.RuleTamper}},
	{Name: "from", Label: "Triggered from", Type: "datetime"},
	{Name: "to", Label: "Triggered before", Type: "datetime"},
	{Name: "limit", Label: "Per page", Type: "number"},
}

type alertsData struct {
	Filters []field
	Alerts  []vigil.Alert
	Total   int64
	Next    string
	Query   url.Values
}

func (c *Console) alertStore() (vigil.AlertStore, error) {
	if c.cfg.Alerts == nil {
		return nil, vigil.Errorf(vigil.EUNAVAILABLE, "alerts are not available on this server")
	}
	return c.cfg.Alerts, nil
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request, p *principal) error {
	store, err := c.alertStore()
	if err != nil {
		return err
	}
	v := filled(r.URL.Query())
	d := alertsData{Filters: withValues(alertFilters, v), Query: v}
	q, cursor, err := vhttp.ParseAlertQuery(v)
	if err == nil {
		q.Workspace = c.cfg.Workspace
		err = vhttp.OpenAlertCursor(&q, cursor)
	}
	if err != nil {
		pd := c.page(p, "Alerts", "alerts", d)
		pd.Error = vigil.ErrorMessage(err)
		c.pages.render(w, http.StatusUnprocessableEntity, "alerts", pd)
		return nil
	}
	var page vigil.AlertPage
	err = c.audited(r, p, actionAlertsQuery, flat(v), func() error {
		var err error
		page, err = store.Alerts(r.Context(), q)
		return err
	})
	if err != nil {
		return err
	}
	d.Alerts, d.Total = page.Alerts, page.Total
	if page.HasMore {
		next := filled(v, "cursor")
		next.Set("cursor", vhttp.AlertCursor(q, page.Next))
		d.Next = "/console/alerts?" + next.Encode()
	}
	c.pages.render(w, http.StatusOK, "alerts", c.page(p, "Alerts", "alerts", d))
	return nil
}

type alertData struct {
	Alert    vigil.Alert
	Statuses []string
	CanWork  bool // the privacy officer's incident workflow
}

func (c *Console) showAlert(w http.ResponseWriter, r *http.Request, p *principal, status int, notice, problem string) error {
	store, err := c.alertStore()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	var a vigil.Alert
	err = c.audited(r, p, actionAlertsRead, map[string]string{"alert_id": id}, func() error {
		var err error
		a, err = store.Alert(r.Context(), c.cfg.Workspace, "", id)
		return err
	})
	if err != nil {
		return err
	}
	pd := c.page(p, "Alert: "+a.RuleName, "alerts", alertData{a, vhttp.AlertStatuses(), p.Role == vigil.RolePrivacyOfficer})
	pd.Notice, pd.Error = notice, problem
	c.pages.render(w, status, "alert", pd)
	return nil
}

func (c *Console) alert(w http.ResponseWriter, r *http.Request, p *principal) error {
	notice := ""
	if r.URL.Query().Get("updated") == "1" {
		notice = "The alert was updated."
	}
	return c.showAlert(w, r, p, http.StatusOK, notice, "")
}

// updateAlert moves an alert through the incident workflow. As in the
// API, the change is recorded first: if it cannot be, nothing changes.
func (c *Console) updateAlert(w http.ResponseWriter, r *http.Request, p *principal) error {
	store, err := c.alertStore()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	status, notes := r.PostForm.Get("status"), r.PostForm.Get("notes")
	switch {
	case !slices.Contains(vhttp.AlertStatuses(), status):
		return c.showAlert(w, r, p, http.StatusUnprocessableEntity, "", "Choose a status.")
	case len(notes) > vhttp.MaxAlertNotesBytes || !vigil.ValidText(notes):
		return c.showAlert(w, r, p, http.StatusUnprocessableEntity, "", "The notes must be valid text of at most "+strconv.Itoa(vhttp.MaxAlertNotesBytes)+" bytes.")
	}
	old, err := store.Alert(r.Context(), c.cfg.Workspace, "", id)
	if err != nil {
		return err
	}
	params := map[string]string{"alert_id": id, "previous_status": old.Status, "status": status,
		"notes_changed": strconv.FormatBool(notes != old.Notes)}
	if err := c.record(r, p, actionAlertsUpdated, params); err != nil {
		return err
	}
	if _, err := store.UpdateAlert(r.Context(), c.cfg.Workspace, "", id, &status, &notes); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/alerts/"+id+"?updated=1", http.StatusSeeOther)
	return nil
}
