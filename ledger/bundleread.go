package ledger

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/vigilhq/vigil"
)

// maxLine bounds one line of a bundle. An event is at most
// vigil.MaxEventBytes of input; escaping control characters can make its
// leaf up to six times longer.
const maxLine = 8 * vigil.MaxEventBytes

// BundleError reports input that is not a bundle at all: no header, a
// line too long, or a typed line that does not parse or is out of place.
// Problems with the log a bundle carries are breaks, not errors.
type BundleError struct {
	Line int // 1-based; 0 when not about one line
	Msg  string
}

func (e *BundleError) Error() string {
	if e.Line == 0 {
		return "ledger: bundle: " + e.Msg
	}
	return fmt.Sprintf("ledger: bundle: line %d: %s", e.Line, e.Msg)
}

// lineReader reads the lines of a bundle, one at a time, each valid until
// the next call.
type lineReader struct {
	br     *bufio.Reader
	n      int // lines read
	buf    []byte
	peeked bool
	line   []byte
	err    error
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 1<<16)}
}

// next returns the next line without its newline, or io.EOF.
func (l *lineReader) next() ([]byte, error) {
	if l.peeked {
		l.peeked = false
		return l.line, l.err
	}
	l.buf = l.buf[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		if len(l.buf)+len(chunk) > maxLine+1 {
			return nil, &BundleError{Line: l.n + 1, Msg: fmt.Sprintf("longer than %d bytes", maxLine)}
		}
		if err == bufio.ErrBufferFull {
			l.buf = append(l.buf, chunk...)
			continue
		}
		line := chunk
		if len(l.buf) > 0 {
			l.buf = append(l.buf, chunk...)
			line = l.buf
		}
		switch {
		case err == io.EOF && len(line) == 0:
			return nil, io.EOF
		case err != nil && err != io.EOF:
			return nil, err
		}
		l.n++
		if line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		return line, nil
	}
}

// unread makes the next call to next return line again.
func (l *lineReader) unread(line []byte, err error) {
	l.peeked, l.line, l.err = true, line, err
}

// bundleHeader is the first line.
type bundleHeader struct {
	Origin, VerifierKey     string
	From, To, TreeSize, Evs int64
	Version                 int // 1 or 2 (anchor lines)
}

func parseHeader(line []byte) (bundleHeader, error) {
	var h bundleHeader
	var format string
	p := parser{in: line}
	seen := map[string]bool{}
	err := p.members(func(name []byte) error {
		if seen[string(name)] {
			return p.fail("duplicate member name")
		}
		seen[string(name)] = true
		var err error
		switch string(name) {
		case "bundle":
			format, err = p.stringValue()
		case "origin":
			h.Origin, err = p.stringValue()
		case "verifier_key":
			h.VerifierKey, err = p.stringValue()
		case "from":
			h.From, err = p.naturalValue()
		case "to":
			h.To, err = p.naturalValue()
		case "tree_size":
			h.TreeSize, err = p.naturalValue()
		case "events":
			h.Evs, err = p.naturalValue()
		default:
			err = p.fail("unknown member")
		}
		return err
	})
	if err == nil {
		p.skipSpace()
		if p.pos != len(p.in) {
			err = errors.New("data after the header object")
		}
	}
	switch {
	case err != nil:
		return h, &BundleError{Line: 1, Msg: "not a bundle header: " + err.Error()}
	case format != BundleFormat && format != BundleFormatV2:
		return h, &BundleError{Line: 1, Msg: fmt.Sprintf("not a %s or %s header", BundleFormat, BundleFormatV2)}
	case len(seen) != 7:
		return h, &BundleError{Line: 1, Msg: "the header needs bundle, origin, verifier_key, from, to, tree_size and events"}
	case h.To < h.From || h.TreeSize < h.To || h.Evs != h.To-h.From:
		return h, &BundleError{Line: 1, Msg: "the header's range, tree size and event count disagree"}
	}
	h.Version = 1
	if format == BundleFormatV2 {
		h.Version = 2
	}
	return h, nil
}

// lineKind is the kind of a typed line, in the order a bundle has them.
type lineKind int

const (
	kindCheckpoint lineKind = iota
	kindConsistency
	kindSubtree
	kindWitness
	kindFinding
	kindAnchor // version 2
	kindEvent  // not typed: an event, and every line after it
)

var kindNames = map[string]lineKind{
	"checkpoint": kindCheckpoint, "consistency": kindConsistency, "subtree": kindSubtree,
	"witness": kindWitness, "finding": kindFinding, "anchor": kindAnchor,
}

// typedLine is one parsed line before the events.
type typedLine struct {
	kind    lineKind
	note    []byte // checkpoint, witness
	proof   ConsistencyProof
	subtree SubtreeHash
	finding vigil.Break
	anchor  BundleAnchor
}

// parseTypedLine reads a line that is an object of exactly one member named
// after a kind. Any other line is the first event (kindEvent, no error):
// leaves have no such members.
func parseTypedLine(line []byte) (typedLine, error) {
	var t typedLine
	p := parser{in: line}
	first := true
	errEvent := errors.New("an event")
	err := p.members(func(name []byte) error {
		kind, ok := kindNames[string(name)]
		if !first || !ok {
			if first {
				return errEvent
			}
			return p.fail("a typed line has exactly one member")
		}
		first = false
		t.kind = kind
		switch kind {
		case kindCheckpoint, kindWitness:
			s, err := p.stringValue()
			t.note = []byte(s)
			return err
		case kindConsistency:
			return p.proofValue(&t.proof)
		case kindSubtree:
			return p.subtreeValue(&t.subtree)
		case kindAnchor:
			return p.anchorValue(&t.anchor)
		default:
			return p.findingValue(&t.finding)
		}
	})
	if err == errEvent || first {
		// Not an object whose first member names a kind: an event line
		// (which the verifier judges as one).
		return typedLine{kind: kindEvent}, nil
	}
	if err == nil {
		p.skipSpace()
		if p.pos != len(p.in) {
			err = errors.New("data after the object")
		}
	}
	return t, err
}

func (p *parser) proofValue(c *ConsistencyProof) error {
	var have uint8
	err := p.members(func(name []byte) error {
		var err error
		switch string(name) {
		case "first":
			have |= 1
			c.First, err = p.naturalValue()
		case "second":
			have |= 2
			c.Second, err = p.naturalValue()
		case "hashes":
			have |= 4
			c.Hashes = c.Hashes[:0]
			err = p.elements(func() error {
				h, err := p.hashValue()
				c.Hashes = append(c.Hashes, h)
				return err
			})
		default:
			err = p.fail("unknown member")
		}
		return err
	})
	if err == nil && have != 7 {
		err = p.fail("a consistency proof needs first, second and hashes")
	}
	return err
}

func (p *parser) subtreeValue(s *SubtreeHash) error {
	var have uint8
	err := p.members(func(name []byte) error {
		var err error
		switch string(name) {
		case "level":
			have |= 1
			var l int64
			l, err = p.naturalValue()
			if err == nil && l > 62 {
				err = p.fail("a subtree level is at most 62")
			}
			s.Level = int(l)
		case "index":
			have |= 2
			s.Index, err = p.naturalValue()
		case "hash":
			have |= 4
			s.Hash, err = p.hashValue()
		default:
			err = p.fail("unknown member")
		}
		return err
	})
	if err == nil && have != 7 {
		err = p.fail("a subtree needs level, index and hash")
	}
	return err
}

func (p *parser) findingValue(f *vigil.Break) error {
	f.Sequence = -1
	return p.members(func(name []byte) error {
		var err error
		switch string(name) {
		case "type":
			f.Type, err = p.stringValue()
		case "sequence":
			neg := p.pos < len(p.in) && p.in[p.pos] == '-'
			if neg {
				p.pos++
			}
			f.Sequence, err = p.naturalValue()
			if neg {
				f.Sequence = -f.Sequence
			}
		case "event_id":
			f.EventID, err = p.stringValue()
		case "expected_hash":
			f.ExpectedHash, err = p.stringValue()
		case "actual_hash":
			f.ActualHash, err = p.stringValue()
		case "detail":
			f.Detail, err = p.stringValue()
		default:
			err = p.fail("unknown member")
		}
		return err
	})
}

func (p *parser) anchorValue(a *BundleAnchor) error {
	var have uint8
	err := p.members(func(name []byte) error {
		var err error
		var s string
		switch string(name) {
		case "chain":
			have |= 1
			a.Chain, err = p.stringValue()
		case "kind":
			have |= 2
			a.Kind, err = p.stringValue()
		case "checkpoint":
			have |= 4
			s, err = p.stringValue()
			a.Checkpoint = []byte(s)
		case "evidence":
			have |= 8
			start := p.pos
			if s, err = p.stringValue(); err == nil {
				if a.Evidence, err = base64.StdEncoding.Strict().DecodeString(s); err != nil {
					p.pos = start
					err = p.fail("evidence is not standard base64")
				}
			}
		case "witness_key":
			a.WitnessKey, err = p.stringValue()
		default:
			err = p.fail("unknown member")
		}
		return err
	})
	if err == nil && have != 15 {
		err = p.fail("an anchor needs chain, kind, checkpoint and evidence")
	}
	return err
}

func (p *parser) hashValue() (vigil.Hash, error) {
	start := p.pos
	s, err := p.stringValue()
	if err != nil {
		return vigil.Hash{}, err
	}
	h, err := ParseHash(s)
	if err != nil {
		p.pos = start
		return h, p.fail("not a hex SHA-256 hash")
	}
	return h, nil
}

// typedLines yields the lines between the header and the first event,
// refusing them out of their order, and leaves the first event line to be
// read next.
func typedLines(lr *lineReader, h bundleHeader) iter.Seq2[typedLine, error] {
	return func(yield func(typedLine, error) bool) {
		last := kindCheckpoint
		for {
			line, err := lr.next()
			if err == io.EOF {
				lr.unread(nil, io.EOF)
				return
			}
			if err != nil {
				yield(typedLine{}, err)
				return
			}
			t, err := parseTypedLine(line)
			switch {
			case err != nil:
				yield(t, &BundleError{Line: lr.n, Msg: err.Error()})
				return
			case t.kind == kindEvent:
				lr.unread(line, nil)
				return
			case t.kind < last || t.kind == kindWitness && last == kindWitness:
				yield(t, &BundleError{Line: lr.n, Msg: "a typed line out of order"})
				return
			case t.kind == kindAnchor && h.Version < 2:
				yield(t, &BundleError{Line: lr.n, Msg: "anchor lines need a " + BundleFormatV2 + " header"})
				return
			}
			last = t.kind
			if !yield(t, nil) {
				return
			}
		}
	}
}

// ReadBundle reads a bundle's header and typed lines into a Bundle whose
// Events yields the event lines that follow, once, each valid only until
// the next; it yields a *BundleError if the lines are not as many as the
// header counts. It checks the form, not the log: VerifyBundle does that.
func ReadBundle(r io.Reader) (*Bundle, error) {
	lr := newLineReader(r)
	line, err := lr.next()
	if err != nil {
		return nil, &BundleError{Line: 1, Msg: "no header line"}
	}
	h, err := parseHeader(line)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Origin: h.Origin, VerifierKey: h.VerifierKey, From: h.From, To: h.To, TreeSize: h.TreeSize}
	for t, err := range typedLines(lr, h) {
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case kindCheckpoint:
			b.Checkpoints = append(b.Checkpoints, t.note)
		case kindConsistency:
			b.Proofs = append(b.Proofs, t.proof)
		case kindSubtree:
			b.Subtrees = append(b.Subtrees, t.subtree)
		case kindWitness:
			b.Witness = t.note
		case kindFinding:
			b.Findings = append(b.Findings, t.finding)
		case kindAnchor:
			b.Anchors = append(b.Anchors, t.anchor)
		}
	}
	b.Events = readEvents(lr, h.Evs)
	return b, nil
}

func readEvents(lr *lineReader, want int64) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		var n int64
		for {
			line, err := lr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if n++; n > want {
				yield(nil, &BundleError{Line: lr.n, Msg: "more event lines than the header counts"})
				return
			}
			if !yield(line, nil) {
				return
			}
		}
		if n < want {
			yield(nil, &BundleError{Msg: fmt.Sprintf("%d event lines; the header counts %d", n, want)})
		}
	}
}
