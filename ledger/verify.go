package ledger

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyOptions are what the verifier trusts.
type VerifyOptions struct {
	// Key is the trusted verifier key. When empty, the key named in the
	// bundle is used, which proves integrity only against the bundle's
	// own claims.
	Key string
	// Saved is a signed checkpoint kept from earlier: the bundle's log
	// must be consistent with it and not shorter.
	Saved []byte
}

// Report is the outcome of verifying a bundle.
type Report struct {
	Valid         bool
	Origin        string
	TreeSize      int64
	EventsChecked int64
	KeyFromBundle bool // no trusted key was given
	Breaks        []vigil.Break
}

// maxLine bounds one line of a bundle: an event is at most
// vigil.MaxEventBytes of input, a little more once canonical.
const maxLine = 4 << 20

// BundleError reports a bundle too malformed to verify at all.
type BundleError struct{ Msg string }

func (e *BundleError) Error() string { return "ledger: bundle: " + e.Msg }

// VerifyBundle checks a bundle with no server and no database: every leaf
// is canonical and in sequence, the root recomputed from leaves and
// subtrees is the one the last checkpoint signed, every checkpoint's
// signature holds, consecutive checkpoints are consistent, and the log
// extends the saved (or witness) checkpoint. It holds O(log n) memory and
// one line at a time. Problems with the log are Breaks in the report;
// an error means the input is not a bundle.
func VerifyBundle(r io.Reader, opts VerifyOptions) (*Report, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	readLine := func() ([]byte, error) {
		var line []byte
		for {
			chunk, err := br.ReadSlice('\n')
			line = append(line, chunk...)
			if len(line) > maxLine {
				return nil, &BundleError{"a line longer than 4 MiB"}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil && len(line) == 0 {
				return nil, err
			}
			return bytes.TrimSuffix(line, []byte("\n")), nil
		}
	}
	first, err := readLine()
	if err != nil {
		return nil, &BundleError{"no header"}
	}
	var hdr bundleHeader
	if err := strictJSON(first, &hdr); err != nil || hdr.Bundle != BundleFormat {
		return nil, &BundleError{fmt.Sprintf("the first line is not a %s header", BundleFormat)}
	}
	if hdr.From < 0 || hdr.To < hdr.From || hdr.TreeSize < hdr.To || hdr.Events != hdr.To-hdr.From ||
		hdr.Checkpoints < 1 || hdr.ConsistencyProofs < 0 || hdr.Subtrees < 0 || hdr.Findings < 0 {
		return nil, &BundleError{"the header's ranges and counts are inconsistent"}
	}
	v := &bundleVerifier{rep: &Report{Origin: hdr.Origin, TreeSize: hdr.TreeSize}, hdr: hdr, key: opts.Key, frontier: NewFrontier()}
	if v.key == "" {
		v.key, v.rep.KeyFromBundle = hdr.VerifierKey, true
	} else if hdr.VerifierKey != opts.Key {
		v.add(vigil.Break{Type: vigil.BreakSignatureInvalid, Sequence: -1, Detail: "the bundle names another verifier key than the trusted one"})
	}
	for range hdr.Checkpoints {
		line, err := readLine()
		if err != nil {
			return nil, &BundleError{"fewer checkpoint lines than the header counts"}
		}
		var c checkpointLine
		if err := strictJSON(line, &c); err != nil {
			return nil, &BundleError{"a malformed checkpoint line"}
		}
		v.checkpoint([]byte(c.Checkpoint))
	}
	proofs := map[[2]int64][]tlog.Hash{}
	for range hdr.ConsistencyProofs {
		line, err := readLine()
		if err != nil {
			return nil, &BundleError{"fewer consistency lines than the header counts"}
		}
		var p proofLine
		if err := strictJSON(line, &p); err != nil {
			return nil, &BundleError{"a malformed consistency line"}
		}
		hs, err := parseHashes(p.Consistency.Hashes)
		if err != nil {
			return nil, &BundleError{"a malformed consistency proof: " + err.Error()}
		}
		proofs[[2]int64{p.Consistency.First, p.Consistency.Second}] = hs
	}
	v.checkConsistency(proofs)
	want := SubtreesOutside(hdr.From, hdr.To, hdr.TreeSize)
	var right []SubtreeHash
	for i := range hdr.Subtrees {
		line, err := readLine()
		if err != nil {
			return nil, &BundleError{"fewer subtree lines than the header counts"}
		}
		var s subtreeLine
		if err := strictJSON(line, &s); err != nil {
			return nil, &BundleError{"a malformed subtree line"}
		}
		hs, err := parseHashes([]string{s.Subtree.Hash})
		if err != nil {
			return nil, &BundleError{"a malformed subtree hash"}
		}
		st := SubtreeHash{Subtree{s.Subtree.Level, s.Subtree.Index}, vigil.Hash(hs[0])}
		if i >= len(want) || want[i] != st.Subtree {
			v.add(vigil.Break{Type: vigil.BreakHashMismatch, Sequence: -1, Detail: fmt.Sprintf("subtree %d/%d is not the one this range needs", st.Level, st.Index)})
			continue
		}
		if st.Index<<st.Level < hdr.From {
			v.frontier.AppendSubtree(st.Level, st.Hash)
		} else {
			right = append(right, st)
		}
	}
	for range hdr.Findings {
		line, err := readLine()
		if err != nil {
			return nil, &BundleError{"fewer finding lines than the header counts"}
		}
		var f findingLine
		if err := strictJSON(line, &f); err != nil {
			return nil, &BundleError{"a malformed finding line"}
		}
		fj := f.Finding
		v.add(vigil.Break{Type: fj.Type, Sequence: fj.Sequence, EventID: fj.EventID, ExpectedHash: fj.ExpectedHash,
			ActualHash: fj.ActualHash, Detail: "found by the exporter: " + fj.Detail})
	}
	if hdr.Subtrees != len(want) {
		v.add(vigil.Break{Type: vigil.BreakHashMismatch, Sequence: -1, Detail: fmt.Sprintf("%d subtrees given, the range needs %d", hdr.Subtrees, len(want))})
	}
	v.saved(opts.Saved, "saved")
	v.saved([]byte(hdr.Witness), "witness")
	if hdr.From == 0 {
		v.atSize(0)
	}
	for i := int64(0); i < hdr.Events; i++ {
		line, err := readLine()
		if err != nil {
			v.add(vigil.Break{Type: vigil.BreakTruncated, Sequence: hdr.From + i,
				Detail: fmt.Sprintf("the bundle ends after %d of %d events", i, hdr.Events)})
			break
		}
		v.event(hdr.From+i, line)
	}
	if v.frontier.Size() == hdr.To {
		for _, st := range right {
			v.frontier.AppendSubtree(st.Level, st.Hash)
		}
		if v.frontier.Size() == hdr.TreeSize && (hdr.From > 0 || hdr.To < hdr.TreeSize) {
			v.atSize(hdr.TreeSize)
		}
	}
	if _, err := readLine(); err == nil {
		v.add(vigil.Break{Type: vigil.BreakModified, Sequence: -1, Detail: "lines after the last event"})
	}
	v.rep.Valid = len(v.rep.Breaks) == 0
	return v.rep, nil
}

type bundleVerifier struct {
	rep         *Report
	hdr         bundleHeader
	key         string
	frontier    *Frontier
	checkpoints []vigil.Checkpoint // verified, by size
	expect      []vigil.Checkpoint // roots to compare as the stream passes their size
	lastCreated []byte
}

func (v *bundleVerifier) add(b vigil.Break) {
	if len(v.rep.Breaks) < 1000 {
		v.rep.Breaks = append(v.rep.Breaks, b)
	}
}

func (v *bundleVerifier) checkpoint(note []byte) {
	cp, err := Open(note, v.key)
	if err != nil {
		v.add(vigil.Break{Type: vigil.BreakSignatureInvalid, Sequence: -1, Detail: err.Error()})
		return
	}
	if cp.Origin != v.hdr.Origin {
		v.add(vigil.Break{Type: vigil.BreakCheckpointMismatch, Sequence: -1, Detail: fmt.Sprintf("a checkpoint of log %q in a bundle of %q", cp.Origin, v.hdr.Origin)})
		return
	}
	if n := len(v.checkpoints); n > 0 && cp.Size <= v.checkpoints[n-1].Size {
		v.add(vigil.Break{Type: vigil.BreakReordered, Sequence: -1, Detail: "checkpoints out of size order"})
		return
	}
	v.checkpoints = append(v.checkpoints, cp)
	if (v.hdr.From == 0 && cp.Size <= v.hdr.To) || cp.Size == v.hdr.TreeSize {
		v.expect = append(v.expect, cp)
	}
}

func (v *bundleVerifier) checkConsistency(proofs map[[2]int64][]tlog.Hash) {
	if n := len(v.checkpoints); n == 0 || v.checkpoints[n-1].Size != v.hdr.TreeSize {
		v.add(vigil.Break{Type: vigil.BreakCheckpointMismatch, Sequence: -1, Detail: fmt.Sprintf("no valid checkpoint of the bundle's tree size %d", v.hdr.TreeSize)})
	}
	for i := 1; i < len(v.checkpoints); i++ {
		a, b := v.checkpoints[i-1], v.checkpoints[i]
		if a.Size == 0 {
			continue // every tree extends the empty one
		}
		p, ok := proofs[[2]int64{a.Size, b.Size}]
		if !ok {
			v.add(vigil.Break{Type: vigil.BreakInconsistent, Sequence: -1, Detail: fmt.Sprintf("no consistency proof from %d to %d", a.Size, b.Size)})
			continue
		}
		if err := tlog.CheckTree(p, b.Size, TlogHash(b.Root), a.Size, TlogHash(a.Root)); err != nil {
			v.add(vigil.Break{Type: vigil.BreakInconsistent, Sequence: -1, ExpectedHash: a.Root.String(), ActualHash: b.Root.String(),
				Detail: fmt.Sprintf("the checkpoint of %d events does not extend the one of %d: %v", b.Size, a.Size, err)})
		}
	}
}

// saved checks a checkpoint kept elsewhere: the log must not be shorter,
// and its root at that size must match.
func (v *bundleVerifier) saved(note []byte, what string) {
	if len(note) == 0 {
		return
	}
	cp, err := Open(note, v.key)
	if err != nil {
		v.add(vigil.Break{Type: vigil.BreakSignatureInvalid, Sequence: -1, Detail: "the " + what + " checkpoint: " + err.Error()})
		return
	}
	if cp.Origin != v.hdr.Origin {
		v.add(vigil.Break{Type: vigil.BreakInconsistent, Sequence: -1, Detail: fmt.Sprintf("the %s checkpoint is of log %q", what, cp.Origin)})
		return
	}
	if cp.Size > v.hdr.TreeSize {
		v.add(vigil.Break{Type: vigil.BreakRollback, Sequence: -1, ExpectedHash: cp.Root.String(),
			Detail: fmt.Sprintf("the %s checkpoint covers %d events; this log has %d: it was rolled back or truncated", what, cp.Size, v.hdr.TreeSize)})
		return
	}
	for _, c := range v.checkpoints {
		if c.Size == cp.Size {
			if c.Root != cp.Root {
				v.add(vigil.Break{Type: vigil.BreakRollback, Sequence: -1, ExpectedHash: cp.Root.String(), ActualHash: c.Root.String(),
					Detail: fmt.Sprintf("the log of %d events differs from the %s checkpoint: it was rewritten", cp.Size, what)})
			}
			return
		}
	}
	if v.hdr.From == 0 && cp.Size <= v.hdr.To {
		cp.Note = []byte(what)
		v.expect = append(v.expect, cp)
		return
	}
	v.add(vigil.Break{Type: vigil.BreakInconsistent, Sequence: -1,
		Detail: fmt.Sprintf("the bundle cannot show consistency with the %s checkpoint of %d events; export from sequence 0", what, cp.Size)})
}

// atSize compares the recomputed root with every expected checkpoint of
// the frontier's size.
func (v *bundleVerifier) atSize(size int64) {
	root := v.frontier.Root()
	for _, cp := range v.expect {
		if cp.Size != size || cp.Root == root {
			continue
		}
		typ, detail := vigil.BreakCheckpointMismatch, fmt.Sprintf("the tree of %d events does not have the signed root", size)
		if string(cp.Note) == "saved" || string(cp.Note) == "witness" {
			typ, detail = vigil.BreakRollback, fmt.Sprintf("the log of %d events differs from the %s checkpoint: it was rewritten", size, cp.Note)
		}
		v.add(vigil.Break{Type: typ, Sequence: -1, ExpectedHash: cp.Root.String(), ActualHash: root.String(), Detail: detail})
	}
}

func (v *bundleVerifier) event(seq int64, line []byte) {
	v.rep.EventsChecked++
	leaf := LeafHash(line)
	e, err := ParseEvent(line)
	switch {
	case err != nil:
		v.add(vigil.Break{Type: vigil.BreakModified, Sequence: seq, ActualHash: leaf.String(), Detail: "not an event leaf: " + err.Error()})
	case !bytes.Equal(AppendEvent(nil, &e), line):
		v.add(vigil.Break{Type: vigil.BreakModified, EventID: e.ID, Sequence: seq, ActualHash: leaf.String(), Detail: "the line is not the canonical form of its event"})
	case e.Sequence > seq:
		v.add(vigil.Break{Type: vigil.BreakMissing, Sequence: seq, Detail: fmt.Sprintf("expected event %d, found %d", seq, e.Sequence)})
	case e.Sequence < seq:
		v.add(vigil.Break{Type: vigil.BreakReordered, EventID: e.ID, Sequence: seq, Detail: fmt.Sprintf("event %d found at position %d", e.Sequence, seq)})
	}
	if err == nil {
		created := []byte(e.CreatedAt.UTC().Format(TimeLayout))
		if v.lastCreated != nil && bytes.Compare(created, v.lastCreated) <= 0 {
			v.add(vigil.Break{Type: vigil.BreakReordered, EventID: e.ID, Sequence: seq, Detail: "created_at is not after the previous event's"})
		}
		v.lastCreated = created
	}
	v.frontier.Append(leaf)
	if v.hdr.From == 0 {
		v.atSize(seq + 1)
	}
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func parseHashes(ss []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != len(out[i]) {
			return nil, fmt.Errorf("%q is not a hex SHA-256 hash", s)
		}
		copy(out[i][:], b)
	}
	return out, nil
}
