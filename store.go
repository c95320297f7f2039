package vigil

import "context"

// EventStore keeps events durably. Every event of every entry point (REST,
// FHIR, SDK, the system's own events) goes through Append: there is one
// write path.
type EventStore interface {
	// Append stores events of one workspace atomically: all or none. It
	// returns only after the events are durable (fsync'd) and in the ledger.
	// An idempotency key names one event of one tenant (or of no tenant)
	// in the workspace. An event whose key was stored before with the same
	// content (ledger.AppendContent) is not stored again: its result is a
	// Duplicate naming the first event. With other content, in the store or
	// earlier in the same batch, nothing is stored and the error is
	// ECONFLICT, a detail on idempotency_key (with the index in a batch)
	// naming the first event's sequence. Errors: EINVALID for bad events
	// (details carry the index), ECONFLICT, EUNAVAILABLE when storage fails
	// or the queue is full.
	Append(ctx context.Context, workspace string, events []Event) ([]AppendResult, error)

	// Event returns one event; ENOTFOUND if it does not exist in the
	// workspace or lies outside tenantScope (when tenantScope is set).
	Event(ctx context.Context, workspace, tenantScope, id string) (Event, error)

	// Events answers a query, newest first.
	Events(ctx context.Context, q Query) (Page, error)
}

// KeyStore keeps API keys and workspaces.
type KeyStore interface {
	// EnsureWorkspace creates the workspace if it does not exist and
	// reports whether it did.
	EnsureWorkspace(ctx context.Context, name string) (created bool, err error)
	// CreateKey stores a key under the hash of its secret.
	CreateKey(ctx context.Context, k APIKey, hash []byte) error
	// KeyByHash returns the key with this hash; EUNAUTHORIZED if none.
	KeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	// Keys lists the keys of a workspace, oldest first.
	Keys(ctx context.Context, workspace string) ([]APIKey, error)
	// RevokeKey revokes a key of the workspace; ENOTFOUND if none.
	RevokeKey(ctx context.Context, workspace, id string) (APIKey, error)
}
