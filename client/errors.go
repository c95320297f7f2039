package client

import (
	"errors"
	"fmt"

	"github.com/vigilhq/vigil/api"
)

// Error is an error answer of the server: its HTTP status, its error code
// (validation_failed, unauthorized, ...), message and field details.
type Error struct {
	Status  int
	Code    string
	Message string
	Details []api.ErrorDetail
}

func (e *Error) Error() string {
	return fmt.Sprintf("vigil: %d %s: %s", e.Status, e.Code, e.Message)
}

// Retryable reports whether the same request may succeed later.
func (e *Error) Retryable() bool {
	return e.Status == 429 || e.Status == 503 || e.Status == 502 || e.Status == 504
}

// ErrSpoolFull is returned by Track when the spool holds its maximum.
var ErrSpoolFull = errors.New("client: the spool is full; the event was not recorded")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("client: closed")
