package http

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

// Actions of the meta-audit for reports and exports: each request, status
// read, listing and download is recorded, since each reveals the trail.
const (
	ActionReportsCreated    = "vigil.reports.created"
	ActionReportsRead       = "vigil.reports.read"
	ActionReportsListed     = "vigil.reports.listed"
	ActionReportsDownloaded = "vigil.reports.downloaded"
	ActionExportsCreated    = "vigil.exports.created"
	ActionExportsRead       = "vigil.exports.read"
	ActionExportsListed     = "vigil.exports.listed"
	ActionExportsDownloaded = "vigil.exports.downloaded"
)

func (s *Server) registerReportRoutes() {
	s.api("POST /api/v1/reports", s.createReport, vigil.RoleAuditor)
	s.api("GET /api/v1/reports", s.listReports, vigil.RoleAuditor)
	s.api("GET /api/v1/reports/{id}", s.getReport, vigil.RoleAuditor)
	s.api("GET /api/v1/reports/{id}/download", s.downloadReport, vigil.RoleAuditor)
	s.api("POST /api/v1/exports", s.createExport, vigil.RoleAuditor)
	s.api("GET /api/v1/exports", s.listExports, vigil.RoleAuditor)
	s.api("GET /api/v1/exports/{id}", s.getExport, vigil.RoleAuditor)
	s.open("GET /api/v1/exports/{id}/download", s.downloadExport)
}

func (s *Server) reports() (vigil.ReportService, error) {
	if s.cfg.Reports == nil {
		return nil, vigil.Errorf(vigil.EUNAVAILABLE, "reports and exports are not configured on this server")
	}
	return s.cfg.Reports, nil
}

// submit validates a request, records it in the audit trail durably, and
// only then queues it: a report is never generated unrecorded, and a
// refused request leaves nothing behind.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, k vigil.APIKey, job vigil.Report, action string) error {
	svc, err := s.reports()
	if err != nil {
		return err
	}
	job.Workspace, job.TenantScope, job.CreatedBy = k.Workspace, k.TenantID, k.ID
	if err := svc.Prepare(r.Context(), &job); err != nil {
		return err
	}
	params := map[string]string{job.Kind + "_id": job.ID, "format": job.Format}
	if job.Kind == vigil.KindReport {
		params["type"], params["params"] = job.Type, string(job.Params)
	} else {
		params["filters"] = string(job.Params)
	}
	if err := s.record(r, k, action, params); err != nil {
		return vigil.Unavailable("recording this request in the audit trail failed", err)
	}
	if err := svc.Queue(r.Context(), job); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, api.Data[api.Accepted]{Data: api.Accepted{ID: job.ID, Status: job.Status}})
	return nil
}

func (s *Server) createReport(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	body, err := readBody(r, vigil.MaxRequestBytes)
	if err != nil {
		return err
	}
	var in api.ReportInput
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	job := vigil.Report{Kind: vigil.KindReport, Type: in.Type, Params: in.Params, Format: in.Format}
	return s.submit(w, r, k, job, ActionReportsCreated)
}

func (s *Server) createExport(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	body, err := readBody(r, vigil.MaxRequestBytes)
	if err != nil {
		return err
	}
	var in api.ExportInput
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	format := in.Format
	in.Format = ""
	filters, _ := json.Marshal(in)
	job := vigil.Report{Kind: vigil.KindExport, Params: filters, Format: format}
	return s.submit(w, r, k, job, ActionExportsCreated)
}

// lookup reads one job through the meta-audit.
func (s *Server) lookup(r *http.Request, k vigil.APIKey, kind, action string) (vigil.Report, error) {
	svc, err := s.reports()
	if err != nil {
		return vigil.Report{}, err
	}
	id := r.PathValue("id")
	if !validID(id) {
		return vigil.Report{}, vigil.Errorf(vigil.ENOTFOUND, "%s not found", kind)
	}
	if err := onlyParams(r); err != nil {
		return vigil.Report{}, err
	}
	var job vigil.Report
	err = s.audited(r, k, action, map[string]string{kind + "_id": id}, func() error {
		var err error
		job, err = svc.Report(r.Context(), k.Workspace, k.TenantID, kind, id)
		return err
	})
	return job, err
}

func (s *Server) list(r *http.Request, k vigil.APIKey, kind, action string) ([]vigil.Report, error) {
	svc, err := s.reports()
	if err != nil {
		return nil, err
	}
	if err := onlyParams(r, "limit"); err != nil {
		return nil, err
	}
	limit := int64(vigil.MaxQueryLimit)
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = parseCount("limit", v, 1); err != nil {
			return nil, err
		}
		limit = min(limit, 1000)
	}
	var jobs []vigil.Report
	err = s.audited(r, k, action, joinQuery(r.URL.Query()), func() error {
		var err error
		jobs, err = svc.Reports(r.Context(), k.Workspace, k.TenantID, kind, int(limit))
		return err
	})
	return jobs, err
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	job, err := s.lookup(r, k, vigil.KindReport, ActionReportsRead)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.Report]{Data: s.toAPIReport(r, job)})
	return nil
}

func (s *Server) listReports(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	jobs, err := s.list(r, k, vigil.KindReport, ActionReportsListed)
	if err != nil {
		return err
	}
	out := api.ReportList[api.Report]{Data: make([]api.Report, len(jobs))}
	for i, j := range jobs {
		out.Data[i] = s.toAPIReport(r, j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) downloadReport(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if _, err := s.reports(); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !validID(id) {
		return vigil.Errorf(vigil.ENOTFOUND, "report not found")
	}
	if err := onlyParams(r); err != nil {
		return err
	}
	return s.serveFile(w, r, k, vigil.KindReport, id, ActionReportsDownloaded, nil)
}

// serveFile sends a job's file once its download is recorded durably.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, k vigil.APIKey, kind, id, action string, extra map[string]string) error {
	params := map[string]string{kind + "_id": id}
	for name, v := range extra {
		params[name] = v
	}
	var job vigil.Report
	var f io.ReadCloser
	err := s.audited(r, k, action, params, func() error {
		var err error
		if job, err = s.cfg.Reports.Report(r.Context(), k.Workspace, k.TenantID, kind, id); err != nil {
			return err
		}
		if job.File == "" {
			// Its file was removed and is regenerated first, which takes
			// as long as generating it did: the answer may start later
			// than the write timeout allows.
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(regenerateTimeout))
		}
		f, err = s.cfg.Reports.Open(r.Context(), job)
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
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vigil-Checkpoint-Size", strconv.FormatInt(job.CheckpointSize, 10))
	h.Set("Vigil-Checkpoint-Root", job.CheckpointRoot.String())
	h.Set("Vigil-Content-SHA256", job.SHA256)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, f); err != nil {
		s.logger.Warn("sending a download failed", "kind", kind, "id", job.ID, "err", err)
	}
	return nil
}

// regenerateTimeout bounds a download that regenerates its file.
const regenerateTimeout = time.Hour

var contentTypes = map[string]string{
	"json": "application/json", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf",
	"ndjson": "application/x-ndjson", "parquet": "application/vnd.apache.parquet",
}

func timeStr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := t.UTC().Format(time.RFC3339Nano)
	return &v
}

func jobCommon(j vigil.Report) (cp *api.ReportCheckpoint, rows, size *int64, sum, msg *string) {
	if j.Status == vigil.JobCompleted {
		cp = &api.ReportCheckpoint{TreeSize: j.CheckpointSize, RootHash: j.CheckpointRoot.String()}
		rows, size, sum = &j.Rows, &j.FileSize, &j.SHA256
	}
	return cp, rows, size, sum, str(j.Error)
}

func (s *Server) toAPIReport(r *http.Request, j vigil.Report) api.Report {
	out := api.Report{ID: j.ID, Type: j.Type, Params: j.Params, Format: j.Format, Status: j.Status, TenantScope: str(j.TenantScope),
		RequestedBy: j.CreatedBy, CreatedAt: j.CreatedAt.UTC().Format(time.RFC3339Nano), GeneratedAt: timeStr(j.GeneratedAt),
		FinishedAt: timeStr(j.FinishedAt), ExpiresAt: timeStr(j.ExpiresAt), RetainUntil: timeStr(j.RetainUntil)}
	out.Checkpoint, out.RowCount, out.FileSize, out.SHA256, out.ErrorMessage = jobCommon(j)
	if j.Downloadable() {
		u := s.absoluteURL(r, "/api/v1/reports/"+j.ID+"/download")
		out.DownloadURL = &u
	}
	return out
}
