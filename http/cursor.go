package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/vigilhq/vigil"
)

// Cursors say where the next page of a listing starts, and are bound to
// the listing that issued them: the kind of listing, the workspace, the
// key's tenant scope and every filter and the order, as the server parsed
// them. A cursor used with anything else would page silently wrong (a
// position in one answer means nothing in another), so it is refused.
//
// The binding is a SHA-256 digest, not a MAC: a cursor grants nothing (the
// key decides what is visible, never the cursor), so a client that forges
// one for its own listing only chooses where its own page starts. The
// digest is there to catch a cursor carried to another listing, however
// that happened. It needs no secret, so cursors survive restarts and work
// on every node.

// Kinds of cursor, one per kind of listing. The seed-001 search is the
// FHIR search under other names, so it shares the FHIR kind.
const (
	cursorEvents = "e"
	cursorAlerts = "a"
	cursorFHIR   = "f"
)

// cursorVersion follows the kind in every cursor; cursors of an earlier
// format (unbound) are refused.
const cursorVersion = "2."

// sealCursor makes the cursor of the page at pos of the listing bound by
// binding.
func sealCursor(kind string, binding any, pos string) string {
	d := cursorDigest(kind, binding)
	return base64.RawURLEncoding.EncodeToString([]byte(kind + cursorVersion + pos + "." + base64.RawURLEncoding.EncodeToString(d)))
}

// openCursor returns the position a cursor names, if it was issued for
// the listing bound by binding; otherwise a 422 naming field.
func openCursor(kind, raw string, binding any, field string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	body, ok := strings.CutPrefix(string(b), kind+cursorVersion)
	dot := strings.LastIndexByte(body, '.')
	if err != nil || !ok || dot < 0 {
		return "", vigil.Invalid(vigil.ErrorDetail{Field: field, Message: "is not a cursor this server issued"})
	}
	pos, sum := body[:dot], body[dot+1:]
	got, err := base64.RawURLEncoding.DecodeString(sum)
	want := cursorDigest(kind, binding)
	if err != nil || len(want) != 16 || subtle.ConstantTimeCompare(got, want) != 1 {
		return "", vigil.Invalid(vigil.ErrorDetail{Field: field, Message: "was issued for another listing: a cursor continues only the " +
			"search that returned it (same filters and order, same workspace, a key of the same tenant scope); start again without it"})
	}
	return pos, nil
}

// cursorDigest is the first 128 bits of SHA-256 over the kind and the
// binding's JSON. The binding is the parsed query (normalised: dates in
// UTC, defaults filled in) with its paging fields cleared, so the same
// search in another spelling or page size keeps its cursors.
func cursorDigest(kind string, binding any) []byte {
	b, err := json.Marshal(binding)
	if err != nil {
		return nil // queries are plain data; were one not, no cursor would open
	}
	h := sha256.New()
	h.Write([]byte("vigil.cursor\n" + kind + "\n"))
	h.Write(b)
	return h.Sum(nil)[:16]
}

// eventsBinding is what an event listing's cursor is bound to: the query
// without its position and page size.
func eventsBinding(q vigil.Query) vigil.Query {
	q.Before, q.After, q.Limit = 0, nil, 0
	return q
}

// alertsBinding is eventsBinding for alert listings.
func alertsBinding(q vigil.AlertQuery) vigil.AlertQuery {
	q.Before, q.Limit = "", 0
	return q
}
