package vigil

import (
	"context"
	"encoding/json"
	"maps"
)

// The meta-audit: every read of the audit trail (by an API key or a
// console user) is itself an event of the workspace, so "who looked at
// the audit log" is answerable.

// MetaMetadata is a meta-audit event's metadata: the request's path and
// its parameters.
func MetaMetadata(path string, params map[string]string) json.RawMessage {
	m := map[string]any{"path": path}
	if len(params) > 0 {
		m["params"] = params
	}
	b, _ := json.Marshal(m)
	return b
}

// RecordRead runs read and records e, its meta-audit event, through the
// one write path with the read's outcome: a lookup that found nothing or
// failed is recorded as a failed attempt, with its error code (probing the
// trail is what the record exists to show). A read refused as invalid
// (EINVALID: bad input, such as a range beyond the log) is not recorded:
// bad input changes nothing. Nothing is returned until the record is
// durable: if it cannot be written, the read fails closed with
// EUNAVAILABLE.
func RecordRead(ctx context.Context, store EventStore, workspace string, e Event, path string, params map[string]string, read func() error) error {
	readErr := read()
	if ErrorCode(readErr) == EINVALID {
		return readErr
	}
	e.Outcome = OutcomeSuccess
	if readErr != nil {
		e.Outcome = OutcomeFailure
		params = maps.Clone(params)
		if params == nil {
			params = map[string]string{}
		}
		params["error"] = ErrorCode(readErr)
	}
	e.Metadata = MetaMetadata(path, params)
	if _, err := store.Append(ServerRecord(ctx), workspace, []Event{e}); err != nil {
		return Unavailable("recording this read in the audit trail failed", err)
	}
	return readErr
}
