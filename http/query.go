package http

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/vigilhq/vigil"
)

// Every route's query string passes checkQuery before its handler runs,
// so the handlers' r.URL.Query() sees exactly what the client sent:
// url.ParseQuery drops the pairs it cannot parse (a bad percent-escape, a
// ';' separator) and r.URL.Query() discards that error, which would turn
// a filter the client meant into no filter at all.

// checkQuery refuses a query string that url.ParseQuery cannot read
// whole (400 invalid_query naming the parameter), and parameters without
// a name or without a value (422): a filter given as "actor_id=" would
// otherwise be read as no filter.
func checkQuery(raw string) error {
	if raw == "" {
		return nil
	}
	if _, err := url.ParseQuery(raw); err != nil {
		return queryError(raw)
	}
	var details []vigil.ErrorDetail
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, _ := url.QueryUnescape(k)
		value, _ := url.QueryUnescape(v)
		switch {
		case name == "":
			return badQuery("", "a parameter has no name (the query holds \""+pair+"\")")
		case !vigil.ValidText(name) || !vigil.ValidText(value):
			return badQuery(name, "must decode to UTF-8 text without NUL bytes")
		case value == "":
			details = append(details, vigil.ErrorDetail{Field: name, Message: "has no value: leave the parameter out rather than send it empty"})
		}
	}
	if len(details) > 0 {
		return vigil.Invalid(details...)
	}
	return nil
}

// queryError names the first pair of raw that url.ParseQuery refuses.
func queryError(raw string) error {
	for pair := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			return badQuery(k, "the parameter's name is not valid percent-encoding (write a literal % as %25)")
		}
		if i := strings.IndexByte(k, ';'); i >= 0 {
			// A ';' in the name: the client meant it as a separator.
			name, _ = url.QueryUnescape(k[:i])
		}
		if strings.Contains(pair, ";") {
			return badQuery(name, "contains ';': separate parameters with '&' and write a literal semicolon as %3B")
		}
		if _, err := url.QueryUnescape(v); err != nil {
			return badQuery(name, "is not valid percent-encoding (write a literal % as %25)")
		}
	}
	return badQuery("", "the query string does not parse")
}

func badQuery(name, msg string) error {
	return &vigil.Error{Code: vigil.EBADQUERY, Message: strings.TrimPrefix(name+": "+msg, ": "),
		Details: []vigil.ErrorDetail{{Field: name, Message: msg}}}
}

// queryChecked runs checkQuery before an authenticated handler, so its
// error leaves through the route's own error writer.
func queryChecked(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
		if err := checkQuery(r.URL.RawQuery); err != nil {
			return err
		}
		return h(w, r, k)
	}
}

// openQueryChecked is queryChecked for a route open without a key.
func openQueryChecked(h http.HandlerFunc, writeError func(http.ResponseWriter, *http.Request, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := checkQuery(r.URL.RawQuery); err != nil {
			writeError(w, r, err)
			return
		}
		h(w, r)
	}
}
