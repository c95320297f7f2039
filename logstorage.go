package vigil

import "context"

// LogRecord is one event as the log keeps it: the acknowledgement point of
// the write path. The engine builds it (sequence, canonical leaf, the tree
// hashes the leaf completes); a LogStorage only keeps it.
type LogRecord struct {
	Workspace string
	// Sequence is the event's place in its workspace's log, which is also
	// its Merkle leaf index.
	Sequence int64
	// Leaf is the canonical event (ledger.AppendEvent): the bytes its leaf
	// hash is computed from, and from which every projection is rebuilt
	// (ledger.ParseEvent).
	Leaf []byte
	// Hashes are the stored tree hashes this leaf completes, in the order
	// tlog.StoredHashesForRecordHash returns them: Hashes[l] is the hash of
	// the complete subtree of 2^l leaves that ends at this leaf, stored at
	// tlog.StoredHashIndex(l, Sequence>>l). Hashes[0] is the leaf hash.
	Hashes []Hash
	// IPFromConnection says the event's address is the connection's,
	// filled in by the server (vigil.Event.IPFromConnection). It is not in
	// the leaf, as it is not something the client sent; it is kept because
	// an idempotent retry is compared by what the client sent.
	IPFromConnection bool
	// Sealed is the encrypted payload of a sealed event's identifying
	// fields (a version 2 leaf; crypt.SealEvent), nil for a version 1
	// leaf. It is outside the leaf: the log verifies without any key,
	// and destroying the key leaves every hash and proof as it was.
	Sealed []byte
}

// LogStorage is the seam the engine writes through: the few methods a
// backend implements so that the engine (queueing, group commit,
// sequencing, hashing, back-pressure, projections) is written once. The
// embedded backend is a segment file (filelog); PostgreSQL is another.
// storetest.RunLogStorage is the conformance suite every backend passes.
type LogStorage interface {
	// Heads returns the size of every workspace's log that has a record.
	Heads(ctx context.Context) (map[string]int64, error)

	// Append stores records durably before it returns: after a nil error
	// they survive a crash of the process and of the machine (fsync). The
	// records of each workspace continue its log with no gap and in
	// order: the first has the workspace's current size as Sequence.
	// Otherwise Append stores nothing and returns ECONFLICT (another writer
	// moved the head: the fencing that makes two writers unable to fork a
	// log). A failure returns an error wrapping the cause; then nothing of
	// the call may be visible to Read after a restart, or all of it.
	Append(ctx context.Context, records []LogRecord) error

	// Read returns up to limit records of a workspace from sequence from
	// on, in order. Fewer than limit means the end of the log was reached.
	Read(ctx context.Context, workspace string, from int64, limit int) ([]LogRecord, error)

	// ReadHashes returns the stored tree hashes of a workspace at the
	// given tlog stored-hash indexes (tlog.StoredHashIndex), as the records
	// that completed them hold them; ENOTFOUND for an index not stored.
	ReadHashes(ctx context.Context, workspace string, indexes []int64) ([]Hash, error)

	// Close releases the storage; Append after Close fails.
	Close() error
}
