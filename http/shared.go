package http

import (
	"net/http"
	"net/netip"
	"net/url"

	"github.com/vigilhq/vigil"
)

// The console reads what the API reads, with the API's filters: these
// expose the API's one parser of each, so both accept and refuse the same.

// ParseEventQuery reads the filters of GET /api/v1/events from values.
func ParseEventQuery(values url.Values) (vigil.Query, error) {
	return parseQuery(&http.Request{URL: &url.URL{RawQuery: values.Encode()}})
}

// EventCursor is the cursor of the page of events below sequence before.
func EventCursor(before int64) string { return encodeCursor(before) }

// ParseAlertQuery reads the filters of GET /api/v1/alerts from values.
func ParseAlertQuery(values url.Values) (vigil.AlertQuery, error) {
	return parseAlertQuery(&http.Request{URL: &url.URL{RawQuery: values.Encode()}})
}

// AlertCursor is the cursor of the page of alerts below the alert id.
func AlertCursor(id string) string { return encodeAlertCursor(id) }

// AlertStatuses are the statuses an investigator may set.
func AlertStatuses() []string { return append([]string(nil), alertStatuses...) }

// MaxAlertNotesBytes bounds an alert's notes.
const MaxAlertNotesBytes = MaxAlertNotes

// ClientAddr is a request's client address as the API sees it: the
// connection's, or the last untrusted hop of X-Forwarded-For when the
// connection comes from one of trusted.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	s := &Server{cfg: Config{TrustedProxies: trusted}}
	return s.remoteAddr(r)
}

// StorableText makes a client-supplied header storable in an event:
// valid UTF-8, no NUL, at most n bytes.
func StorableText(s string, n int) string { return truncate(s, n) }
