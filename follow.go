package vigil

import "context"

// EventLog is what a consumer that follows the log after the
// acknowledgement reads: each workspace's events in sequence order.
type EventLog interface {
	// Workspaces lists the workspaces, in creation order.
	Workspaces(ctx context.Context) ([]string, error)
	// LogSize returns the number of events in a workspace's log (the next
	// sequence to be assigned).
	LogSize(ctx context.Context, workspace string) (int64, error)
	// EventsFrom returns up to limit events of the workspace with sequence
	// at least from, in sequence order.
	EventsFrom(ctx context.Context, workspace string, from int64, limit int) ([]Event, error)
}

// CursorStore keeps the durable positions of the consumers that follow
// each workspace's log: the next sequence each has yet to handle.
type CursorStore interface {
	// Cursor returns the consumer's next sequence in the workspace; 0
	// when it has none yet.
	Cursor(ctx context.Context, consumer, workspace string) (int64, error)
	// SetCursor stores it durably; EINVALID for a negative position or
	// an empty consumer.
	SetCursor(ctx context.Context, consumer, workspace string, next int64) error
}
