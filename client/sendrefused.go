package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vigilhq/vigil/api"
)

// refusesContent reports whether the server refused what was sent, which
// no retry can change: a malformed, too large or invalid event (400, 413,
// 422), or an idempotency key the server already holds for other content
// (409 conflict: the key's first event is stored; sending this one again
// is refused again). Everything else (a wrong key or URL, a server error,
// an outage) is worth retrying, and an event is not given up for an
// operator's mistake.
func refusesContent(e *Error) bool {
	return e.Status == 400 || e.Status == 409 || e.Status == 413 || e.Status == 422
}

// namedIndexes returns the batch positions a refusal names.
func namedIndexes(e *Error, n int) []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range e.Details {
		if d.Index != nil && *d.Index >= 0 && *d.Index < n && !seen[*d.Index] {
			seen[*d.Index] = true
			out = append(out, *d.Index)
		}
	}
	return out
}

// reject sets an event the server refused aside in rejected.jsonl, with
// the answer, for a person to look at; it is then done.
func (s *spool) reject(r *record, e *Error) error {
	line, err := json.Marshal(struct {
		RejectedAt time.Time         `json:"rejected_at"`
		Status     int               `json:"status"`
		Error      string            `json:"error"`
		Message    string            `json:"message"`
		Details    []api.ErrorDetail `json:"details"`
		Event      json.RawMessage   `json:"event"`
	}{time.Now().UTC(), e.Status, e.Code, e.Message, e.Details, r.payload})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, rejectedFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("client: spool: setting a refused event aside: %w", err)
	}
	_, werr := f.Write(append(line, '\n'))
	if werr == nil {
		werr = f.Sync()
	}
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("client: spool: setting a refused event aside: %w", err)
	}
	var key struct {
		Key string `json:"idempotency_key"`
	}
	json.Unmarshal(r.payload, &key)
	s.c.log.Error("vigil client: spool: the server refused an event; it is kept in rejected.jsonl",
		"idempotency_key", key.Key, "status", e.Status, "error", e.Code, "message", e.Message)
	r.done, r.rejected = true, true
	s.mu.Lock()
	s.rejected++
	s.mu.Unlock()
	return nil
}
