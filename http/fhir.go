package http

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/fhir"
)

// The FHIR R4 endpoint: AuditEvent create, read and search over the same
// store, write path, ledger and meta-audit as the REST API. Every answer,
// errors included, is a FHIR resource (application/fhir+json).
const fhirBase = "/fhir/R4"

const fhirContentType = "application/fhir+json; charset=utf-8"

func (s *Server) registerFHIR() {
	s.fhirAPI("POST "+fhirBase+"/AuditEvent", s.fhirCreate, vigil.RoleIngest)
	s.fhirAPI("GET "+fhirBase+"/AuditEvent", s.fhirSearch, vigil.RoleAuditor)
	s.fhirAPI("GET "+fhirBase+"/AuditEvent/{id}", s.fhirRead, vigil.RoleAuditor)
	s.fhirAPI("GET "+fhirBase+"/AuditEvent/{id}/_history/{vid}", s.fhirRead, vigil.RoleAuditor)
	s.openWith("GET "+fhirBase+"/metadata", acceptsJSON(s.fhirMetadata), s.writeOutcome)
	// Everything else under the base, including PUT, PATCH and DELETE of
	// an AuditEvent, answers an OperationOutcome.
	s.mux.HandleFunc(fhirBase+"/", s.fhirNotFound)
}

// fhirAPI registers an authenticated FHIR route whose errors, including
// 401 and 403, are OperationOutcome resources.
func (s *Server) fhirAPI(pattern string, h handlerFunc, roles ...vigil.Role) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, route{method, path, roles})
	s.mux.Handle(pattern, s.instrument(path, acceptsJSON(s.authenticateWith(roles, queryChecked(h), s.writeOutcome).ServeHTTP)))
}

// acceptsJSON answers 406 to a client that accepts no JSON (FHIR's XML or
// RDF formats): the server speaks only application/fhir+json.
func acceptsJSON(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		accept := strings.Join(r.Header.Values("Accept"), ",")
		if accept == "" {
			h(w, r)
			return
		}
		for _, part := range strings.Split(accept, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			switch mt = strings.ToLower(strings.TrimSpace(mt)); {
			case mt == "*/*", mt == "application/*", mt == "application/json", mt == "application/fhir+json", mt == "application/json+fhir":
				h(w, r)
				return
			}
		}
		writeFHIR(w, http.StatusNotAcceptable, fhir.NotSupported("only application/fhir+json is served; Accept was "+strings.Join(r.Header.Values("Accept"), ", ")))
	}
}

// writeOutcome is writeError for FHIR routes: the status comes from the
// same table, the body is an OperationOutcome.
func (s *Server) writeOutcome(w http.ResponseWriter, r *http.Request, err error) {
	code := vigil.ErrorCode(err)
	status, _ := ErrorStatus(code)
	if code == vigil.EINTERNAL || code == vigil.EUNAVAILABLE {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	if (code == vigil.EUNAVAILABLE || code == vigil.ERATELIMITED) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeFHIR(w, status, fhir.Outcome(err))
}

// writeFHIR writes a resource. HTML is not escaped: narratives and URLs
// read as they were sent (the body is never HTML: nosniff, a JSON type).
func writeFHIR(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Error("encoding a response failed", "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		json.NewEncoder(&buf).Encode(fhir.Outcome(vigil.Errorf(vigil.EINTERNAL, "encoding the response failed")))
	}
	w.Header().Set("Content-Type", fhirContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) fhirNotFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, rt := range s.routes {
		if matchPath(rt.path, r.URL.Path) {
			allow = append(allow, rt.method)
		}
	}
	if len(allow) > 0 {
		sort.Strings(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		msg := "method " + r.Method + " is not allowed on " + r.URL.Path
		if strings.HasPrefix(r.URL.Path, fhirBase+"/AuditEvent/") {
			msg += ": audit events are immutable"
		}
		writeFHIR(w, http.StatusMethodNotAllowed, fhir.NotSupported(msg))
		return
	}
	s.writeOutcome(w, r, vigil.Errorf(vigil.ENOTFOUND, "this server serves only AuditEvent and metadata under %s", fhirBase))
}

func (s *Server) fhirMetadata(w http.ResponseWriter, r *http.Request) {
	writeFHIR(w, http.StatusOK, fhir.Capabilities(s.baseURL(r)+fhirBase))
}

// ingestAuditEvent stores an AuditEvent through the one write path and
// returns the stored event (read back, not meta-audited: it is the
// caller's own record echoed, with the ids the store assigned), and
// whether it was stored before under the request's Idempotency-Key. A
// refusal of the event names the elements the client sent, in the shape
// parse reads (simple: seed 001's).
func (s *Server) ingestAuditEvent(r *http.Request, k vigil.APIKey, types []string, parse func([]byte) (fhir.AuditEvent, error), simple bool) (vigil.Event, bool, error) {
	if err := noConditionalCreate(r); err != nil {
		return vigil.Event{}, false, err
	}
	key, err := createKey(r)
	if err != nil {
		return vigil.Event{}, false, err
	}
	body, err := readBodyAs(r, int64(vigil.MaxEventBytes), types)
	if err != nil {
		return vigil.Event{}, false, err
	}
	a, err := parse(body)
	if err != nil {
		return vigil.Event{}, false, err
	}
	e, err := fhir.ToEvent(a)
	if err != nil {
		if simple {
			err = fhir.SimplePaths(err)
		}
		return e, false, err
	}
	e.IdempotencyKey = key
	if err := tenantOf(k, &e); err != nil {
		return e, false, err
	}
	start := time.Now()
	res, err := s.store.Append(r.Context(), k.Workspace, []vigil.Event{e})
	s.metrics.observeIngest(start, 1, err)
	if vigil.ErrorCode(err) == vigil.EINVALID {
		err = fhir.ElementPaths(a, err)
		if simple {
			err = fhir.SimplePaths(err)
		}
	}
	if err != nil {
		return e, false, headerFieldErrors(err)
	}
	e, err = s.store.Event(r.Context(), k.Workspace, k.TenantID, res[0].ID)
	return e, res[0].Duplicate, err
}

func (s *Server) fhirCreate(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := formatParam(r); err != nil {
		return err
	}
	e, duplicate, err := s.ingestAuditEvent(r, k, fhirTypes, fhir.ParseAuditEvent, false)
	if err != nil {
		return err
	}
	// A repeat of an earlier create answers the event it created, 200 as
	// a conditional create does for an existing match.
	status := http.StatusCreated
	if duplicate {
		status = http.StatusOK
	}
	out := fhir.FromEvent(e)
	w.Header().Set("Location", s.baseURL(r)+fhirBase+"/AuditEvent/"+e.ID+"/_history/1")
	w.Header().Set("ETag", `W/"1"`)
	w.Header().Set("Last-Modified", e.CreatedAt.UTC().Format(http.TimeFormat))
	switch preference(r, "return") {
	case "minimal":
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(status)
		return nil
	case "OperationOutcome":
		msg := "AuditEvent " + e.ID + " recorded"
		if duplicate {
			msg = "AuditEvent " + e.ID + " was recorded before under this Idempotency-Key"
		}
		writeFHIR(w, status, fhir.OperationOutcome{ResourceType: "OperationOutcome",
			Issue: []fhir.Issue{{Severity: "information", Code: "informational", Diagnostics: msg}}})
		return nil
	}
	writeFHIR(w, status, out)
	return nil
}

func (s *Server) fhirRead(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	id := r.PathValue("id")
	if !validID(id) {
		return vigil.Errorf(vigil.ENOTFOUND, "AuditEvent not found")
	}
	if vid := r.PathValue("vid"); vid != "" && vid != "1" {
		// vread: an audit event has one version, 1.
		return vigil.Errorf(vigil.ENOTFOUND, "AuditEvent %s has only version 1", id)
	}
	if err := formatParam(r); err != nil {
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
	w.Header().Set("ETag", `W/"1"`)
	w.Header().Set("Last-Modified", e.CreatedAt.UTC().Format(http.TimeFormat))
	writeFHIR(w, http.StatusOK, fhir.FromEvent(e))
	return nil
}

// formatParam checks the query of a read or a create: FHIR's _format,
// when it asks for JSON, is the only parameter they take. Lenient handling
// is for search parameters; here an unknown parameter is refused, as
// anything the server would silently ignore could change what the client
// meant.
func formatParam(r *http.Request) error {
	var details []vigil.ErrorDetail
	for name, vs := range r.URL.Query() {
		switch {
		case name != "_format":
			details = append(details, vigil.ErrorDetail{Field: name, Message: "unknown parameter: only _format is taken here"})
		case len(vs) > 1:
			details = append(details, vigil.ErrorDetail{Field: name, Message: "must be given once"})
		default:
			switch vs[0] {
			case "json", "application/json", "application/fhir+json":
			default:
				details = append(details, vigil.ErrorDetail{Field: name, Message: "only json (application/fhir+json) is served"})
			}
		}
	}
	if len(details) > 0 {
		return vigil.Invalid(details...)
	}
	return nil
}

func (s *Server) fhirSearch(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	values := r.URL.Query()
	search, err := fhir.ParseSearch(values, preference(r, "handling") == "strict")
	if err != nil {
		return err
	}
	q := search.Query
	q.Workspace, q.TenantScope = k.Workspace, k.TenantID
	if err := continueAfter(&q, search.Cursor, "_cursor"); err != nil {
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
	base := s.baseURL(r) + fhirBase + "/AuditEvent"
	self := url.Values{}
	for k, v := range search.Used {
		self[k] = v
	}
	if c := values.Get("_cursor"); c != "" {
		self.Set("_cursor", c)
	}
	b := fhir.Bundle{ResourceType: "Bundle", Type: "searchset",
		Link: []fhir.BundleLink{{Relation: "self", URL: withQuery(base, self)}}}
	if search.Total {
		b.Total = &page.Total
	}
	if search.Count > 0 {
		for _, e := range page.Events {
			res, err := marshalFHIR(fhir.FromEvent(e))
			if err != nil {
				return err
			}
			b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + "/" + e.ID, Resource: res, Search: &fhir.EntrySearch{Mode: "match"}})
		}
		if page.HasMore {
			next := url.Values{}
			for k, v := range search.Used {
				next[k] = v
			}
			next.Set("_cursor", nextSearchCursor(q, page))
			b.Link = append(b.Link, fhir.BundleLink{Relation: "next", URL: withQuery(base, next)})
		}
	}
	if len(search.Ignored) > 0 {
		oo, _ := marshalFHIR(fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: []fhir.Issue{{
			Severity: "warning", Code: "not-supported",
			Diagnostics: "unknown search parameters were ignored: " + strings.Join(search.Ignored, ", ") + " (send Prefer: handling=strict to have them refused)",
			Expression:  search.Ignored,
		}}})
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: oo, Search: &fhir.EntrySearch{Mode: "outcome"}})
	}
	writeFHIR(w, http.StatusOK, b)
	return nil
}

// continueAfter opens a search's cursor against the search (its workspace
// and key scope set) and continues the query after the position it names.
// field is the cursor's parameter as the caller sent it.
func continueAfter(q *vigil.Query, cursor, field string) error {
	if cursor == "" {
		return nil
	}
	pos, err := openCursor(cursorFHIR, cursor, eventsBinding(*q), field)
	if err != nil {
		return err
	}
	p, ok := fhir.ParsePosition(pos)
	if !ok {
		return vigil.Invalid(vigil.ErrorDetail{Field: field, Message: "is not a cursor this server issued"})
	}
	q.After = &p
	return nil
}

// nextSearchCursor is the cursor of the page after page, bound to q.
func nextSearchCursor(q vigil.Query, page vigil.Page) string {
	last := page.Events[len(page.Events)-1]
	return sealCursor(cursorFHIR, eventsBinding(q), fhir.FormatPosition(vigil.Position{Occurred: last.OccurredAt.UnixNano(), Sequence: last.Sequence}))
}

// marshalFHIR encodes a resource for a Bundle entry, without HTML
// escaping, like writeFHIR.
func marshalFHIR(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// preference is the value of one token of the Prefer header
// ("handling=strict", "return=minimal").
func preference(r *http.Request, name string) string {
	for _, h := range r.Header.Values("Prefer") {
		for _, part := range strings.FieldsFunc(h, func(c rune) bool { return c == ',' || c == ';' }) {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.EqualFold(k, name) {
				return strings.Trim(v, `"`)
			}
		}
	}
	return ""
}

// baseURL is the scheme and host the client addressed; behind a trusted
// proxy, X-Forwarded-Proto says whether it was HTTPS.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if a, err := netip.ParseAddr(host); err == nil && s.trusted(a.Unmap()) && r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
	}
	return scheme + "://" + r.Host
}

func withQuery(base string, v url.Values) string {
	if len(v) == 0 {
		return base
	}
	return base + "?" + v.Encode()
}
