package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/ledger"
)

func (s *Server) createEvent(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	body, err := readBody(r, int64(vigil.MaxEventBytes))
	if err != nil {
		return err
	}
	var in api.EventInput
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	e, details := toEvent(in)
	if len(details) > 0 {
		return vigil.Invalid(withFieldErrors(e, details)...)
	}
	keyInHeader, err := eventKey(r, &e)
	if err != nil {
		return err
	}
	if err := s.scope(r, k, &e); err != nil {
		return err
	}
	start := time.Now()
	res, err := s.store.Append(r.Context(), k.Workspace, []vigil.Event{e})
	s.metrics.observeIngest(start, 1, err)
	if err != nil {
		if keyInHeader {
			return headerFieldErrors(err)
		}
		return err
	}
	writeJSON(w, createdStatus(res), stored(res[0]))
	return nil
}

func (s *Server) createBatch(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	if err := noBatchKey(r); err != nil {
		return err
	}
	body, err := readBody(r, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	var in api.BatchInput
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	switch {
	case in.Events == nil:
		return vigil.Invalid(vigil.ErrorDetail{Field: "events", Message: "is required"})
	case len(in.Events) == 0:
		return vigil.Invalid(vigil.ErrorDetail{Field: "events", Message: "must hold at least one event"})
	case len(in.Events) > s.cfg.BatchLimit:
		return vigil.Invalid(vigil.ErrorDetail{Field: "events", Message: "must hold at most " + strconv.Itoa(s.cfg.BatchLimit) + " events"})
	}
	events := make([]vigil.Event, len(in.Events))
	wire := make([][]vigil.ErrorDetail, len(in.Events))
	refused := false
	for i, ein := range in.Events {
		e, ds := toEvent(ein)
		if err := s.scope(r, k, &e); err != nil {
			ds = append(ds, vigil.ErrorDetail{Field: "tenant_id", Message: vigil.ErrorMessage(err)})
		}
		events[i], wire[i] = e, ds
		refused = refused || len(ds) > 0
	}
	if refused {
		// The batch is refused already: name every bad field of every event.
		var details []vigil.ErrorDetail
		for i := range events {
			details = append(details, indexDetails(i, withFieldErrors(events[i], wire[i]))...)
		}
		return vigil.Invalid(details...)
	}
	start := time.Now()
	res, err := s.store.Append(r.Context(), k.Workspace, events)
	s.metrics.observeIngest(start, len(events), err)
	if err != nil {
		return err
	}
	out := api.BatchStored{Events: make([]api.Stored, len(res))}
	for i, x := range res {
		out.Events[i] = stored(x)
	}
	writeJSON(w, createdStatus(res), out)
	return nil
}

// createdStatus is 201 when an event was stored, and 200 when every event
// was a duplicate of one stored before: nothing was created.
func createdStatus(res []vigil.AppendResult) int {
	for _, r := range res {
		if !r.Duplicate {
			return http.StatusCreated
		}
	}
	return http.StatusOK
}

func stored(r vigil.AppendResult) api.Stored {
	if r.Duplicate {
		return api.Stored{ID: r.ID, Status: "duplicate"}
	}
	return api.Stored{ID: r.ID, Status: "stored"}
}

// scope applies the key's tenant restriction and the client address to an
// event about to be written.
func (s *Server) scope(r *http.Request, k vigil.APIKey, e *vigil.Event) error {
	if err := tenantOf(k, e); err != nil {
		return err
	}
	if e.IPAddress == "" {
		if a := s.remoteAddr(r); a.IsValid() {
			// The server's default, not the client's content: a retry
			// from another address is the same event.
			e.IPAddress, e.IPFromConnection = a.String(), true
		}
	}
	return nil
}

// tenantOf gives an event of a tenant-restricted key that key's tenant,
// and refuses another.
func tenantOf(k vigil.APIKey, e *vigil.Event) error {
	if k.TenantID == "" {
		return nil
	}
	switch e.TenantID {
	case "":
		e.TenantID = k.TenantID
	case k.TenantID:
	default:
		return vigil.Errorf(vigil.EFORBIDDEN, "this key may write only tenant %q", k.TenantID)
	}
	return nil
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	id := r.PathValue("id")
	if !validID(id) {
		return vigil.Errorf(vigil.ENOTFOUND, "event not found")
	}
	format, err := eventFormat(r)
	if err != nil {
		return err
	}
	params := map[string]string{"event_id": id}
	if format != "" {
		params["format"] = format
	}
	var e vigil.Event
	err = s.audited(r, k, "vigil.events.read", params, func() error {
		var err error
		e, err = s.store.Event(r.Context(), k.Workspace, k.TenantID, id)
		return err
	})
	if err != nil {
		return err
	}
	if format != "" {
		writeJSON(w, http.StatusOK, api.Data[any]{Data: eventView(e, format)})
		return nil
	}
	in, err := s.store.Integrity(r.Context(), k.Workspace, e.Sequence)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.Event]{Data: toAPIEvent(e, &in[0])})
	return nil
}

// continueEvents continues q, whose workspace and scope are set, after a
// cursor (field names it in errors); an empty cursor starts at the newest.
func continueEvents(q *vigil.Query, cursor, field string) error {
	if cursor == "" {
		return nil
	}
	pos, err := openCursor(cursorEvents, cursor, eventsBinding(*q), field)
	if err != nil {
		return err
	}
	seq, err := strconv.ParseInt(pos, 10, 64)
	if err != nil || seq < 0 {
		return vigil.Invalid(vigil.ErrorDetail{Field: field, Message: "is not a cursor this server issued"})
	}
	q.Before = seq
	return nil
}

// eventsCursor is the cursor of q's next page, below sequence before.
func eventsCursor(q vigil.Query, before int64) string {
	return sealCursor(cursorEvents, eventsBinding(q), strconv.FormatInt(before, 10))
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	q, cursor, err := parseQuery(r)
	if err != nil {
		return err
	}
	q.Workspace, q.TenantScope = k.Workspace, k.TenantID
	if err := continueEvents(&q, cursor, "cursor"); err != nil {
		return err
	}
	var page vigil.Page
	err = s.audited(r, k, "vigil.events.query", joinQuery(r.URL.Query()), func() error {
		var err error
		page, err = s.store.Events(r.Context(), q)
		return err
	})
	if err != nil {
		return err
	}
	out := api.EventList{Data: make([]api.Event, len(page.Events)), Pagination: api.Pagination{HasMore: page.HasMore, Total: page.Total}}
	seqs := make([]int64, len(page.Events))
	for i, e := range page.Events {
		seqs[i] = e.Sequence
	}
	ins, err := s.store.Integrity(r.Context(), k.Workspace, seqs...)
	if err != nil {
		return err
	}
	for i, e := range page.Events {
		out.Data[i] = toAPIEvent(e, &ins[i])
	}
	if page.HasMore {
		c := eventsCursor(q, page.Next)
		out.Pagination.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

var queryParams = map[string]bool{
	"actor_id": true, "action": true, "resource": true, "resource_id": true, "tenant_id": true,
	"session_id": true, "target_type": true, "target_id": true, "search": true, "from": true, "to": true,
	"patient_id": true, "outcome": true, "purpose_of_use": true, "cursor": true, "limit": true,
}

// parseQuery reads GET /events filters, and returns the cursor for the
// caller to open against them. Unknown or repeated parameters are refused
// rather than ignored: a filter silently dropped would widen an auditor's
// answer.
func parseQuery(r *http.Request) (vigil.Query, string, error) {
	q := vigil.Query{Before: -1, Limit: vigil.DefaultQueryLimit}
	var details []vigil.ErrorDetail
	bad := func(field, msg string) { details = append(details, vigil.ErrorDetail{Field: field, Message: msg}) }
	values := r.URL.Query()
	for name, vs := range values {
		switch {
		case !queryParams[name]:
			bad(name, "unknown query parameter")
		case len(vs) > 1:
			bad(name, "must be given once")
		default:
			if msg := checkQueryValue(name, vs[0]); msg != "" {
				bad(name, msg)
			}
		}
	}
	if len(details) > 0 {
		return q, "", vigil.Invalid(details...)
	}
	get := values.Get
	q.ActorID, q.Action, q.Resource, q.ResourceID = get("actor_id"), get("action"), get("resource"), get("resource_id")
	q.TenantID, q.SessionID, q.TargetType, q.TargetID = get("tenant_id"), get("session_id"), get("target_type"), get("target_id")
	q.Search, q.PatientID, q.PurposeOfUse = get("search"), get("patient_id"), get("purpose_of_use")
	if o := get("outcome"); o != "" {
		q.Outcome = vigil.Outcome(o)
		if !q.Outcome.Valid() {
			bad("outcome", vigil.OutcomeMessage)
		}
	}
	q.From, q.To = parseRange(get, bad)
	q.Limit = parseLimit(get, bad, q.Limit)
	if len(details) > 0 {
		return q, "", vigil.Invalid(details...)
	}
	return q, get("cursor"), nil
}

// checkQueryValue applies the string rule of an event query parameter:
// the filters on identifiers take what an identifier may hold (a value no
// event can have is refused, not answered with nothing), search one line
// of text, the others their own syntax within MaxTextLength.
func checkQueryValue(name, v string) string {
	switch name {
	case "search":
		return vigil.CheckString(v, vigil.Line, vigil.MaxTextLength)
	case "from", "to", "cursor", "limit", "outcome":
		return vigil.CheckString(v, vigil.Identifier, vigil.MaxTextLength)
	}
	return vigil.CheckString(v, vigil.Identifier, vigil.MaxIDLength)
}

// parseRange reads the from and to parameters, to after from.
func parseRange(get func(string) string, bad func(field, msg string)) (from, to time.Time) {
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := get(f.name); v != "" {
			sp, err := vigil.ParseTime(v, vigil.TimeInstantOrDate)
			if err != nil {
				bad(f.name, err.Error())
			}
			*f.dst = sp.Start
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		bad("to", "must be after from")
	}
	return from, to
}

// parseLimit reads the limit parameter: a page of 1 to MaxQueryLimit.
func parseLimit(get func(string) string, bad func(field, msg string), def int) int {
	v := get("limit")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > vigil.MaxQueryLimit {
		bad("limit", "must be an integer from 1 to "+strconv.Itoa(vigil.MaxQueryLimit))
	}
	return n
}

// validID reports whether id has the shape of an event id (a UUID in its
// canonical lowercase form); no other id can exist, so any other is
// answered 404 without a lookup.
func validID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// withFieldErrors adds the event's own validation problems to those found
// while decoding it, so one answer names every bad field. It runs only on
// requests already refused; valid events are validated once, on the write
// path.
func withFieldErrors(e vigil.Event, details []vigil.ErrorDetail) []vigil.ErrorDetail {
	_, err := vigil.Prepare(e, ledger.Canonicalize)
	return append(details, vigil.ErrorDetails(err)...)
}
