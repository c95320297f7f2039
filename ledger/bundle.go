package ledger

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"iter"
	"strconv"

	"github.com/vigilhq/vigil"
)

// BundleFormat names the bundle format in its header line. Version 2 is
// version 1 with anchor lines; a bundle without anchors is written as
// version 1, which every verifier reads.
const (
	BundleFormat   = "vigil.bundle.v1"
	BundleFormatV2 = "vigil.bundle.v2"
)

// Bundle is an offline copy of the events [From, To) of one workspace's log
// with what is needed to check them against signed checkpoints, with no
// server and no database. Its file form is NDJSON, every line a canonical
// JSON object (docs/ledger.md §5):
//
//	{"bundle":"vigil.bundle.v1","events":To-From,"from":From,"origin":...,"to":To,"tree_size":TreeSize,"verifier_key":...}
//	{"checkpoint":"<signed note>"}                                   one per checkpoint, by increasing size
//	{"consistency":{"first":m,"hashes":[hex...],"second":n}}         one per consecutive pair (m > 0)
//	{"subtree":{"hash":hex,"index":k,"level":l}}                     SubtreesOutside(From, To, TreeSize)
//	{"witness":"<signed note>"}                                      optional
//	{"finding":{"type":...,"sequence":s,...}}                        optional, any number
//	{"anchor":{"chain":...,"checkpoint":...,"evidence":...,"kind":...}} optional, any number (v2)
//	<the leaf bytes of event From>
//	...
//	<the leaf bytes of event To-1>
type Bundle struct {
	Origin      string
	VerifierKey string // the key the exporter names; a verifier should bring its own
	From, To    int64  // the events' sequences: [From, To)
	TreeSize    int64  // the size of the last checkpoint; To <= TreeSize

	Checkpoints [][]byte           // signed notes of size in [From, TreeSize], by increasing size; the last of TreeSize
	Proofs      []ConsistencyProof // between each two consecutive checkpoints (none from size 0)
	Subtrees    []SubtreeHash      // SubtreesOutside(From, To, TreeSize), in order
	// Witness is the exporter's latest checkpoint kept outside its
	// database, if any: a log rolled back behind it is caught offline.
	Witness []byte
	// Findings are what the exporter's own verification of its stored
	// tree found; a corrupted interior node leaves the events intact, so
	// only the source can see it. A verifier reports a bundle's findings
	// as breaks, and trusts its silence about them not at all.
	Findings []vigil.Break
	// Anchors are checkpoints of the log witnessed outside it, with the
	// witnesses' evidence: a log rewritten and re-signed disagrees with
	// them.
	Anchors []BundleAnchor

	// Events yields the leaf bytes of each event From to To-1, in order.
	// The writer does not keep them, so an export needs no memory.
	Events iter.Seq2[[]byte, error]
}

// ConsistencyProof proves that the tree of Second leaves extends the tree
// of First leaves: tlog.ProveTree(Second, First).
type ConsistencyProof struct {
	First, Second int64
	Hashes        []vigil.Hash
}

// BundleAnchor is one anchor in a bundle: a signed checkpoint of the log
// and the evidence an external witness gave for it (vigil.Anchor).
type BundleAnchor struct {
	Chain      string // rfc3161:<url> or witness:<name>
	Kind       string // vigil.AnchorRFC3161 or vigil.AnchorCosignature
	Checkpoint []byte // the signed note
	Evidence   []byte
	WitnessKey string // the cosigner's verifier key, as recorded
}

// SubtreeHash is the stored root of one complete subtree.
type SubtreeHash struct {
	Subtree
	Hash vigil.Hash
}

// WriteBundle writes b in its file form, streaming the events. If the
// iterator yields another number of events than the range holds, the
// bundle is written all the same (it will not verify: the verifier names
// what is missing) and a *CountError says so.
func WriteBundle(w io.Writer, b *Bundle) error {
	if b.From < 0 || b.To < b.From || b.TreeSize < b.To {
		return fmt.Errorf("ledger: bundle range [%d, %d) does not fit a tree of %d", b.From, b.To, b.TreeSize)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var line []byte
	emit := func() {
		line = append(line, '\n')
		bw.Write(line) // a write error sticks in bw and is returned by Flush
		line = line[:0]
	}
	line = appendHeader(line, b)
	emit()
	for _, c := range b.Checkpoints {
		line = append(line, `{"checkpoint":`...)
		line = append(appendString(line, string(c)), '}')
		emit()
	}
	for _, p := range b.Proofs {
		line = appendProofLine(line, p)
		emit()
	}
	for _, s := range b.Subtrees {
		line = fmt.Appendf(line, `{"subtree":{"hash":"%s","index":%d,"level":%d}}`, s.Hash, s.Index, s.Level)
		emit()
	}
	if len(b.Witness) > 0 {
		line = append(line, `{"witness":`...)
		line = append(appendString(line, string(b.Witness)), '}')
		emit()
	}
	for _, f := range b.Findings {
		line = appendFindingLine(line, f)
		emit()
	}
	for _, a := range b.Anchors {
		line = appendAnchorLine(line, a)
		emit()
	}
	var n int64
	if b.Events != nil {
		for ev, err := range b.Events {
			if err != nil {
				return err
			}
			if bytes.IndexByte(ev, '\n') >= 0 {
				// Leaves are canonical JSON, which has no raw newline; this
				// is not a leaf, and would break the line structure.
				return fmt.Errorf("ledger: bundle: event %d holds a newline: not a leaf", b.From+n)
			}
			bw.Write(ev)
			bw.WriteByte('\n')
			n++
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if n != b.To-b.From {
		return &CountError{Written: n, Want: b.To - b.From}
	}
	return nil
}

func appendHeader(dst []byte, b *Bundle) []byte {
	format := BundleFormat
	if len(b.Anchors) > 0 {
		format = BundleFormatV2
	}
	dst = fmt.Appendf(dst, `{"bundle":"%s","events":%d,"from":%d,"origin":`, format, b.To-b.From, b.From)
	dst = appendString(dst, b.Origin)
	dst = fmt.Appendf(dst, `,"to":%d,"tree_size":%d,"verifier_key":`, b.To, b.TreeSize)
	return append(appendString(dst, b.VerifierKey), '}')
}

func appendProofLine(dst []byte, p ConsistencyProof) []byte {
	dst = fmt.Appendf(dst, `{"consistency":{"first":%d,"hashes":[`, p.First)
	for i, h := range p.Hashes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, h.String()...)
		dst = append(dst, '"')
	}
	return fmt.Appendf(dst, `],"second":%d}}`, p.Second)
}

func appendFindingLine(dst []byte, f vigil.Break) []byte {
	w := leafWriter{buf: append(dst, `{"finding":{`...)}
	w.str(`"actual_hash":`, f.ActualHash)
	w.str(`"detail":`, f.Detail)
	w.str(`"event_id":`, f.EventID)
	w.str(`"expected_hash":`, f.ExpectedHash)
	w.key(`"sequence":`)
	w.buf = strconv.AppendInt(w.buf, f.Sequence, 10)
	w.str(`"type":`, f.Type)
	return append(w.buf, '}', '}')
}

func appendAnchorLine(dst []byte, a BundleAnchor) []byte {
	w := leafWriter{buf: append(dst, `{"anchor":{`...)}
	w.str(`"chain":`, a.Chain)
	w.str(`"checkpoint":`, string(a.Checkpoint))
	w.str(`"evidence":`, base64.StdEncoding.EncodeToString(a.Evidence))
	w.str(`"kind":`, a.Kind)
	w.str(`"witness_key":`, a.WitnessKey)
	return append(w.buf, '}', '}')
}

// CountError says a bundle was written with fewer or more events than its
// range holds: the source lacks events, and the bundle will not verify.
type CountError struct{ Written, Want int64 }

func (e *CountError) Error() string {
	return fmt.Sprintf("ledger: bundle: %d events written for a range of %d", e.Written, e.Want)
}
