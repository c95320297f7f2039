package ledger

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vigilhq/vigil"
)

// ExportFormat names the NDJSON export format in its header line.
const ExportFormat = "vigil.export.v1"

// An export is the events a query selected, which need not be contiguous
// in the log, so unlike a bundle it carries one inclusion proof per event
// against one signed checkpoint. Every line is canonical JSON:
//
//	{"export":"vigil.export.v1","filters":{...},"origin":...,"tree_size":N,"verifier_key":...}
//	{"checkpoint":"<signed note of size N>"}
//	{"event":<the leaf bytes>,"inclusion":[hex...]}    one per event, by increasing sequence
//	{"end":{"events":count}}                           so a truncated file is told from a short one
//
// It proves that each event it holds is, byte for byte, the leaf at its
// sequence in the signed tree. It cannot prove that the query selected
// every matching event: that is the exporter's word.

// ExportWriter writes an export, one event at a time.
type ExportWriter struct {
	bw   *bufio.Writer
	line []byte
	n    int64
	size int64
}

// NewExportWriter writes the header and the checkpoint. filters is a JSON
// object in canonical form (or nil).
func NewExportWriter(w io.Writer, origin, verifierKey string, cp vigil.Checkpoint, filters []byte) (*ExportWriter, error) {
	x := &ExportWriter{bw: bufio.NewWriterSize(w, 1<<16), size: cp.Size}
	if len(filters) == 0 {
		filters = []byte("{}")
	}
	x.line = fmt.Appendf(x.line, `{"export":"%s","filters":`, ExportFormat)
	x.line = append(x.line, filters...)
	x.line = append(x.line, `,"origin":`...)
	x.line = appendString(x.line, origin)
	x.line = fmt.Appendf(x.line, `,"tree_size":%d,"verifier_key":`, cp.Size)
	x.line = append(appendString(x.line, verifierKey), '}', '\n')
	x.line = append(x.line, `{"checkpoint":`...)
	x.line = append(appendString(x.line, string(cp.Note)), '}', '\n')
	_, err := x.bw.Write(x.line)
	return x, err
}

// Event writes one event's leaf bytes with its inclusion proof.
func (x *ExportWriter) Event(leaf []byte, proof []vigil.Hash) error {
	if bytes.IndexByte(leaf, '\n') >= 0 {
		return errors.New("ledger: export: an event holds a newline: not a leaf")
	}
	x.line = append(x.line[:0], `{"event":`...)
	x.line = append(x.line, leaf...)
	x.line = append(x.line, `,"inclusion":[`...)
	for i, h := range proof {
		if i > 0 {
			x.line = append(x.line, ',')
		}
		x.line = append(x.line, '"')
		x.line = append(x.line, h.String()...)
		x.line = append(x.line, '"')
	}
	x.line = append(x.line, ']', '}', '\n')
	x.n++
	_, err := x.bw.Write(x.line)
	return err
}

// Close writes the trailer and flushes.
func (x *ExportWriter) Close() error {
	fmt.Fprintf(x.bw, `{"end":{"events":%d}}`+"\n", x.n)
	return x.bw.Flush()
}

// ExportReport is the outcome of verifying an export.
type ExportReport struct {
	Valid         bool
	Origin        string
	TreeSize      int64
	Root          vigil.Hash
	EventsChecked int64
	KeyFromExport bool // no trusted key was given
	Breaks        []vigil.Break
	BreaksOmitted int64
}

func (r *ExportReport) add(b vigil.Break) {
	if len(r.Breaks) < maxBreaks {
		r.Breaks = append(r.Breaks, b)
	} else {
		r.BreaksOmitted++
	}
}

// VerifyExport checks an export with no server and no database, one line
// at a time: the checkpoint's signature by the trusted key (or, without
// one, the key the export names), and for each event that its line is a
// version 1 leaf in canonical form, in increasing sequence order, whose
// inclusion proof leads to the signed root. A missing trailer or a count
// that disagrees with it is a truncated break. An error means the input is
// not an export.
func VerifyExport(r io.Reader, key string) (*ExportReport, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	next := func() ([]byte, error) {
		line, err := br.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			return nil, io.EOF
		}
		if len(line) > vigil.MaxEventBytes*4 {
			return nil, errors.New("ledger: export: a line is too long")
		}
		return bytes.TrimSuffix(line, []byte("\n")), nil
	}
	rep := &ExportReport{}
	head, err := next()
	if err != nil {
		return nil, errors.New("ledger: export: empty file")
	}
	var h struct {
		Export      string          `json:"export"`
		Filters     json.RawMessage `json:"filters"`
		Origin      string          `json:"origin"`
		TreeSize    int64           `json:"tree_size"`
		VerifierKey string          `json:"verifier_key"`
	}
	if err := strictJSON(head, &h); err != nil || h.Export != ExportFormat {
		return nil, fmt.Errorf("ledger: export: the first line is not a %s header", ExportFormat)
	}
	rep.Origin, rep.TreeSize = h.Origin, h.TreeSize
	if key == "" {
		key, rep.KeyFromExport = h.VerifierKey, true
	}
	line, err := next()
	var c struct {
		Checkpoint string `json:"checkpoint"`
	}
	if err != nil || strictJSON(line, &c) != nil || c.Checkpoint == "" {
		return nil, errors.New("ledger: export: the second line is not a checkpoint")
	}
	cp, err := Open([]byte(c.Checkpoint), key)
	switch {
	case err != nil:
		rep.add(vigil.Break{Type: vigil.BreakSignatureInvalid, Sequence: -1, Detail: "the checkpoint does not verify with the key: " + err.Error()})
	case cp.Origin != h.Origin || cp.Size != h.TreeSize:
		rep.add(vigil.Break{Type: vigil.BreakCheckpointMismatch, Sequence: -1,
			Detail: fmt.Sprintf("the checkpoint is of %s at size %d, the header says %s at %d", cp.Origin, cp.Size, h.Origin, h.TreeSize)})
	}
	rep.Root = cp.Root
	last := int64(-1)
	var ended bool
	for {
		line, err := next()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if ended {
			rep.add(vigil.Break{Type: vigil.BreakModified, Sequence: -1, Detail: "lines after the end of the export"})
			break
		}
		var ln struct {
			Event     json.RawMessage `json:"event"`
			Inclusion []string        `json:"inclusion"`
			End       *struct {
				Events int64 `json:"events"`
			} `json:"end"`
		}
		if err := strictJSON(line, &ln); err != nil {
			rep.add(vigil.Break{Type: vigil.BreakModified, Sequence: -1, Detail: fmt.Sprintf("line %d is not an export line", rep.EventsChecked+3)})
			continue
		}
		if ln.End != nil {
			ended = true
			if ln.End.Events != rep.EventsChecked {
				rep.add(vigil.Break{Type: vigil.BreakTruncated, Sequence: -1,
					Detail: fmt.Sprintf("the export ends after %d events but holds %d", ln.End.Events, rep.EventsChecked)})
			}
			continue
		}
		rep.EventsChecked++
		rep.checkEvent(ln.Event, ln.Inclusion, cp, err == nil, &last)
	}
	if !ended {
		rep.add(vigil.Break{Type: vigil.BreakTruncated, Sequence: -1, Detail: "the export has no end line: it was cut short"})
	}
	rep.Valid = len(rep.Breaks) == 0
	return rep, nil
}

func (rep *ExportReport) checkEvent(leaf []byte, inclusion []string, cp vigil.Checkpoint, signed bool, last *int64) {
	e, err := ParseEvent(leaf)
	if err != nil {
		rep.add(vigil.Break{Type: vigil.BreakModified, Sequence: -1, Detail: "an event is not a leaf: " + err.Error()})
		return
	}
	if !bytes.Equal(AppendEvent(nil, &e), leaf) {
		rep.add(vigil.Break{Type: vigil.BreakModified, Sequence: e.Sequence, EventID: e.ID, Detail: "the event is not in canonical form"})
		return
	}
	if e.Sequence <= *last {
		rep.add(vigil.Break{Type: vigil.BreakReordered, Sequence: e.Sequence, EventID: e.ID, Detail: fmt.Sprintf("sequence %d follows %d", e.Sequence, *last)})
	}
	*last = max(*last, e.Sequence)
	if !signed {
		return
	}
	hashes, err := ParseHashes(inclusion)
	if err != nil {
		rep.add(vigil.Break{Type: vigil.BreakModified, Sequence: e.Sequence, EventID: e.ID, Detail: "the inclusion proof is not a list of hashes"})
		return
	}
	p := vigil.InclusionProof{LeafIndex: e.Sequence, TreeSize: cp.Size, LeafHash: LeafHash(leaf), Hashes: hashes}
	if err := CheckInclusion(p, cp.Root); err != nil {
		rep.add(vigil.Break{Type: vigil.BreakModified, Sequence: e.Sequence, EventID: e.ID, ActualHash: p.LeafHash.String(),
			Detail: "the event is not the leaf at its sequence in the signed tree"})
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
