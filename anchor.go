package vigil

import (
	"context"
	"crypto/sha256"
	"time"
)

// Anchor kinds: the kind of evidence an external witness gives.
const (
	// AnchorRFC3161 is an RFC 3161 time-stamp token (DER) from a time-stamp
	// authority over SHA-256 of the checkpoint body.
	AnchorRFC3161 = "rfc3161"
	// AnchorCosignature is a C2SP tlog-cosignature (cosignature/v1,
	// Ed25519) note signature line from a tlog-witness.
	AnchorCosignature = "cosignature/v1"
)

// Anchor statuses, in the order an anchor passes through them.
const (
	AnchorPending   = "pending"   // recorded; not yet sent, or to be sent again
	AnchorSubmitted = "submitted" // sent to the witness, answer not yet kept
	AnchorConfirmed = "confirmed" // the evidence is kept and verified
	AnchorFailed    = "failed"    // the witness refused, or gave up on
)

// Anchor is one checkpoint of a workspace's log sent to one external
// witness, with the evidence it gave back. The checkpoint's root covers the
// whole log up to TreeSize; the anchor newly covers the events
// [FromSequence, TreeSize), those after the previous confirmed anchor of
// the same chain.
type Anchor struct {
	ID        string // UUIDv7
	Workspace string
	// Chain names the witness: "rfc3161:<TSA URL>" or "witness:<name>".
	Chain string
	Kind  string // AnchorRFC3161 or AnchorCosignature
	// Checkpoint is the signed note anchored; TreeSize and Root are its.
	Checkpoint []byte
	TreeSize   int64
	Root       Hash
	// Previous is the previous confirmed anchor of the chain, if any: its
	// id, its hash (AnchorHash) and its tree size.
	PreviousID   string
	PreviousHash *Hash
	FromSequence int64
	// The events newly covered: their count is TreeSize - FromSequence,
	// their created_at range and the leaf hashes of the first and the last.
	PeriodStart, PeriodEnd        time.Time
	FirstEventHash, LastEventHash *Hash

	Status string
	// Evidence is what the witness gave: the DER time-stamp token, or the
	// cosignature line. EvidenceTime is the time it attests.
	Evidence     []byte
	EvidenceTime time.Time
	// WitnessKey is the verifier key the cosignature was checked with.
	WitnessKey string
	Attempts   int
	NextTry    time.Time // when a pending anchor is sent again
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// EvidenceHash is SHA-256 of the evidence (the API's tx_hash).
func (a Anchor) EvidenceHash() Hash { return sha256.Sum256(a.Evidence) }

// EventsCount is the number of events the anchor newly covers.
func (a Anchor) EventsCount() int64 { return a.TreeSize - a.FromSequence }

// AnchorQuery lists a workspace's anchors, newest first.
type AnchorQuery struct {
	Workspace string
	Before    string // the cursor: anchors with an id before this one
	Limit     int
}

// AnchorPage is one page of anchors; Next is the cursor of the next page
// when HasMore.
type AnchorPage struct {
	Anchors []Anchor
	Total   int64
	HasMore bool
	Next    string
}

// AnchorStore keeps anchors. Settled anchors (confirmed, failed) never
// change; the store refuses to alter an anchor's checkpoint or evidence.
type AnchorStore interface {
	// CreateAnchor stores a new anchor, assigning its ID and times.
	CreateAnchor(ctx context.Context, a Anchor) (Anchor, error)
	// UpdateAnchor stores a's status, evidence, attempts, next try and last
	// error; ECONFLICT if the anchor is settled.
	UpdateAnchor(ctx context.Context, a Anchor) (Anchor, error)
	// Anchor returns one anchor; ENOTFOUND if the workspace has none by
	// that id.
	Anchor(ctx context.Context, workspace, id string) (Anchor, error)
	// Anchors answers a query, newest first.
	Anchors(ctx context.Context, q AnchorQuery) (AnchorPage, error)
	// LatestAnchor returns the chain's newest anchor, or its newest
	// confirmed one when confirmed is set; ENOTFOUND if none.
	LatestAnchor(ctx context.Context, workspace, chain string, confirmed bool) (Anchor, error)
	// AnchorsThrough lists the confirmed anchors of a workspace whose tree
	// size is at most treeSize, by increasing tree size (for bundles).
	AnchorsThrough(ctx context.Context, workspace string, treeSize int64) ([]Anchor, error)
}

// AnchorVerification is what GET /api/v1/anchors/{id}/verify answers:
// whether the anchored root is the stored log's root at its size (Expected
// is the anchored root, Actual the store's) and the evidence verifies
// (Valid), and whether the anchor is linked to its predecessor of the chain
// (ChainValid).
type AnchorVerification struct {
	AnchorID    string
	Root        Hash
	Valid       bool
	ChainValid  bool
	Expected    Hash
	Actual      *Hash // nil when the store cannot compute the root
	EventsCount int64
	// Problems says what failed, one line each.
	Problems []string
}

// AnchorService is what the API needs of anchoring: the stored anchors,
// their verification against the stored log, and anchoring on demand.
type AnchorService interface {
	Anchors(ctx context.Context, q AnchorQuery) (AnchorPage, error)
	Anchor(ctx context.Context, workspace, id string) (Anchor, error)
	VerifyAnchor(ctx context.Context, workspace, id string) (AnchorVerification, error)
	// AnchorNow sends the workspace's latest checkpoint to every configured
	// witness that has not seen it, waits for their answers, and returns
	// the anchors made (none when every witness has seen it).
	// EUNAVAILABLE when no witness is configured.
	AnchorNow(ctx context.Context, workspace string) ([]Anchor, error)
}
