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

// MaxLeavesPerRead bounds the events of one LeafRange, as MaxQueryLimit
// bounds a page of events.
const MaxLeavesPerRead = 100

// LeafRange is a stretch of a log as stored: the events with sequences in
// [From, To), and the stored roots of the complete subtrees that tile
// [0, From) and [To, TreeSize) (ledger.SubtreesOutside), left to right.
// From the events' leaves and those roots a verifier recomputes the root
// of the tree of TreeSize leaves and compares it with a signed checkpoint.
type LeafRange struct {
	TreeSize, From, To int64
	// Events are the rows found, in sequence order, as they are: a gap or
	// an altered row is for the verifier to find.
	Events []Event
	// Integrity holds each event's stored leaf hash and its
	// predecessor's; an empty string where none is stored.
	Integrity []Integrity
	Subtrees  []SubtreeHash
}

// SubtreeHash is the stored root of the complete subtree of 2^Level
// leaves [Index<<Level, (Index+1)<<Level); a zero Hash when none is
// stored.
type SubtreeHash struct {
	Level int
	Index int64
	Hash  Hash
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
	BreakWitnessRollback    = "witness_rollback"    // the checkpoint kept outside the database is missing or older than the database's
	BreakInconsistent       = "inconsistent"        // two checkpoints are not consistent (a fork)
	BreakAnchorMismatch     = "anchor_mismatch"     // the log disagrees with a root a witness outside Vigil attested
	BreakAnchorInvalid      = "anchor_invalid"      // an anchor's evidence does not verify
)

// BreakTypes lists every break type, the one taxonomy.
var BreakTypes = []string{BreakModified, BreakMissing, BreakReordered, BreakHashMismatch, BreakCheckpointMismatch,
	BreakSignatureInvalid, BreakTruncated, BreakRollback, BreakWitnessRollback, BreakInconsistent}

// BreakSummary counts the breaks verification has found in one
// workspace's log and recorded, by type. Evidence is kept, so it only
// grows.
type BreakSummary struct {
	Breaks int64
	Types  map[string]int64
}

// Findings is where what verification found (in the background, on
// request, or the store comparing its witness when it opens) is kept, so
// the evidence outlives the restoration of what it found.
type Findings interface {
	// FoundBreaks returns, by workspace, the breaks recorded so far;
	// a workspace without any is absent.
	FoundBreaks() map[string]BreakSummary
}

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
	// Leaves returns the events [from, to) of the tree of treeSize leaves
	// (the latest checkpoint's size when treeSize <= 0; to <= 0 means
	// from + MaxLeavesPerRead, within the tree) with what completes them
	// to its root.
	Leaves(ctx context.Context, workspace string, from, to, treeSize int64) (LeafRange, error)
}

// VerificationRun is the outcome of one full verification of a log.
type VerificationRun struct {
	FinishedAt    time.Time
	EventsChecked int64
	TreeSize      int64
	Valid         bool
	Breaks        []Break
}

// VerificationLog is a ledger that remembers its latest full verification
// (by its background verifier or on request).
type VerificationLog interface {
	// LastVerification returns the latest full verification of the
	// workspace's log; ENOTFOUND if it was never verified in full.
	LastVerification(ctx context.Context, workspace string) (VerificationRun, error)
}
