package client

import (
	"errors"
	"fmt"

	"github.com/vigilhq/vigil/api"
)

// Error is an answer the server refused a request with: its HTTP status,
// its error code (validation_failed, conflict, unauthorized, forbidden,
// not_found, rate_limited, unavailable, ...), message and per-field
// details. Status 0 means the client refused the event itself before
// sending it, with the server's code for the same problem. Get it with
// errors.As.
type Error struct {
	Status  int
	Code    string
	Message string
	Details []api.ErrorDetail
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("vigil: %s: %s", e.Code, e.Message)
	if e.Status != 0 {
		msg = fmt.Sprintf("vigil: %d %s: %s", e.Status, e.Code, e.Message)
	}
	for i, d := range e.Details {
		if i == 3 {
			msg += fmt.Sprintf(" (and %d more)", len(e.Details)-i)
			break
		}
		msg += "; " + d.Field + " " + d.Message
	}
	return msg
}

// Temporary reports whether the same request may succeed later: the
// server was overloaded or unavailable (429, 502, 503, 504).
func (e *Error) Temporary() bool {
	switch e.Status {
	case 429, 502, 503, 504:
		return true
	}
	return false
}

// ErrSpoolFull is returned (wrapped) by Track when the spool holds its
// maximum: the event was not recorded. Test with errors.Is.
var ErrSpoolFull = errors.New("client: the spool is full; the event was not recorded")

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("client: closed")

// GuardError is returned by Guard, and logged by fail-closed middleware,
// when the access could not be recorded and so was not allowed to run.
type GuardError struct{ Err error }

func (e *GuardError) Error() string {
	return "client: the access was not recorded, so it was not allowed: " + e.Err.Error()
}

func (e *GuardError) Unwrap() error { return e.Err }
