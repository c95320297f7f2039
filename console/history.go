package console

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/report"
)

// maxRows bounds the rows a history page shows; past it the page says so
// and points to the report, which has no limit.
const maxRows = 2000

var errEnough = errors.New("enough rows")

type historyData struct {
	Filters   []field
	Asked     bool
	Type      string
	Title     string
	Columns   []report.Column
	Rows      [][]any
	Truncated bool
	TreeSize  int64
	Query     url.Values
}

var historyFilters = map[string][]field{
	vigil.ReportPatientAccess: {{Name: "patient_id", Label: "Patient ID"}, {Name: "resource", Label: "Resource type"},
		{Name: "resource_id", Label: "Record (resource ID)"}},
	vigil.ReportSession: {{Name: "session_id", Label: "Session ID"}},
	vigil.ReportDisclosures: {{Name: "patient_id", Label: "Patient ID"}, {Name: "from", Label: "From", Type: "datetime"},
		{Name: "to", Label: "To (exclusive)", Type: "datetime"}},
}

// history renders one of the reports a person reads on screen: the
// rows of report type typ, at the latest signed checkpoint (as the
// generated report would be), through the report package's own
// definitions.
func (c *Console) history(w http.ResponseWriter, r *http.Request, p *principal, typ, page, nav string) (historyData, bool, error) {
	v := filled(r.URL.Query())
	d := historyData{Filters: withValues(historyFilters[typ], v), Type: typ, Title: report.Title(typ), Columns: report.Columns(typ), Query: v}
	if len(v) == 0 {
		c.pages.render(w, http.StatusOK, page, c.page(p, d.Title, nav, d))
		return d, false, nil
	}
	d.Asked = true
	raw := map[string]string{}
	for k := range v {
		raw[k] = v.Get(k)
	}
	body, _ := json.Marshal(raw)
	params, err := report.ParseParams(r.Context(), typ, body, c.cfg.Workspace, c.cfg.Now(), nil)
	if err != nil {
		pd := c.page(p, d.Title, nav, d)
		pd.Error = vigil.ErrorMessage(err)
		for _, dt := range vigil.ErrorDetails(err) {
			pd.Error += " " + dt.Field + ": " + dt.Message + "."
		}
		c.pages.render(w, http.StatusUnprocessableEntity, page, pd)
		return d, false, nil
	}
	err = c.audited(r, p, actionEventsQuery, mergeParams(flat(v), "view", typ), func() error {
		through := int64(math.MaxInt64)
		if cp, err := c.cfg.Ledger.Checkpoint(r.Context(), c.cfg.Workspace, -1); err == nil {
			through = cp.Size
		} else if vigil.ErrorCode(err) != vigil.ENOTFOUND {
			return err
		}
		d.TreeSize = through
		err := report.Rows(r.Context(), c.cfg.Scanner, typ, params, c.cfg.Workspace, "", through, func(cells []any) error {
			if len(d.Rows) == maxRows {
				d.Truncated = true
				return errEnough
			}
			d.Rows = append(d.Rows, cells)
			return nil
		})
		if errors.Is(err, errEnough) {
			return nil
		}
		return err
	})
	return d, true, err
}

func mergeParams(m map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// patient: report 2, everyone who accessed a patient or record, and the
// patient's events themselves.
func (c *Console) patient(w http.ResponseWriter, r *http.Request, p *principal) error {
	d, ok, err := c.history(w, r, p, vigil.ReportPatientAccess, "patient", "patients")
	if err != nil || !ok {
		return err
	}
	c.pages.render(w, http.StatusOK, "patient", c.page(p, d.Title, "patients", d))
	return nil
}

// session: report 3, the session's timeline.
func (c *Console) session(w http.ResponseWriter, r *http.Request, p *principal) error {
	d, ok, err := c.history(w, r, p, vigil.ReportSession, "session", "sessions")
	if err != nil || !ok {
		return err
	}
	c.pages.render(w, http.StatusOK, "session", c.page(p, d.Title, "sessions", d))
	return nil
}

// disclosures: report 5, the accounting of disclosures.
func (c *Console) disclosures(w http.ResponseWriter, r *http.Request, p *principal) error {
	d, ok, err := c.history(w, r, p, vigil.ReportDisclosures, "disclosures", "disclosures")
	if err != nil || !ok {
		return err
	}
	c.pages.render(w, http.StatusOK, "disclosures", c.page(p, d.Title, "disclosures", d))
	return nil
}
