package http

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

// errorStatus is the one table from error code to HTTP status and wire
// code. Every error leaves the server through writeError.
var errorStatus = map[string]struct {
	status int
	wire   string
}{
	vigil.EINVALID:      {http.StatusUnprocessableEntity, "validation_failed"},
	vigil.EMALFORMED:    {http.StatusBadRequest, "invalid_json"},
	vigil.EBADQUERY:     {http.StatusBadRequest, "invalid_query"},
	vigil.EMEDIATYPE:    {http.StatusUnsupportedMediaType, "unsupported_media_type"},
	vigil.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "payload_too_large"},
	vigil.ENOTFOUND:     {http.StatusNotFound, "not_found"},
	vigil.ECONFLICT:     {http.StatusConflict, "conflict"},
	vigil.EUNAUTHORIZED: {http.StatusUnauthorized, "unauthorized"},
	vigil.EFORBIDDEN:    {http.StatusForbidden, "forbidden"},
	vigil.ERATELIMITED:  {http.StatusTooManyRequests, "rate_limited"},
	vigil.EUNAVAILABLE:  {http.StatusServiceUnavailable, "unavailable"},
	vigil.EINTERNAL:     {http.StatusInternalServerError, "internal_error"},
}

// extra wire code that is not a domain error: a routing answer.
const wireMethodNotAllowed = "method_not_allowed"

// Error statuses, exported so the server's consumers (OpenAPI test, SDK
// tests) can check the table.
func ErrorStatus(code string) (status int, wire string) {
	e, ok := errorStatus[code]
	if !ok {
		e = errorStatus[vigil.EINTERNAL]
	}
	return e.status, e.wire
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := vigil.ErrorCode(err)
	status, wire := ErrorStatus(code)
	msg := vigil.ErrorMessage(err)
	if code == vigil.EINTERNAL || code == vigil.EUNAVAILABLE {
		// The cause stays in the server's log; the client gets the message.
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	if (code == vigil.EUNAVAILABLE || code == vigil.ERATELIMITED) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	details := []api.ErrorDetail{}
	for _, d := range vigil.ErrorDetails(err) {
		details = append(details, api.ErrorDetail{Field: d.Field, Index: d.Index, Message: d.Message})
	}
	writeJSON(w, status, api.Error{Error: wire, Message: msg, Details: details})
}

func writeWire(w http.ResponseWriter, status int, wire, msg string) {
	writeJSON(w, status, api.Error{Error: wire, Message: msg, Details: []api.ErrorDetail{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encoding a response failed", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal_error","message":"encoding the response failed","details":[]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
