package api

// Anchor is the read shape of an anchor in a listing: Immutable's fields.
// chain names the witness (rfc3161:<TSA URL> or witness:<name>); tx_hash
// is the SHA-256 of the witness's evidence; block_number and explorer_url
// are always null (no blockchain is involved).
type Anchor struct {
	ID                 string  `json:"id"`
	MerkleRoot         string  `json:"merkle_root"`
	PreviousAnchorHash *string `json:"previous_anchor_hash"`
	EventsCount        int64   `json:"events_count"`
	PeriodStart        *string `json:"period_start"`
	PeriodEnd          *string `json:"period_end"`
	Chain              string  `json:"chain"`
	Status             string  `json:"status"`
	TxHash             *string `json:"tx_hash"`
	BlockNumber        *int64  `json:"block_number"`
	ExplorerURL        *string `json:"explorer_url"`
	CreatedAt          string  `json:"created_at"`
}

// AnchorDetail is the read shape of one anchor: Immutable's detail
// (first_event_hash, last_event_hash) and what a verifier needs to check
// it without Vigil: the anchored signed checkpoint, its tree size, and
// the evidence (base64) with the time it attests.
type AnchorDetail struct {
	Anchor
	FirstEventHash *string `json:"first_event_hash"`
	LastEventHash  *string `json:"last_event_hash"`
	TreeSize       int64   `json:"tree_size"`
	Checkpoint     string  `json:"checkpoint"`
	Kind           string  `json:"kind"`
	Evidence       *string `json:"evidence"`
	EvidenceTime   *string `json:"evidence_time"`
	WitnessKey     *string `json:"witness_key"`
	Attempts       int     `json:"attempts"`
	LastError      *string `json:"last_error"`
}

// AnchorList answers GET /api/v1/anchors.
type AnchorList struct {
	Data       []Anchor   `json:"data"`
	Pagination Pagination `json:"pagination"`
}

// AnchorVerification answers GET /api/v1/anchors/{id}/verify: expected is
// the anchored root, actual the stored log's root at the anchor's size
// (null when the store has none); valid when they agree and the evidence
// verifies, chain_valid when the anchor is linked to its predecessor.
// problems says what failed.
type AnchorVerification struct {
	AnchorID    string   `json:"anchor_id"`
	MerkleRoot  string   `json:"merkle_root"`
	Valid       bool     `json:"valid"`
	ChainValid  bool     `json:"chain_valid"`
	Expected    string   `json:"expected"`
	Actual      *string  `json:"actual"`
	EventsCount int64    `json:"events_count"`
	Problems    []string `json:"problems"`
}
