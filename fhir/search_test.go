package fhir_test

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/fhir"
)

func parse(t *testing.T, query string, strict bool) (fhir.Search, error) {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	return fhir.ParseSearch(v, strict)
}

func TestSearchTerms(t *testing.T) {
	any := func(v string) vigil.TermValue { return vigil.TermValue{AnySystem: true, Value: v} }
	cases := []struct {
		query string
		want  []vigil.TermFilter
	}{
		{"action=R", []vigil.TermFilter{{Name: "action", Values: []vigil.TermValue{any("R")}}}},
		{"action=C,R", []vigil.TermFilter{{Name: "action", Values: []vigil.TermValue{any("C"), any("R")}}}},
		{"outcome=8", []vigil.TermFilter{{Name: "outcome", Values: []vigil.TermValue{any("8")}}}},
		{"type=http://dicom.nema.org/resources/ontology/DCM|110114", []vigil.TermFilter{{Name: "type", Values: []vigil.TermValue{{System: "http://dicom.nema.org/resources/ontology/DCM", Value: "110114"}}}}},
		{"subtype=|read", []vigil.TermFilter{{Name: "subtype", Values: []vigil.TermValue{{System: "", Value: "read"}}}}},
		{"agent-role=http://x|", []vigil.TermFilter{{Name: "agent-role", Values: []vigil.TermValue{{System: "http://x"}}}}},
		{"agent=Practitioner/p1", []vigil.TermFilter{{Name: "agent", Values: []vigil.TermValue{{System: "Practitioner", Value: "p1"}}}}},
		{"agent=prac_dr456", []vigil.TermFilter{{Name: "agent", Values: []vigil.TermValue{any("prac_dr456")}}}},
		{"agent-name=Dr.%20Sarah", []vigil.TermFilter{{Name: "agent-name", Values: []vigil.TermValue{{AnySystem: true, Value: "dr. sarah", Prefix: true}}}}},
		{"entity-name=Patient", []vigil.TermFilter{{Name: "entity-name", Values: []vigil.TermValue{{AnySystem: true, Value: "patient", Prefix: true}}}}},
		{"patient=pt_abc123", []vigil.TermFilter{{Name: "patient", Values: []vigil.TermValue{{System: "Patient", Value: "pt_abc123"}}}}},
		{"patient=Patient/pt_abc123", []vigil.TermFilter{{Name: "patient", Values: []vigil.TermValue{{System: "Patient", Value: "pt_abc123"}}}}},
		{"site=a\\,b", []vigil.TermFilter{{Name: "site", Values: []vigil.TermValue{any("a,b")}}}},
		{"policy=a\\|b", []vigil.TermFilter{{Name: "policy", Values: []vigil.TermValue{any("a|b")}}}},
	}
	for _, c := range cases {
		s, err := parse(t, c.query, true)
		if err != nil {
			t.Errorf("%s: %v %+v", c.query, err, vigil.ErrorDetails(err))
			continue
		}
		if !reflect.DeepEqual(s.Query.Terms, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.query, s.Query.Terms, c.want)
		}
	}
	// Every declared parameter parses.
	for name := range fhir.SearchParams {
		v := "x"
		if name == "date" {
			v = "2024"
		}
		if _, err := parse(t, url.Values{name: {v}}.Encode(), true); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSearchDates(t *testing.T) {
	d := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	var zero time.Time
	cases := []struct {
		query    string
		from, to time.Time
	}{
		{"date=2024-06-15", d("2024-06-15T00:00:00Z"), d("2024-06-16T00:00:00Z")},
		{"date=eq2024-06", d("2024-06-01T00:00:00Z"), d("2024-07-01T00:00:00Z")},
		{"date=ge2024", d("2024-01-01T00:00:00Z"), zero},
		{"date=gt2024-06-15", d("2024-06-16T00:00:00Z"), zero},
		{"date=le2024-06-30", zero, d("2024-07-01T00:00:00Z")},
		{"date=lt2024-06-30", zero, d("2024-06-30T00:00:00Z")},
		{"date=ge2024-06-01&date=le2024-06-30", d("2024-06-01T00:00:00Z"), d("2024-07-01T00:00:00Z")},
		{"date=ge2024-06-15T08:30:00%2B02:00", d("2024-06-15T06:30:00Z"), zero},
		{"date=2024-06-15T08:30:00Z", d("2024-06-15T08:30:00Z"), d("2024-06-15T08:30:01Z")},
		{"date=2024-06-15T08:30Z", d("2024-06-15T08:30:00Z"), d("2024-06-15T08:31:00Z")},
		{"date=lt2024-06-15T08:30:00.5Z", zero, d("2024-06-15T08:30:00.5Z")},
	}
	for _, c := range cases {
		s, err := parse(t, c.query, true)
		if err != nil {
			t.Errorf("%s: %v %+v", c.query, err, vigil.ErrorDetails(err))
			continue
		}
		if !s.Query.From.Equal(c.from) || !s.Query.To.Equal(c.to) {
			t.Errorf("%s: [%v, %v), want [%v, %v)", c.query, s.Query.From, s.Query.To, c.from, c.to)
		}
	}
}

func TestSearchResultParams(t *testing.T) {
	s, err := parse(t, "_count=5&_sort=date&_total=none", true)
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 5 || s.Query.Limit != 5 || s.Query.Order != vigil.OrderOccurredAsc || s.Total {
		t.Errorf("%+v", s)
	}
	s, err = parse(t, "", true)
	if err != nil || s.Count != 25 || s.Query.Order != vigil.OrderOccurredDesc || !s.Total {
		t.Errorf("defaults: %+v %v", s, err)
	}
	// The cursor is the caller's to open (it is bound to the workspace and
	// key scope too); the search keeps it as sent and does not page.
	s, err = parse(t, "_cursor=abc", true)
	if err != nil || s.Cursor != "abc" || s.Query.After != nil || s.Used.Has("_cursor") {
		t.Errorf("cursor: %q %+v %v", s.Cursor, s.Query.After, err)
	}
	p := vigil.Position{Occurred: -1718440200000000000, Sequence: 7}
	if got, ok := fhir.ParsePosition(fhir.FormatPosition(p)); !ok || got != p {
		t.Errorf("position %+v read back as %+v", p, got)
	}
	for _, bad := range []string{"", "1", "1.", ".1", "1.-1", "a.1", "1.2.3"} {
		if _, ok := fhir.ParsePosition(bad); ok {
			t.Errorf("position %q accepted", bad)
		}
	}
	s, err = parse(t, "_count=0", true)
	if err != nil || s.Count != 0 || s.Query.Limit != 1 {
		t.Errorf("_count=0: %+v %v", s, err)
	}
}

func TestSearchErrors(t *testing.T) {
	for query, field := range map[string]string{
		"date=xx2024":              "date",
		"date=ne2024":              "date",
		"date=ap2024":              "date",
		"date=2024-13":             "date",
		"date=yesterday":           "date",
		"date=2024,2025":           "date",
		"_count=101":               "_count",
		"_count=-1":                "_count",
		"_count=ten":               "_count",
		"_sort=agent":              "_sort",
		"_total=all":               "_total",
		"_format=xml":              "_format",
		"_count=1&_count=2":        "_count",
		"agent:identifier=x":       "agent:identifier",
		"agent-name:exact=x":       "agent-name:exact",
		"patient=Practitioner/p":   "patient",
		"type=|":                   "type",
		"action=":                  "action",
		"nonsense=1":               "nonsense",
		"_summary=true":            "_summary",
		"action=R&subject=Patient": "subject",
	} {
		_, err := parse(t, query, true)
		if vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("%s: %v, want invalid", query, err)
			continue
		}
		found := false
		for _, d := range vigil.ErrorDetails(err) {
			found = found || d.Field == field
		}
		if !found {
			t.Errorf("%s: details %+v do not name %s", query, vigil.ErrorDetails(err), field)
		}
	}
}

// TestSearchLenient: without strict handling, parameters that only shape
// the entries are ignored and reported; any other unsupported parameter,
// and bad values of known ones, are still refused.
func TestSearchLenient(t *testing.T) {
	s, err := parse(t, "action=R&_elements=id&_summary=true&_include=AuditEvent:agent", false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Ignored, []string{"_elements", "_include", "_summary"}) {
		t.Errorf("ignored %v", s.Ignored)
	}
	if s.Used.Encode() != "action=R" {
		t.Errorf("used %s", s.Used.Encode())
	}
	for _, q := range []string{"date=xx2024&_elements=id", "action=R&nonsense=1", "action=R&_tag=x", "action=R&subject=Patient/1"} {
		if _, err := parse(t, q, false); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("%s passed in lenient mode: %v", q, err)
		}
	}
}

func TestSearchIDAndLastUpdated(t *testing.T) {
	s, err := parse(t, "_id=a,b&_id=b&_lastUpdated=ge2024-06-01&_lastUpdated=lt2024-07&_lastUpdated=gt2024-06-02", true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Query.IDs, [][]string{{"a", "b"}, {"b"}}) {
		t.Errorf("ids %v", s.Query.IDs)
	}
	from, to := time.Date(2024, 6, 3, 0, 0, 0, 0, time.UTC), time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	if !s.Query.CreatedFrom.Equal(from) || !s.Query.CreatedTo.Equal(to) || !s.Query.From.IsZero() || !s.Query.To.IsZero() {
		t.Errorf("created %v..%v, occurred %v..%v", s.Query.CreatedFrom, s.Query.CreatedTo, s.Query.From, s.Query.To)
	}
	if s.Used.Get("_id") != "a,b" || len(s.Used["_lastUpdated"]) != 3 {
		t.Errorf("used %s", s.Used.Encode())
	}
	s, err = parse(t, "_summary=count&_count=5", true)
	if err != nil || s.Count != 0 {
		t.Errorf("_summary=count: %+v %v", s, err)
	}
	for q, field := range map[string]string{"_id=": "_id", "_id=a,": "_id", "_id:exact=a": "_id:exact", "_lastUpdated=x": "_lastUpdated",
		"_lastUpdated=sa2024": "_lastUpdated", "_summary=true": "_summary", "_summary=nope": "_summary"} {
		_, err := parse(t, q, true)
		if ds := vigil.ErrorDetails(err); len(ds) != 1 || ds[0].Field != field {
			t.Errorf("%s: %v %+v", q, err, ds)
		}
	}
}
