package vigil

import (
	"context"
	"encoding/hex"
	"time"
)

// Hash is a SHA-256 hash of the ledger (RFC 6962 leaf or interior hash).
type Hash [32]byte

// String returns the hash in lower-case hex, the form the API uses.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Checkpoint is a signed statement of a workspace log's size and root.
type Checkpoint struct {
	Origin    string
	Size      int64
	Root      Hash
	Note      []byte // the signed note (C2SP tlog-checkpoint) as served
	CreatedAt time.Time
}

// InclusionProof proves that the leaf at LeafIndex is in the tree of
// TreeSize leaves.
type InclusionProof struct {
	LeafIndex int64
	TreeSize  int64
	LeafHash  Hash
	Hashes    []Hash
}

// Break types name what verification found.
const (
	BreakModified           = "modified"            // a stored event no longer hashes to its leaf
	BreakMissing            = "missing"             // a sequence number has no event
	BreakReordered          = "reordered"           // events are out of their sequence order
	BreakHashMismatch       = "hash_mismatch"       // a stored tree node disagrees with its children
	BreakCheckpointMismatch = "checkpoint_mismatch" // the tree's root disagrees with a signed checkpoint
	BreakSignatureInvalid   = "signature_invalid"   // a checkpoint's signature does not verify
	BreakTruncated          = "truncated"           // the log is shorter than a checkpoint it signed
	BreakRollback           = "rollback"            // the log disagrees with the last checkpoint kept outside the database
	BreakInconsistent       = "inconsistent"        // two checkpoints are not consistent (a fork)
	BreakAnchorMismatch     = "anchor_mismatch"     // the log disagrees with a root a witness outside Vigil attested
	BreakAnchorInvalid      = "anchor_invalid"      // an anchor's evidence does not verify
)

// Break is one verification failure.
type Break struct {
	Type         string
	EventID      string
	Sequence     int64 // -1 when not about one event
	ExpectedHash string
	ActualHash   string
	Detail       string
}

// VerifyOptions bound a verification to sequences [From, To); To <= 0
// means the end of the log. Limit caps the number of events checked.
type VerifyOptions struct {
	From, To int64
	Limit    int64
}

// VerifyReport is the outcome of a verification.
type VerifyReport struct {
	Valid         bool
	EventsChecked int64
	TreeSize      int64
	Breaks        []Break
}

// Ledger is the tamper-evident view of the event log: one RFC 6962 Merkle
// tree per workspace, with signed checkpoints.
type Ledger interface {
	// Checkpoint returns the latest signed checkpoint, or the one kept for
	// size when size >= 0. ENOTFOUND if none.
	Checkpoint(ctx context.Context, workspace string, size int64) (Checkpoint, error)
	// Integrity returns, for each sequence, the leaf hashes of that event
	// and of its predecessor.
	Integrity(ctx context.Context, workspace string, sequences ...int64) ([]Integrity, error)
	// InclusionProof proves the leaf at sequence in the tree of treeSize
	// (the latest checkpoint's size when treeSize <= 0).
	InclusionProof(ctx context.Context, workspace string, sequence, treeSize int64) (InclusionProof, error)
	// ConsistencyProof proves the tree of size second extends the tree of
	// size first.
	ConsistencyProof(ctx context.Context, workspace string, first, second int64) ([]Hash, error)
	// Verify re-reads the stored events and tree and compares them with
	// the signed checkpoints.
	Verify(ctx context.Context, workspace string, opt VerifyOptions) (VerifyReport, error)
}
