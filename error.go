package vigil

import (
	"errors"
	"fmt"
)

// Error codes. The http package maps each to one status in one table.
const (
	EINVALID      = "invalid"      // a field failed validation (422)
	EMALFORMED    = "malformed"    // the body is not valid JSON of the expected shape (400)
	EBADQUERY     = "bad_query"    // the query string does not parse (400)
	EMEDIATYPE    = "media_type"   // the body's Content-Type is not one the route takes (415)
	ETOOLARGE     = "too_large"    // the body or a field exceeds its limit (413)
	ENOTFOUND     = "not_found"    // no such thing, or not visible to the caller (404)
	ECONFLICT     = "conflict"     // the request conflicts with stored state (409)
	EUNAUTHORIZED = "unauthorized" // no valid credentials (401)
	EFORBIDDEN    = "forbidden"    // valid credentials, insufficient role (403)
	ERATELIMITED  = "rate_limited" // too many requests (429)
	EUNAVAILABLE  = "unavailable"  // overloaded or storage failing; retry later (503)
	EINTERNAL     = "internal"     // a bug or an unexpected failure (500)
)

// Error is the one error type that crosses package boundaries. Message is
// safe to show to the caller; Details name the offending fields.
type Error struct {
	Code    string
	Message string
	Details []ErrorDetail
	Err     error // the underlying cause, never shown to callers
}

// ErrorDetail names one problem with one field. Index is the position of
// the item in a batch, or -1 when the request is not a batch.
type ErrorDetail struct {
	Field   string `json:"field,omitempty"`
	Index   *int   `json:"index,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("vigil: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("vigil: %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not an
// *Error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorDetails returns the field details of err, if any.
func ErrorDetails(err error) []ErrorDetail {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}

// Invalid builds an EINVALID error from details.
func Invalid(details ...ErrorDetail) *Error {
	msg := "validation failed"
	if len(details) == 1 {
		msg = details[0].Message
		if details[0].Field != "" {
			msg = details[0].Field + ": " + msg
		}
	}
	return &Error{Code: EINVALID, Message: msg, Details: details}
}

// Unavailable wraps a storage failure: the caller may retry, nothing was
// acknowledged.
func Unavailable(msg string, err error) *Error {
	return &Error{Code: EUNAVAILABLE, Message: msg, Err: err}
}
