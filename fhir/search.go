package fhir

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
)

// paramKind is how a search parameter's values are read.
type paramKind int

const (
	kindToken paramKind = iota
	kindReference
	kindString
	kindDate
)

// SearchParams are the AuditEvent search parameters the server supports,
// each with its FHIR type; CapabilityStatement lists them from here.
var SearchParams = map[string]paramKind{
	"date": kindDate, "action": kindToken, "outcome": kindToken, "type": kindToken, "subtype": kindToken,
	"agent": kindReference, "agent-name": kindString, "agent-role": kindToken, "altid": kindToken,
	"address": kindToken, "entity": kindReference, "entity-name": kindString, "entity-role": kindToken,
	"entity-type": kindToken, "patient": kindReference, "policy": kindToken, "site": kindToken,
	"source": kindReference,
}

// KindName is the FHIR type name of a parameter kind.
func KindName(name string) string {
	return [...]string{"token", "reference", "string", "date"}[SearchParams[name]]
}

// ResourceParams are the parameters of every resource type that the
// server supports, each with its FHIR type: _id is the event id,
// _lastUpdated its meta.lastUpdated (created_at, the time Vigil recorded
// it). They filter columns, not search terms.
var ResourceParams = map[string]string{"_id": "token", "_lastUpdated": "date"}

// Result parameters the server supports.
var resultParams = map[string]bool{"_count": true, "_sort": true, "_total": true, "_cursor": true, "_format": true}

// shapingParams are the FHIR parameters that only shape each entry or add
// resources beside the matches: honoured, none could leave a match out.
// They are the only unsupported parameters lenient handling ignores; the
// rest (search parameters, _tag, _has, _filter, chains, anything unknown)
// could narrow the answer if honoured, so ignoring them would answer more
// than was asked, and they are refused.
var shapingParams = map[string]bool{"_elements": true, "_include": true, "_revinclude": true, "_pretty": true,
	"_contained": true, "_containedType": true}

// Search is a parsed AuditEvent search.
type Search struct {
	Query   vigil.Query // terms, dates, order, limit, continuation; the caller sets workspace and scope
	Count   int         // entries per page; 0 asks only for the total
	Total   bool        // include Bundle.total (_total other than none)
	Ignored []string    // unknown parameters left out in lenient handling
	Used    url.Values  // the parameters applied, for the self link (without _cursor)
	// Cursor is _cursor as sent. The caller opens it, since a cursor is
	// bound to the workspace and key scope as well as to the query, and
	// sets Query.After from it (ParsePosition).
	Cursor string
}

// DefaultCount and MaxCount bound _count.
const (
	DefaultCount = vigil.DefaultQueryLimit
	MaxCount     = vigil.MaxQueryLimit
)

// ParseSearch reads AuditEvent search parameters. Repeated parameters are
// ANDed, comma-separated values ORed. A parameter the server does not
// support is an error, except in lenient handling (strict unset, FHIR's
// default) for those that only shape the entries (shapingParams, and
// _summary other than count or false), which are ignored and reported in
// Ignored: an ignored filter would widen the answer. A known parameter
// with a bad value or a modifier the server does not support is always an
// error, for the same reason.
func ParseSearch(values url.Values, strict bool) (Search, error) {
	s := Search{Query: vigil.Query{Before: -1, Order: vigil.OrderOccurredDesc}, Count: DefaultCount, Total: true, Used: url.Values{}}
	var ds []vigil.ErrorDetail
	bad := func(name, msg string) { ds = append(ds, vigil.ErrorDetail{Field: name, Message: msg}) }
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, full := range names {
		vs := values[full]
		name, modifier, _ := strings.Cut(full, ":")
		text := vigil.Identifier // codes, references, dates and result parameters
		if SearchParams[name] == kindString {
			text = vigil.Line // names: one line of text
		}
		for _, v := range vs {
			if msg := vigil.CheckString(v, text, vigil.MaxTextLength); msg != "" {
				bad(full, msg)
			}
		}
		if resultParams[name] {
			if modifier != "" || len(vs) > 1 {
				bad(full, "must be given once, without a modifier")
				continue
			}
			s.result(name, vs[0], bad)
			continue
		}
		if name == "_summary" {
			if modifier != "" || len(vs) > 1 {
				bad(full, "must be given once, without a modifier")
				continue
			}
			s.summary(vs[0], strict, bad)
			continue
		}
		kind, ok := SearchParams[name]
		if !ok && ResourceParams[name] == "" {
			switch {
			case strict:
				bad(full, "unknown search parameter for AuditEvent")
			case shapingParams[name]:
				s.Ignored = append(s.Ignored, full)
			default:
				bad(full, "unknown search parameter for AuditEvent: it is refused even in lenient handling, "+
					"since ignoring a parameter that could narrow the search would answer more than was asked")
			}
			continue
		}
		if modifier != "" {
			bad(full, "the modifier :"+modifier+" is not supported")
			continue
		}
		if !ok {
			for _, v := range vs {
				if err := s.resource(name, v); err != "" {
					bad(full, err)
					continue
				}
				s.Used.Add(full, v)
			}
			continue
		}
		for _, v := range vs {
			if kind == kindDate {
				if err := s.date(v); err != "" {
					bad(full, err)
				}
			} else {
				f, err := termFilter(name, kind, v)
				if err != "" {
					bad(full, err)
					continue
				}
				s.Query.Terms = append(s.Query.Terms, f)
			}
			s.Used.Add(full, v)
		}
	}
	if len(ds) > 0 {
		return s, vigil.Invalid(ds...)
	}
	s.Query.Limit = max(s.Count, 1)
	return s, nil
}

func (s *Search) result(name, v string, bad func(string, string)) {
	switch name {
	case "_count":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxCount {
			bad(name, "must be an integer from 0 to "+strconv.Itoa(MaxCount))
			return
		}
		s.Count = n
		s.Used.Set(name, v)
	case "_sort":
		switch v {
		case "date", "-date":
			if v == "date" {
				s.Query.Order = vigil.OrderOccurredAsc
			}
			s.Used.Set(name, v)
		default:
			bad(name, "must be date or -date")
		}
	case "_total":
		switch v {
		case "none":
			s.Total = false
		case "estimate", "accurate":
		default:
			bad(name, "must be none, estimate or accurate")
			return
		}
		s.Used.Set(name, v)
	case "_format":
		switch v {
		case "json", "application/json", "application/fhir+json":
		default:
			bad(name, "only JSON is served: json, application/json or application/fhir+json")
		}
	case "_cursor":
		s.Cursor = v
	}
}

// summary applies _summary: count asks only for the total (as _count=0),
// false for whole resources (the default). The others would shorten each
// entry, which the server does not do: lenient handling ignores them,
// since honoured they could not leave a match out.
func (s *Search) summary(v string, strict bool, bad func(string, string)) {
	switch v {
	case "count":
		s.Count = 0
		s.Used.Set("_summary", v)
	case "false":
		s.Used.Set("_summary", v)
	case "true", "text", "data":
		if strict {
			bad("_summary", "only count and false are supported: entries are whole resources")
			return
		}
		s.Ignored = append(s.Ignored, "_summary")
	default:
		bad("_summary", "must be true, text, data, count or false")
	}
}

// resource applies one value of a ResourceParams parameter: _id (ids,
// comma-separated, ORed) or _lastUpdated (a date with an optional prefix,
// read as the date parameter reads it).
func (s *Search) resource(name, v string) string {
	switch name {
	case "_id":
		ids := splitValues(v)
		for _, id := range ids {
			if id == "" {
				return "must not be empty"
			}
		}
		s.Query.IDs = append(s.Query.IDs, ids)
	case "_lastUpdated":
		var d Search
		if err := d.date(v); err != "" {
			return err
		}
		if !d.Query.From.IsZero() && d.Query.From.After(s.Query.CreatedFrom) {
			s.Query.CreatedFrom = d.Query.From
		}
		if !d.Query.To.IsZero() && (s.Query.CreatedTo.IsZero() || d.Query.To.Before(s.Query.CreatedTo)) {
			s.Query.CreatedTo = d.Query.To
		}
	}
	return ""
}

// splitValues splits a parameter value on commas not escaped with '\'.
func splitValues(v string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			// Only the comma is resolved here; other escapes are the
			// token reader's.
			i++
			if v[i] != ',' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[i])
		case v[i] == ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(v[i])
		}
	}
	return append(out, b.String())
}

// cutUnescaped cuts s at the first '|' not escaped with '\'.
func cutUnescaped(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '|' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func termFilter(name string, kind paramKind, raw string) (vigil.TermFilter, string) {
	f := vigil.TermFilter{Name: name}
	for _, v := range splitValues(raw) {
		if v == "" {
			return f, "must not be empty"
		}
		var tv vigil.TermValue
		switch kind {
		case kindString:
			tv = vigil.TermValue{AnySystem: true, Value: strings.ToLower(unescape(v)), Prefix: true}
		case kindReference:
			v = unescape(v)
			if typ, id, ok := relativeRef(v); ok && !strings.Contains(v, "://") {
				tv = vigil.TermValue{System: typ, Value: id}
			} else {
				tv = vigil.TermValue{AnySystem: true, Value: v}
			}
			if name == "patient" && !tv.AnySystem && tv.System != "Patient" {
				return f, "must name a Patient"
			}
			if name == "patient" {
				tv = vigil.TermValue{System: "Patient", Value: tv.Value}
			}
		case kindToken:
			system, code, found := cutUnescaped(v)
			switch {
			case !found:
				tv = vigil.TermValue{AnySystem: true, Value: unescape(v)}
			case code == "" && system == "":
				return f, "must be code, system|code, |code or system|"
			default:
				tv = vigil.TermValue{System: unescape(system), Value: unescape(code)}
			}
		}
		f.Values = append(f.Values, tv)
	}
	return f, ""
}

// unescape resolves FHIR's search escapes \| \$ and \\.
func unescape(s string) string {
	return strings.NewReplacer(`\|`, "|", `\$`, "$", `\\`, `\`).Replace(s)
}

// date applies one date parameter: an optional prefix (eq, ge, gt, le, lt)
// and a FHIR dateTime of any precision, which stands for the range it
// covers. Dates without a zone are read as UTC.
func (s *Search) date(v string) string {
	prefix := "eq"
	if len(v) >= 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	switch prefix {
	case "eq", "ge", "gt", "le", "lt":
	case "ne", "sa", "eb", "ap":
		return "the prefix " + prefix + " is not supported (use eq, ge, gt, le or lt)"
	default:
		return "unknown prefix " + strconv.Quote(prefix) + " (use eq, ge, gt, le or lt)"
	}
	if strings.Contains(v, ",") {
		return "takes one date; repeat the parameter to combine ranges"
	}
	sp, err := vigil.ParseTime(v, vigil.TimeFHIRSearch)
	if err != nil {
		return err.Error()
	}
	start, end := sp.Start, sp.End
	from := func(t time.Time) {
		if s.Query.From.IsZero() || t.After(s.Query.From) {
			s.Query.From = t
		}
	}
	to := func(t time.Time) {
		if s.Query.To.IsZero() || t.Before(s.Query.To) {
			s.Query.To = t
		}
	}
	switch prefix {
	case "eq":
		from(start)
		to(end)
	case "ge":
		from(start)
	case "gt":
		from(end)
	case "le":
		to(end)
	case "lt":
		to(start)
	}
	return ""
}

// FormatPosition writes the position of the last entry of a page in date
// order, as a cursor carries it.
func FormatPosition(p vigil.Position) string {
	return strconv.FormatInt(p.Occurred, 10) + "." + strconv.FormatInt(p.Sequence, 10)
}

// ParsePosition reads a position written by FormatPosition.
func ParsePosition(s string) (vigil.Position, bool) {
	occ, seq, ok := strings.Cut(s, ".")
	o, err1 := strconv.ParseInt(occ, 10, 64)
	n, err2 := strconv.ParseInt(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil || n < 0 {
		return vigil.Position{}, false
	}
	return vigil.Position{Occurred: o, Sequence: n}, true
}
