package http

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

func (s *Server) getExport(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	job, err := s.lookup(r, k, vigil.KindExport, ActionExportsRead)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.Export]{Data: s.toAPIExport(r, job)})
	return nil
}

func (s *Server) listExports(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	jobs, err := s.list(r, k, vigil.KindExport, ActionExportsListed)
	if err != nil {
		return err
	}
	out := api.ReportList[api.Export]{Data: make([]api.Export, len(jobs))}
	for i, j := range jobs {
		out.Data[i] = s.toAPIExport(r, j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) toAPIExport(r *http.Request, j vigil.Report) api.Export {
	out := api.Export{ID: j.ID, Status: j.Status, Format: j.Format, Filters: j.Params,
		RequestedBy: j.CreatedBy, CreatedAt: j.CreatedAt.UTC().Format(time.RFC3339Nano), GeneratedAt: timeStr(j.GeneratedAt),
		FinishedAt: timeStr(j.FinishedAt), ExpiresAt: timeStr(j.ExpiresAt), RetainUntil: timeStr(j.RetainUntil)}
	out.Checkpoint, out.TotalRows, out.FileSize, out.SHA256, out.ErrorMessage = jobCommon(j)
	if j.Downloadable() {
		u := "/api/v1/exports/" + j.ID + "/download"
		if len(s.cfg.DownloadSecret) > 0 {
			u = s.signedLink(j)
		}
		u = s.absoluteURL(r, u)
		out.DownloadURL = &u
	}
	return out
}

// Signed download links let a browser or a plain HTTP client fetch an
// export without the key: the link names the workspace, the export and an
// expiry, and an HMAC-SHA256 with the server's secret covers all three.
// The download is recorded as the act of the key that requested the
// export.

func (s *Server) linkTTL() time.Duration {
	if s.cfg.DownloadLinkTTL > 0 {
		return s.cfg.DownloadLinkTTL
	}
	return time.Hour
}

func (s *Server) signedLink(j vigil.Report) string {
	// A link outlives the file (a download regenerates it), not the record.
	exp := s.cfg.Now().Add(s.linkTTL())
	if !j.RetainUntil.IsZero() && j.RetainUntil.Before(exp) {
		exp = j.RetainUntil
	}
	e := strconv.FormatInt(exp.Unix(), 10)
	q := url.Values{"workspace": {j.Workspace}, "expires": {e}, "signature": {s.linkSignature(j.Workspace, j.ID, e)}}
	return "/api/v1/exports/" + j.ID + "/download?" + q.Encode()
}

func (s *Server) linkSignature(workspace, id, expires string) string {
	m := hmac.New(sha256.New, s.cfg.DownloadSecret)
	m.Write([]byte("vigil.export.download\n" + workspace + "\n" + id + "\n" + expires))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// downloadExport serves an export to an auditor's key, or to a signed
// link when the request carries no key.
func (s *Server) downloadExport(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" || !r.URL.Query().Has("signature") {
		s.authenticate([]vigil.Role{vigil.RoleAuditor}, func(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
			if _, err := s.reports(); err != nil {
				return err
			}
			id := r.PathValue("id")
			if !validID(id) {
				return vigil.Errorf(vigil.ENOTFOUND, "export not found")
			}
			if err := onlyParams(r); err != nil {
				return err
			}
			return s.serveFile(w, r, k, vigil.KindExport, id, ActionExportsDownloaded, nil)
		}).ServeHTTP(w, r)
		return
	}
	if err := s.signedDownload(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) signedDownload(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.reports()
	if err != nil {
		return err
	}
	if err := onlyParams(r, "workspace", "expires", "signature"); err != nil {
		return err
	}
	q := r.URL.Query()
	id, ws, exp, sig := r.PathValue("id"), q.Get("workspace"), q.Get("expires"), q.Get("signature")
	want := s.linkSignature(ws, id, exp)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return s.authFailed(w, r, vigil.Errorf(vigil.EFORBIDDEN, "the download link is not valid for this export (its signature does not match)"))
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return vigil.Errorf(vigil.EFORBIDDEN, "the download link is not valid for this export")
	}
	if at := time.Unix(n, 0); !s.cfg.Now().Before(at) {
		return vigil.Errorf(vigil.EFORBIDDEN, "the download link expired at %s; read the export's status for a new one", at.UTC().Format(time.RFC3339))
	}
	// The link speaks for the key that requested the export, within that
	// key's tenant.
	job, err := svc.Report(r.Context(), ws, "", vigil.KindExport, id)
	if err != nil {
		return err
	}
	if revoked, err := s.keyRevoked(r, ws, job.CreatedBy); err != nil {
		return err
	} else if revoked {
		return vigil.Errorf(vigil.EFORBIDDEN, "the key that requested this export was revoked; its links no longer work")
	}
	k := vigil.APIKey{ID: job.CreatedBy, Workspace: ws, TenantID: job.TenantScope, Role: vigil.RoleAuditor, Name: "signed download link"}
	s.integrityHeader(w, ws)
	return s.serveFile(w, r, k, vigil.KindExport, id, ActionExportsDownloaded, map[string]string{"via": "signed_link"})
}

// keyRevoked reports whether the workspace's key id was revoked (or no
// longer exists).
func (s *Server) keyRevoked(r *http.Request, ws, id string) (bool, error) {
	keys, err := s.store.Keys(r.Context(), ws)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.ID == id {
			return k.Revoked(), nil
		}
	}
	return true, nil
}
