package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigilhq/vigil"
)

// VerifyOptions are what a bundle's verifier trusts.
type VerifyOptions struct {
	// Key is the trusted verifier key. It overrides the key the bundle
	// names, and a bundle naming another is a break. Without it the
	// bundle's own key is used, which proves integrity only against the
	// bundle's own claims.
	Key string
	// Saved is a signed checkpoint kept from earlier, outside the log's
	// reach: the bundle's log must not be shorter and must agree with it.
	Saved []byte
	// CheckAnchor verifies an anchor's evidence over the body of its
	// checkpoint (package anchor's Verifier.Check does), reporting the
	// time it attests and whether it was checked against a trust anchor
	// the verifier was given. Without it anchors are reported unchecked
	// and prove nothing.
	CheckAnchor func(kind string, body, evidence []byte, witnessKey string) (at time.Time, trusted bool, err error)
}

// AnchorResult is what verification made of one anchor line.
type AnchorResult struct {
	Chain, Kind string
	TreeSize    int64
	Time        time.Time // what the evidence attests
	// Trusted: the evidence verified against a trust anchor the verifier
	// was given (a TSA CA, a witness key), not only against itself.
	Trusted bool
	// Compared: the anchored root was compared with the bundle's log (an
	// anchor below the range's start and not of a checkpoint's size
	// cannot be).
	Compared bool
	// Problem says why the anchor proves nothing; empty when it verified.
	Problem string
}

// Report is the outcome of verifying a bundle.
type Report struct {
	Valid              bool // no breaks at all
	Origin             string
	From, To           int64 // the range of events the bundle covers
	TreeSize           int64
	EventsChecked      int64
	CheckpointsChecked int  // checkpoints whose signature verified
	KeyFromBundle      bool // no trusted key was given
	Anchors            []AnchorResult
	Breaks             []vigil.Break
	BreaksOmitted      int64 // breaks beyond the first maxBreaks, counted only
}

// maxBreaks bounds a report, so a wholly corrupted bundle of millions of
// events still verifies in bounded memory.
const maxBreaks = 1000

// VerifyBundle checks a bundle with no server and no database, in one pass
// over its lines and O(log n) memory (plus 48 bytes per checkpoint it
// carries). It checks that:
//
//   - every checkpoint is signed by the trusted key for the bundle's origin
//     (signature_invalid), by increasing size, the last of the tree size;
//   - each consecutive pair is linked by a consistency proof (inconsistent);
//   - every event line is a version 1 leaf in its canonical form
//     (modified) with the sequence of its place (missing, reordered), and
//     created_at increases;
//   - the root recomputed from the leaves and the subtrees is the signed
//     root of the tree size, and every checkpoint of a size within
//     [From, To] has the root of the leaves up to it (checkpoint_mismatch);
//   - the saved checkpoint and the bundle's witness are not beyond the tree
//     size (rollback) and agree with the log at their size (rollback), or
//     a break says why that cannot be shown (inconsistent);
//   - each anchor's checkpoint is signed by the trusted key, its evidence
//     verifies (anchor_invalid), it is not beyond the tree size
//     (rollback), and the log has the anchored root at its size
//     (anchor_mismatch): a log rewritten and re-signed with the key keeps
//     its signatures but not the roots witnessed outside it.
//
// Problems with the log are breaks in the report; an error means the input
// is not a bundle (*BundleError) or could not be read.
func VerifyBundle(r io.Reader, opts VerifyOptions) (*Report, error) {
	lr := newLineReader(r)
	line, err := lr.next()
	if err != nil {
		if err == io.EOF {
			return nil, &BundleError{Line: 1, Msg: "no header line"}
		}
		return nil, err
	}
	h, err := parseHeader(line)
	if err != nil {
		return nil, err
	}
	v := newVerifier(h, opts)
	for t, err := range typedLines(lr, h) {
		if err != nil {
			return nil, err
		}
		if t.kind != kindCheckpoint {
			v.checkpointsDone()
		}
		v.typed(t)
	}
	v.checkpointsDone()
	v.headerDone(opts.Saved)
	for v.rep.EventsChecked < h.Evs {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		v.event(line)
	}
	extra := 0
	for {
		if _, err := lr.next(); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		extra++
	}
	v.end(extra)
	return v.rep, nil
}

// signedSize is what the verifier keeps of each checkpoint line.
type signedSize struct {
	size  int64
	root  vigil.Hash
	valid bool // signed by the trusted key for this origin
}

type verifier struct {
	rep   *Report
	h     bundleHeader
	key   string
	check func(kind string, body, evidence []byte, witnessKey string) (time.Time, bool, error)

	checkpoints []signedSize // by increasing size; invalid ones keep their claimed size
	cpLines     int          // checkpoint lines read
	cpDone      bool         // all checkpoint lines are read
	proofPairs  int          // consistency proofs matched or found missing so far
	cursor      int          // next checkpoint to compare with the recomputed root
	lastGood    int64        // the largest size at which the root matched; -1 if none yet
	pinned      []pinnedRoot // saved and witness checkpoints to compare on the way

	frontier Frontier
	subtrees int           // subtree lines seen
	wantSubs []Subtree     // SubtreesOutside(From, To, TreeSize)
	right    []SubtreeHash // the subtrees after To, applied after the events
	rootless bool          // the subtrees are not the ones needed: no root can be recomputed

	next        int64      // the sequence expected next
	pending     []seqRange // sequences skipped so far, not yet seen: missing unless they turn up
	lastCreated time.Time
	leaf        leafReader // reused from line to line
	buf         []byte

	// served: the events are a server's answer for the range, not a
	// file's lines (CheckRange), so one absent is missing, not truncated.
	served bool
}

// pinnedRoot is a root attested outside the log: a checkpoint the user
// saved, the exporter's witness file, or an anchor.
type pinnedRoot struct {
	what     string // what attests it, as a noun phrase
	size     int64
	root     vigil.Hash
	mismatch string // the break type when the log disagrees
	anchor   int    // index in Report.Anchors, or -1
}

func newVerifier(h bundleHeader, opts VerifyOptions) *verifier {
	v := &verifier{
		rep: &Report{Origin: h.Origin, From: h.From, To: h.To, TreeSize: h.TreeSize},
		h:   h, key: opts.Key, check: opts.CheckAnchor, lastGood: -1, next: h.From,
		wantSubs: SubtreesOutside(h.From, h.To, h.TreeSize),
	}
	if h.From == 0 {
		v.lastGood = 0 // the empty tree needs no checking
	}
	switch {
	case v.key == "":
		v.key, v.rep.KeyFromBundle = h.VerifierKey, true
	case h.VerifierKey != opts.Key:
		v.add(vigil.Break{Type: vigil.BreakSignatureInvalid, Sequence: -1,
			Detail: "the bundle names verifier key " + h.VerifierKey + ", not the trusted one"})
	}
	return v
}

func (v *verifier) add(b vigil.Break) {
	if len(v.rep.Breaks) >= maxBreaks {
		v.rep.BreaksOmitted++
		return
	}
	v.rep.Breaks = append(v.rep.Breaks, b)
}

func (v *verifier) typed(t typedLine) {
	switch t.kind {
	case kindCheckpoint:
		v.checkpoint(t.note)
	case kindConsistency:
		v.consistency(t.proof)
	case kindSubtree:
		v.subtree(t.subtree)
	case kindWitness:
		v.pin("the witness checkpoint", t.note)
	case kindAnchor:
		v.anchor(t.anchor)
	case kindFinding:
		f := t.finding
		f.Detail = "found by the exporter: " + f.Detail
		v.add(f)
	}
}

func (v *verifier) checkpoint(note []byte) {
	v.cpLines++
	cp, err := Open(note, v.key)
	s := signedSize{size: cp.Size, root: cp.Root, valid: err == nil}
	if err != nil {
		claimed, root, ok := peekCheckpoint(note)
		v.add(vigil.Break{Type: vigil.BreakSignatureInvalid, Sequence: -1, ActualHash: root.String(),
			Detail: fmt.Sprintf("checkpoint line %d (claiming size %d): %v", v.cpLines, claimed, err)})
		if !ok {
			return // nothing to place it by
		}
		s.size, s.root = claimed, root
	} else if cp.Origin != v.h.Origin {
		v.add(vigil.Break{Type: vigil.BreakCheckpointMismatch, Sequence: -1,
			Detail: fmt.Sprintf("a checkpoint of log %q in a bundle of %q", cp.Origin, v.h.Origin)})
		s.valid = false
	}
	if n := len(v.checkpoints); n > 0 && s.size <= v.checkpoints[n-1].size {
		v.add(vigil.Break{Type: vigil.BreakReordered, Sequence: -1,
			Detail: fmt.Sprintf("a checkpoint of size %d after one of size %d", s.size, v.checkpoints[n-1].size)})
		return
	}
	if s.size > v.h.TreeSize {
		v.add(vigil.Break{Type: vigil.BreakCheckpointMismatch, Sequence: -1,
			Detail: fmt.Sprintf("a checkpoint of size %d beyond the bundle's tree size %d", s.size, v.h.TreeSize)})
		return
	}
	if s.valid && s.size == 0 && s.root != EmptyRoot() {
		v.add(vigil.Break{Type: vigil.BreakCheckpointMismatch, Sequence: -1, ExpectedHash: EmptyRoot().String(),
			ActualHash: s.root.String(), Detail: "a checkpoint of the empty tree with another root"})
		s.valid = false
	}
	if s.valid {
		v.rep.CheckpointsChecked++
	}
	v.checkpoints = append(v.checkpoints, s)
}

func (v *verifier) checkpointsDone() {
	if v.cpDone {
		return
	}
	v.cpDone = true
	if n := len(v.checkpoints); n == 0 || v.checkpoints[n-1].size != v.h.TreeSize || !v.checkpoints[n-1].valid {
		v.add(vigil.Break{Type: vigil.BreakCheckpointMismatch, Sequence: -1,
			Detail: fmt.Sprintf("no valid checkpoint of the bundle's tree size %d", v.h.TreeSize)})
	}
}

// consistency checks one proof line. Proofs come in the order of the
// checkpoint pairs they link; a pair passed over has none.
func (v *verifier) consistency(p ConsistencyProof) {
	for v.proofPairs+1 < len(v.checkpoints) {
		a, b := v.checkpoints[v.proofPairs], v.checkpoints[v.proofPairs+1]
		// An invalid checkpoint's size is only claimed: a proof that fits
		// the pair otherwise is taken as its proof, and not checked.
		if (a.size == p.First || !a.valid) && (b.size == p.Second || !b.valid) {
			v.proofPairs++
			if a.valid && b.valid {
				if err := CheckConsistency(p.Hashes, a.size, a.root, b.size, b.root); err != nil {
					v.add(vigil.Break{Type: vigil.BreakInconsistent, Sequence: -1, ExpectedHash: a.root.String(), ActualHash: b.root.String(),
						Detail: fmt.Sprintf("the checkpoint of %d events does not extend the one of %d: a fork", b.size, a.size)})
				}
			}
			return
		}
		if a.size > p.First {
			break
		}
		v.missingProof(a, b)
		v.proofPairs++
	}
	v.add(vigil.Break{Type: vigil.BreakInconsistent, Sequence: -1,
		Detail: fmt.Sprintf("a consistency proof from %d to %d, which are not consecutive checkpoints", p.First, p.Second)})
}

func (v *verifier) missingProof(a, b signedSize) {
	if a.size == 0 || !a.valid || !b.valid {
		return // every tree extends the empty one; invalid ones are reported
	}
	v.add(vigil.Break{Type: vigil.BreakInconsistent, Sequence: -1,
		Detail: fmt.Sprintf("no consistency proof from the checkpoint of %d events to the one of %d", a.size, b.size)})
}

func (v *verifier) subtree(s SubtreeHash) {
	i := v.subtrees
	v.subtrees++
	if i >= len(v.wantSubs) || v.wantSubs[i] != s.Subtree {
		if !v.rootless {
			v.add(vigil.Break{Type: vigil.BreakHashMismatch, Sequence: -1,
				Detail: fmt.Sprintf("subtree line %d (level %d, index %d) is not the one the range needs", i+1, s.Level, s.Index)})
		}
		v.rootless = true
		return
	}
	if s.Start() < v.h.From {
		v.frontier.AppendSubtree(s.Level, s.Hash)
	} else {
		v.right = append(v.right, s)
	}
}

// pin checks a checkpoint kept outside the log (saved by the user, or the
// exporter's witness) against the bundle.
func (v *verifier) pin(what string, note []byte) {
	cp, err := Open(note, v.key)
	switch {
	case err != nil:
		v.add(vigil.Break{Type: vigil.BreakSignatureInvalid, Sequence: -1, Detail: what + ": " + err.Error()})
	case cp.Origin != v.h.Origin:
		v.add(vigil.Break{Type: vigil.BreakInconsistent, Sequence: -1,
			Detail: fmt.Sprintf("%s is of log %q, the bundle of %q", what, cp.Origin, v.h.Origin)})
	case cp.Size > v.h.TreeSize:
		v.add(vigil.Break{Type: vigil.BreakRollback, Sequence: -1, ExpectedHash: cp.Root.String(),
			Detail: fmt.Sprintf("%s covers %d events; this log has %d: it was rolled back or truncated", what, cp.Size, v.h.TreeSize)})
	default:
		v.pinned = append(v.pinned, pinnedRoot{what, cp.Size, cp.Root, vigil.BreakRollback, -1})
	}
}

// anchor checks an anchor line: a checkpoint of this log signed by the
// trusted key, and evidence of it from a witness outside the log. Its root
// is then pinned like a saved checkpoint's.
func (v *verifier) anchor(a BundleAnchor) {
	res := AnchorResult{Chain: a.Chain, Kind: a.Kind}
	defer func() { v.rep.Anchors = append(v.rep.Anchors, res) }()
	cp, err := Open(a.Checkpoint, v.key)
	if err != nil {
		res.TreeSize, _, _ = peekCheckpoint(a.Checkpoint)
		res.Problem = "its checkpoint does not open with the trusted key: " + err.Error()
		v.add(vigil.Break{Type: vigil.BreakSignatureInvalid, Sequence: -1, Detail: fmt.Sprintf("the %s anchor: %v", a.Chain, err)})
		return
	}
	res.TreeSize = cp.Size
	if cp.Origin != v.h.Origin {
		res.Problem = fmt.Sprintf("it anchors log %q", cp.Origin)
		v.add(vigil.Break{Type: vigil.BreakInconsistent, Sequence: -1,
			Detail: fmt.Sprintf("the %s anchor is of log %q, the bundle of %q", a.Chain, cp.Origin, v.h.Origin)})
		return
	}
	if v.check == nil {
		res.Problem = "its evidence was not checked"
		return
	}
	at, trusted, err := v.check(a.Kind, CheckpointBody(a.Checkpoint), a.Evidence, a.WitnessKey)
	if err != nil {
		res.Problem = err.Error()
		v.add(vigil.Break{Type: vigil.BreakAnchorInvalid, Sequence: -1, ExpectedHash: cp.Root.String(),
			Detail: fmt.Sprintf("the %s anchor of %d events: %v", a.Chain, cp.Size, err)})
		return
	}
	res.Time, res.Trusted = at, trusted
	what := fmt.Sprintf("the root %s attested at %s", a.Chain, at.UTC().Format(time.RFC3339))
	if cp.Size > v.h.TreeSize {
		res.Compared = true
		v.add(vigil.Break{Type: vigil.BreakRollback, Sequence: -1, ExpectedHash: cp.Root.String(),
			Detail: fmt.Sprintf("%s covers %d events; this log has %d: it was rolled back or truncated", what, cp.Size, v.h.TreeSize)})
		return
	}
	v.pinned = append(v.pinned, pinnedRoot{what, cp.Size, cp.Root, vigil.BreakAnchorMismatch, len(v.rep.Anchors)})
}

// headerDone runs when every typed line is in: the checkpoints are known,
// so the saved checkpoint can be placed, and the tree stands at From.
func (v *verifier) headerDone(saved []byte) {
	for v.proofPairs+1 < len(v.checkpoints) {
		v.missingProof(v.checkpoints[v.proofPairs], v.checkpoints[v.proofPairs+1])
		v.proofPairs++
	}
	if v.subtrees != len(v.wantSubs) && !v.rootless {
		v.add(vigil.Break{Type: vigil.BreakHashMismatch, Sequence: -1,
			Detail: fmt.Sprintf("%d subtree lines; the range needs %d", v.subtrees, len(v.wantSubs))})
		v.rootless = true
	}
	if len(saved) > 0 {
		v.pin(savedWhat, saved)
	}
	kept := v.pinned[:0]
	for _, p := range v.pinned {
		switch cp, ok := v.checkpointOfSize(p.size); {
		case ok:
			v.compared(p)
			if cp.root != p.root {
				v.add(vigil.Break{Type: p.mismatch, Sequence: -1, ExpectedHash: p.root.String(), ActualHash: cp.root.String(),
					Detail: fmt.Sprintf("the log of %d events differs from %s: it was rewritten", p.size, p.what)})
			}
		case !v.rootless && v.h.From <= p.size && p.size <= v.h.To:
			kept = append(kept, p) // compared as the events pass its size
		case p.what == savedWhat:
			v.add(vigil.Break{Type: vigil.BreakInconsistent, Sequence: -1,
				Detail: fmt.Sprintf("the bundle cannot show that it extends the saved checkpoint of %d events: export a range that contains that size", p.size)})
		}
		// A witness or an anchor the range cannot reach proves nothing
		// either way.
	}
	v.pinned = kept
	if !v.rootless && v.frontier.Size() == v.h.From {
		v.atSize()
	}
}

// savedWhat names the user's saved checkpoint among the pinned roots.
const savedWhat = "the saved checkpoint"

// compared notes that an anchor's root was compared with the log.
func (v *verifier) compared(p pinnedRoot) {
	if p.anchor >= 0 {
		v.rep.Anchors[p.anchor].Compared = true
	}
}

func (v *verifier) checkpointOfSize(size int64) (signedSize, bool) {
	for _, c := range v.checkpoints {
		if c.size == size && c.valid {
			return c, true
		}
	}
	return signedSize{}, false
}

// atSize compares the recomputed root with every checkpoint of the
// frontier's size.
func (v *verifier) atSize() {
	if v.rootless {
		return
	}
	size := v.frontier.Size()
	for v.cursor < len(v.checkpoints) && v.checkpoints[v.cursor].size < size {
		v.cursor++
	}
	for _, p := range v.pinned {
		if p.size == size {
			v.compared(p)
			if root := v.frontier.Root(); root != p.root {
				v.add(vigil.Break{Type: p.mismatch, Sequence: -1, ExpectedHash: p.root.String(), ActualHash: root.String(),
					Detail: fmt.Sprintf("the log of %d events differs from %s: it was rewritten", size, p.what)})
			}
		}
	}
	if v.cursor == len(v.checkpoints) || v.checkpoints[v.cursor].size != size || !v.checkpoints[v.cursor].valid {
		return
	}
	cp, root := v.checkpoints[v.cursor], v.frontier.Root()
	if cp.root == root {
		v.lastGood = size
		return
	}
	where := fmt.Sprintf("before sequence %d", size)
	if v.lastGood >= 0 {
		where = fmt.Sprintf("in sequences [%d, %d)", v.lastGood, size)
	}
	if v.lastGood < 0 {
		where += " (in the range's events or in the subtrees before it)"
	}
	v.add(vigil.Break{Type: vigil.BreakCheckpointMismatch, Sequence: -1, ExpectedHash: cp.root.String(), ActualHash: root.String(),
		Detail: fmt.Sprintf("the tree of %d events does not have the signed root: a change lies %s", size, where)})
}

// event checks one event line, the next in the bundle.
func (v *verifier) event(line []byte) {
	place := v.h.From + v.rep.EventsChecked
	v.rep.EventsChecked++
	leaf := LeafHash(line)
	v.frontier.push(0, TlogHash(leaf), nil)
	defer v.atSize()
	e, err := v.leaf.read(line)
	if err != nil {
		v.add(vigil.Break{Type: vigil.BreakModified, EventID: peekID(line), Sequence: place, ActualHash: leaf.String(),
			Detail: "not an event leaf: " + err.Error()})
		v.next++ // it takes a place; which one is unknown
		return
	}
	v.buf = AppendEvent(v.buf[:0], &e)
	if !bytes.Equal(v.buf, line) {
		v.add(vigil.Break{Type: vigil.BreakModified, EventID: e.ID, Sequence: place, ActualHash: leaf.String(),
			Detail: "the line is not the canonical form of its event"})
	}
	v.sequence(&e, place)
	// The store makes created_at strictly increase along the sequence, so
	// a reordering that kept the sequence numbers still shows.
	if v.rep.EventsChecked > 1 && !e.CreatedAt.After(v.lastCreated) {
		v.add(vigil.Break{Type: vigil.BreakReordered, EventID: e.ID, Sequence: place, Detail: "created_at is not after the previous event's"})
	}
	v.lastCreated = e.CreatedAt
}

// peekID finds the id of a line that is not a valid leaf, if it still has
// one, so the break can name the event.
func peekID(line []byte) string {
	p := parser{in: line}
	var id string
	p.members(func(name []byte) error {
		if string(name) == "id" {
			id, _ = p.stringValue()
			return errFound
		}
		_, err := p.value(nil)
		return err
	})
	return id
}

var errFound = errors.New("found")
