package ledger

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"iter"

	"github.com/vigilhq/vigil"
)

// BundleFormat names the bundle format in its header.
const BundleFormat = "vigil.bundle.v1"

// Bundle is an offline copy of a range of a workspace's log with what is
// needed to check it against signed checkpoints, with no server and no
// database. Its file form is NDJSON: a header line, then the checkpoint,
// consistency-proof and subtree lines the header counts, then one line per
// event holding exactly the canonical bytes its leaf hashes.
type Bundle struct {
	Origin      string
	VerifierKey string
	From, To    int64 // the events' sequences: [From, To)
	TreeSize    int64 // the size of the last checkpoint; To <= TreeSize

	Checkpoints [][]byte           // signed notes, by increasing size, the last of TreeSize
	Proofs      []ConsistencyProof // between each pair of consecutive checkpoints
	Subtrees    []SubtreeHash      // SubtreesOutside(From, To, TreeSize), in order
	Witness     []byte             // optional: the latest checkpoint kept outside the database
	// Findings are what the exporter's own verification of the stored
	// tree found (a corrupted interior node leaves the events intact, so
	// only the source can see it). A verifier trusts a bundle's findings,
	// never its silence.
	Findings []vigil.Break

	// Events yields the canonical bytes of each event, From to To-1.
	Events iter.Seq2[[]byte, error]
}

// ConsistencyProof proves that the tree of Second leaves extends the tree
// of First leaves (RFC 6962 consistency proof, as tlog.ProveTree).
type ConsistencyProof struct {
	First  int64        `json:"first"`
	Second int64        `json:"second"`
	Hashes []vigil.Hash `json:"-"`
}

// SubtreeHash is the stored root of one complete subtree.
type SubtreeHash struct {
	Subtree
	Hash vigil.Hash
}

type bundleHeader struct {
	Bundle            string `json:"bundle"`
	Checkpoints       int    `json:"checkpoints"`
	ConsistencyProofs int    `json:"consistency_proofs"`
	Events            int64  `json:"events"`
	Findings          int    `json:"findings"`
	From              int64  `json:"from"`
	Origin            string `json:"origin"`
	Subtrees          int    `json:"subtrees"`
	To                int64  `json:"to"`
	TreeSize          int64  `json:"tree_size"`
	VerifierKey       string `json:"verifier_key"`
	Witness           string `json:"witness,omitempty"`
}

type checkpointLine struct {
	Checkpoint string `json:"checkpoint"`
}

type proofJSON struct {
	First  int64    `json:"first"`
	Second int64    `json:"second"`
	Hashes []string `json:"hashes"`
}

type proofLine struct {
	Consistency proofJSON `json:"consistency"`
}

type subtreeJSON struct {
	Level int    `json:"level"`
	Index int64  `json:"index"`
	Hash  string `json:"hash"`
}

type subtreeLine struct {
	Subtree subtreeJSON `json:"subtree"`
}

type findingJSON struct {
	Type         string `json:"type"`
	Sequence     int64  `json:"sequence"`
	EventID      string `json:"event_id,omitempty"`
	ExpectedHash string `json:"expected_hash,omitempty"`
	ActualHash   string `json:"actual_hash,omitempty"`
	Detail       string `json:"detail,omitempty"`
}

type findingLine struct {
	Finding findingJSON `json:"finding"`
}

// WriteBundle writes b, streaming its events.
func WriteBundle(w io.Writer, b *Bundle) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	line := func(v any) error {
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		bw.Write(j)
		return bw.WriteByte('\n')
	}
	hdr := bundleHeader{Bundle: BundleFormat, Checkpoints: len(b.Checkpoints), ConsistencyProofs: len(b.Proofs),
		Events: b.To - b.From, Findings: len(b.Findings), From: b.From, Origin: b.Origin, Subtrees: len(b.Subtrees), To: b.To,
		TreeSize: b.TreeSize, VerifierKey: b.VerifierKey, Witness: string(b.Witness)}
	if err := line(hdr); err != nil {
		return err
	}
	for _, c := range b.Checkpoints {
		if err := line(checkpointLine{string(c)}); err != nil {
			return err
		}
	}
	for _, p := range b.Proofs {
		pj := proofJSON{First: p.First, Second: p.Second, Hashes: make([]string, len(p.Hashes))}
		for i, h := range p.Hashes {
			pj.Hashes[i] = h.String()
		}
		if err := line(proofLine{pj}); err != nil {
			return err
		}
	}
	for _, s := range b.Subtrees {
		if err := line(subtreeLine{subtreeJSON{s.Level, s.Index, s.Hash.String()}}); err != nil {
			return err
		}
	}
	for _, f := range b.Findings {
		if err := line(findingLine{findingJSON{f.Type, f.Sequence, f.EventID, f.ExpectedHash, f.ActualHash, f.Detail}}); err != nil {
			return err
		}
	}
	var n int64
	for ev, err := range b.Events {
		if err != nil {
			return err
		}
		bw.Write(ev)
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
		n++
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if n != b.To-b.From {
		// Written all the same: the verifier will name what is missing.
		return &CountError{Written: n, Want: b.To - b.From}
	}
	return nil
}

// CountError says a bundle was written with fewer or more events than its
// range holds: the source lacks events, and the bundle will not verify.
type CountError struct{ Written, Want int64 }

func (e *CountError) Error() string {
	return fmt.Sprintf("ledger: bundle: %d events written for a range of %d", e.Written, e.Want)
}
