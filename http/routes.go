package http

import (
	"net/http"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vigilhq/vigil"
)

type route struct {
	method, path string
	roles        []vigil.Role // nil: open to everyone
}

// handlerFunc is a route's handler: it returns an error instead of
// writing one, so every error goes through writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error

func (s *Server) registerRoutes() {
	// Authenticated API routes, each with the roles allowed.
	s.api("POST /api/v1/events", s.createEvent, vigil.RoleIngest)
	s.api("POST /api/v1/events/batch", s.createBatch, vigil.RoleIngest)
	s.api("GET /api/v1/events", s.listEvents, vigil.RoleAuditor)
	s.api("GET /api/v1/events/{id}", s.getEvent, vigil.RoleAuditor)
	s.api("GET /api/v1/events/{id}/proof", s.eventProof, vigil.RoleAuditor)
	s.api("GET /api/v1/ledger/checkpoint", s.checkpoint, vigil.RoleAuditor)
	s.api("GET /api/v1/ledger/consistency", s.consistency, vigil.RoleAuditor)
	s.api("GET /api/v1/ledger/leaves", s.leaves, vigil.RoleAuditor)
	s.api("GET /api/v1/ledger/key", s.ledgerKey, vigil.RoleAuditor, vigil.RoleIngest, vigil.RoleAdmin)
	s.api("GET /api/v1/verify", s.verify, vigil.RoleAuditor)
	s.api("GET /api/v1/anchors", s.listAnchors, vigil.RoleAuditor)
	s.api("POST /api/v1/anchors", s.anchorNow, vigil.RoleAuditor, vigil.RoleAdmin)
	s.api("GET /api/v1/anchors/{id}", s.getAnchor, vigil.RoleAuditor)
	s.api("GET /api/v1/anchors/{id}/verify", s.verifyAnchor, vigil.RoleAuditor)
	s.api("GET /api/v1/keys", s.listKeys, vigil.RoleAdmin)
	s.api("POST /api/v1/keys", s.createKey, vigil.RoleAdmin)
	s.api("GET /api/v1/keys/{id}", s.getKey, vigil.RoleAdmin)
	s.api("DELETE /api/v1/keys/{id}", s.revokeKey, vigil.RoleAdmin)
	s.api("POST /api/v1/audit-events", s.createAuditEvent, vigil.RoleIngest)
	s.api("GET /api/v1/audit-events", s.searchAuditEvents, vigil.RoleAuditor)
	s.api("GET /api/v1/audit-events/{id}", s.getAuditEvent, vigil.RoleAuditor)
	s.registerFHIR()
	s.api("POST /api/v1/alert-rules", s.createAlertRule, vigil.RoleAdmin)
	s.api("GET /api/v1/alert-rules", s.listAlertRules, vigil.RoleAdmin)
	s.api("GET /api/v1/alert-rules/{id}", s.getAlertRule, vigil.RoleAdmin)
	s.api("PUT /api/v1/alert-rules/{id}", s.updateAlertRule, vigil.RoleAdmin)
	s.api("POST /api/v1/alert-rules/{id}/disable", s.disableAlertRule, vigil.RoleAdmin)
	s.api("POST /api/v1/alert-rules/{id}/enable", s.enableAlertRule, vigil.RoleAdmin)
	s.api("GET /api/v1/alert-rules/{id}/versions", s.alertRuleVersions, vigil.RoleAdmin)
	s.api("GET /api/v1/alerts", s.listAlerts, vigil.RoleAuditor)
	s.api("GET /api/v1/alerts/{id}", s.getAlert, vigil.RoleAuditor)
	s.api("PATCH /api/v1/alerts/{id}", s.patchAlert, vigil.RoleAuditor)
	s.registerReportRoutes()
	s.api("GET /api/v1/retention", s.getRetention, vigil.RoleAdmin)
	s.api("PUT /api/v1/retention", s.putRetention, vigil.RoleAdmin)
	s.api("POST /api/v1/legal-holds", s.createLegalHold, vigil.RoleAdmin)
	s.api("GET /api/v1/legal-holds", s.listLegalHolds, vigil.RoleAdmin)
	s.api("GET /api/v1/legal-holds/{id}", s.getLegalHold, vigil.RoleAdmin)
	s.api("DELETE /api/v1/legal-holds/{id}", s.releaseLegalHold, vigil.RoleAdmin)
	s.api("POST /api/v1/viewer-token", s.createViewerToken, vigil.RoleAdmin, vigil.RoleIssuer)

	// Unauthenticated operational routes. They take no parameters and,
	// like every route, refuse what they do not take.
	s.open("GET /healthz", s.noParams(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	s.open("GET /readyz", s.noParams(s.readyz))
	s.open("GET /metrics", s.noParams(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}).ServeHTTP))
	s.open("GET /api/v1/openapi.json", s.noParams(serveOpenAPI))

	// Everything else under the API answers JSON, never the mux's text.
	s.mux.HandleFunc("/", s.notFound)
}

// api registers an authenticated route. A path registered for one method
// answers 405 for the others through notFound's method check.
func (s *Server) api(pattern string, h handlerFunc, roles ...vigil.Role) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, route{method, path, roles})
	s.mux.Handle(pattern, s.instrument(path, s.authenticate(roles, queryChecked(h))))
}

// open registers a route that takes no key; its errors are the API's.
func (s *Server) open(pattern string, h http.HandlerFunc) {
	s.openWith(pattern, h, s.writeError)
}

func (s *Server) openWith(pattern string, h http.HandlerFunc, writeError func(http.ResponseWriter, *http.Request, error)) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, route{method, path, nil})
	s.mux.Handle(pattern, s.instrument(path, openQueryChecked(h, writeError)))
}

// noParams refuses any query parameter (422) before h runs.
func (s *Server) noParams(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := onlyParams(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r)
	}
}

// notFound answers paths no route serves, and methods a path does not
// take (405 with Allow), always as JSON.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, rt := range s.routes {
		if matchPath(rt.path, r.URL.Path) {
			allow = append(allow, rt.method)
		}
	}
	if len(allow) > 0 {
		sort.Strings(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeWire(w, http.StatusMethodNotAllowed, wireMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	s.writeError(w, r, vigil.Errorf(vigil.ENOTFOUND, "no such route"))
}

// matchPath reports whether a request path fits a pattern path with
// {name} wildcards.
func matchPath(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ps[i], "{") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if ps[i] != xs[i] {
			return false
		}
	}
	return true
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ready(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Evidence of tampering does not take the server out of rotation:
	// ingest must go on so that what happens next is recorded too. It
	// answers 200, degraded, with the breaks counted (not named: this
	// route is open to anyone who reaches it).
	total, types, workspaces := int64(0), map[string]int64{}, 0
	for _, b := range s.store.FoundBreaks() {
		total += b.Breaks
		workspaces++
		for t, n := range b.Types {
			types[t] += n
		}
	}
	if total == 0 {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "degraded",
		"ledger": map[string]any{"integrity": "broken", "breaks": total, "workspaces": workspaces, "types": types}})
}
