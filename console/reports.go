package console

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/report"
)

type reportsData struct {
	Reports     []vigil.Report
	Exports     []vigil.Report
	Types       []string
	ParamFields []field
	ExportForm  []field
	Created     string // the id just requested, whose progress the page follows
}

// reportParamFields are every report type's parameters; each type takes
// some of them (docs/reports.md), and the server names any that do not
// belong.
var reportParamFields = []field{
	{Name: "from", Label: "From", Type: "datetime"}, {Name: "to", Label: "To (exclusive)", Type: "datetime"},
	{Name: "patient_id", Label: "Patient ID"}, {Name: "resource", Label: "Resource type"}, {Name: "resource_id", Label: "Resource ID"},
	{Name: "session_id", Label: "Session ID"}, {Name: "actor_id", Label: "Actor ID"},
	{Name: "timezone", Label: "Time zone (off-hours)"}, {Name: "start_hour", Label: "Working day starts (hour)", Type: "number"},
	{Name: "end_hour", Label: "Working day ends (hour)", Type: "number"},
}

var exportFields = []field{
	{Name: "from", Label: "From", Type: "datetime"}, {Name: "to", Label: "To (exclusive)", Type: "datetime"},
	{Name: "actor_id", Label: "Actor ID"}, {Name: "action", Label: "Action"}, {Name: "resource", Label: "Resource type"},
	{Name: "tenant_id", Label: "Tenant ID"}, {Name: "session_id", Label: "Session ID"}, {Name: "search", Label: "Search"},
}

func (c *Console) reportService() (vigil.ReportService, error) {
	if c.cfg.Reports == nil {
		return nil, vigil.Errorf(vigil.EUNAVAILABLE, "reports and exports are not configured on this server")
	}
	return c.cfg.Reports, nil
}

func (c *Console) reports(w http.ResponseWriter, r *http.Request, p *principal) error {
	return c.showReports(w, r, p, http.StatusOK, "", "")
}

func (c *Console) showReports(w http.ResponseWriter, r *http.Request, p *principal, status int, problem, created string) error {
	svc, err := c.reportService()
	if err != nil {
		return err
	}
	d := reportsData{Types: vigil.ReportTypes, ParamFields: reportParamFields, ExportForm: exportFields, Created: created}
	if created == "" {
		d.Created = r.URL.Query().Get("created")
	}
	for _, kind := range []struct {
		kind, action string
		dst          *[]vigil.Report
	}{{vigil.KindReport, actionReportsListed, &d.Reports}, {vigil.KindExport, actionExportsListed, &d.Exports}} {
		err := c.audited(r, p, kind.action, map[string]string{"limit": "50"}, func() error {
			var err error
			*kind.dst, err = svc.Reports(r.Context(), c.cfg.Workspace, "", kind.kind, 50)
			return err
		})
		if err != nil {
			return err
		}
	}
	pd := c.page(p, "Reports and exports", "reports", d)
	pd.Error = problem
	if d.Created != "" && problem == "" {
		pd.Notice = "Requested; its progress shows below."
	}
	c.pages.render(w, status, "reports", pd)
	return nil
}

// submit validates, records and queues a job, as the API does.
func (c *Console) submit(w http.ResponseWriter, r *http.Request, p *principal, job vigil.Report, action string) error {
	svc, err := c.reportService()
	if err != nil {
		return err
	}
	job.Workspace, job.CreatedBy = c.cfg.Workspace, p.ID
	if err := svc.Prepare(r.Context(), &job); err != nil {
		msg := vigil.ErrorMessage(err)
		for _, d := range vigil.ErrorDetails(err) {
			msg += " " + d.Field + ": " + d.Message + "."
		}
		return c.showReports(w, r, p, http.StatusUnprocessableEntity, msg, "")
	}
	params := map[string]string{job.Kind + "_id": job.ID, "format": job.Format}
	if job.Kind == vigil.KindReport {
		params["type"], params["params"] = job.Type, string(job.Params)
	} else {
		params["filters"] = string(job.Params)
	}
	if err := c.record(r, p, action, params); err != nil {
		return err
	}
	if err := svc.Queue(r.Context(), job); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/reports?created="+job.ID, http.StatusSeeOther)
	return nil
}

func (c *Console) requestReport(w http.ResponseWriter, r *http.Request, p *principal) error {
	params := map[string]any{}
	for _, f := range reportParamFields {
		v := r.PostForm.Get(f.Name)
		if v == "" {
			continue
		}
		if f.Type == "number" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return c.showReports(w, r, p, http.StatusUnprocessableEntity, f.Label+" must be a whole number.", "")
			}
			params[f.Name] = n
			continue
		}
		params[f.Name] = v
	}
	raw, _ := json.Marshal(params)
	if len(params) == 0 {
		raw = nil
	}
	job := vigil.Report{Kind: vigil.KindReport, Type: r.PostForm.Get("type"), Params: raw, Format: r.PostForm.Get("format")}
	return c.submit(w, r, p, job, actionReportsCreated)
}

func (c *Console) requestExport(w http.ResponseWriter, r *http.Request, p *principal) error {
	f := r.PostForm
	in := api.ExportInput{From: f.Get("from"), To: f.Get("to"), ActorID: f.Get("actor_id"), Action: f.Get("action"),
		Resource: f.Get("resource"), TenantID: f.Get("tenant_id"), SessionID: f.Get("session_id"), Search: f.Get("search")}
	filters, _ := json.Marshal(in)
	job := vigil.Report{Kind: vigil.KindExport, Params: filters, Format: f.Get("format")}
	return c.submit(w, r, p, job, actionExportsCreated)
}

// kindOf maps the path's plural to a job kind and its read actions.
func kindOf(plural string) (kind, read, download string, ok bool) {
	switch plural {
	case "reports":
		return vigil.KindReport, actionReportsRead, actionReportsDownloaded, true
	case "exports":
		return vigil.KindExport, actionExportsRead, actionExportsDownloaded, true
	}
	return "", "", "", false
}

type jobStatus struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Rows     int64  `json:"rows"`
	Error    string `json:"error,omitempty"`
	Download string `json:"download,omitempty"`
}

// jobStatus answers the page's progress polling; polling is a read of the
// trail's derived data and is recorded, but it does not extend a session.
func (c *Console) jobStatus(w http.ResponseWriter, r *http.Request, p *principal) error {
	svc, err := c.reportService()
	if err != nil {
		return err
	}
	kind, action, _, ok := kindOf(pathKind(r))
	if !ok {
		return vigil.Errorf(vigil.ENOTFOUND, "no such page")
	}
	id := r.PathValue("id")
	var job vigil.Report
	err = c.audited(r, p, action, map[string]string{kind + "_id": id}, func() error {
		var err error
		job, err = svc.Report(r.Context(), c.cfg.Workspace, "", kind, id)
		return err
	})
	if err != nil {
		return err
	}
	out := jobStatus{ID: job.ID, Status: job.Status, Rows: job.Rows, Error: job.Error}
	if job.Downloadable() {
		out.Download = "/console/" + pathKind(r) + "/" + job.ID + "/download"
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

var contentTypes = map[string]string{
	"json": "application/json", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf",
	"ndjson": "application/x-ndjson", "parquet": "application/vnd.apache.parquet",
}

// download sends a job's file once the download is recorded.
func (c *Console) download(w http.ResponseWriter, r *http.Request, p *principal) error {
	svc, err := c.reportService()
	if err != nil {
		return err
	}
	kind, _, action, ok := kindOf(pathKind(r))
	if !ok {
		return vigil.Errorf(vigil.ENOTFOUND, "no such page")
	}
	id := r.PathValue("id")
	var job vigil.Report
	var f io.ReadCloser
	err = c.audited(r, p, action, map[string]string{kind + "_id": id}, func() error {
		var err error
		if job, err = svc.Report(r.Context(), c.cfg.Workspace, "", kind, id); err != nil {
			return err
		}
		if job.File == "" {
			// Its file was removed and is regenerated first (as the API's
			// downloads are), which may outlast the write timeout.
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
		}
		f, err = svc.Open(r.Context(), job)
		return err
	})
	if err != nil {
		if f != nil {
			f.Close()
		}
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", contentTypes[job.Format])
	h.Set("Content-Length", strconv.FormatInt(job.FileSize, 10))
	h.Set("Content-Disposition", `attachment; filename="`+kind+"-"+job.ID+"."+job.Format+`"`)
	h.Set("Vigil-Content-SHA256", job.SHA256)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, f); err != nil {
		c.log.Warn("sending a download failed", "id", job.ID, "err", err)
	}
	return nil
}

// reportTitle is a report type's title, for the form.
func reportTitle(typ string) string { return report.Title(typ) }

// pathKind is the plural a job path starts with (/console/reports/...).
func pathKind(r *http.Request) string {
	rest := strings.TrimPrefix(r.URL.Path, "/console/")
	kind, _, _ := strings.Cut(rest, "/")
	return kind
}
