package http

import (
	"net/http"
	"net/netip"
	"net/url"

	"github.com/vigilhq/vigil"
)

// The console reads what the API reads, with the API's filters: these
// expose the API's one parser of each, so both accept and refuse the same.

// ParseEventQuery reads the filters of GET /api/v1/events from values,
// and returns the cursor as sent: set the query's workspace and scope,
// then continue it with OpenEventCursor (a cursor is bound to its query).
func ParseEventQuery(values url.Values) (vigil.Query, string, error) {
	return parseQuery(&http.Request{URL: &url.URL{RawQuery: values.Encode()}})
}

// OpenEventCursor continues q after a cursor issued for the same query,
// workspace and scope; any other cursor is EINVALID naming cursor.
func OpenEventCursor(q *vigil.Query, cursor string) error { return continueEvents(q, cursor, "cursor") }

// EventCursor is the cursor of q's page of events below sequence before.
func EventCursor(q vigil.Query, before int64) string { return eventsCursor(q, before) }

// ParseAlertQuery reads the filters of GET /api/v1/alerts from values, and
// returns the cursor as sent (see ParseEventQuery).
func ParseAlertQuery(values url.Values) (vigil.AlertQuery, string, error) {
	return parseAlertQuery(&http.Request{URL: &url.URL{RawQuery: values.Encode()}})
}

// OpenAlertCursor continues q after a cursor issued for the same query.
func OpenAlertCursor(q *vigil.AlertQuery, cursor string) error { return continueAlerts(q, cursor) }

// AlertCursor is the cursor of q's page of alerts below the alert id.
func AlertCursor(q vigil.AlertQuery, id string) string {
	return sealCursor(cursorAlerts, alertsBinding(q), id)
}

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
