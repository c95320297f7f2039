package ledger

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil"
)

// CanonicalError reports why a JSON text has no canonical form.
type CanonicalError struct {
	Path   string // JSON Pointer (RFC 6901) of the offending value; "" is the whole text
	Offset int    // byte offset in the input where the problem was found
	Msg    string
}

// Error is safe to show to API clients: it names the value, not the package.
func (e *CanonicalError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Canonicalize returns the RFC 8785 (JCS) form of one JSON text: no
// whitespace, object members sorted by the UTF-16 code units of their
// names, strings with the minimal escaping, numbers as ECMAScript prints
// the IEEE double they denote.
//
// It refuses, with a *CanonicalError, what has no faithful canonical form:
// invalid UTF-8, \u escapes of lone surrogates, duplicate member names,
// nesting deeper than vigil.MaxJSONDepth, numbers beyond the double range
// (or non-zero numbers that round to zero), and integers of magnitude
// beyond 2^53 (RFC 7493 I-JSON: they would silently change when read as
// doubles) — both integers written as such and numbers whose canonical
// form would be one (1e17 is written 100000000000000000). Numbers from
// 1e21 up are written with an exponent and are accepted.
func Canonicalize(raw []byte) ([]byte, error) {
	p := parser{in: raw}
	p.skipSpace()
	out, err := p.value(make([]byte, 0, len(raw)))
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.in) {
		return nil, p.fail("data after the JSON value")
	}
	return out, nil
}

// parser reads one JSON text and appends its canonical form as it goes:
// one pass, and no intermediate tree.
type parser struct {
	in    []byte
	pos   int
	depth int
	path  []pathSegment // where the parser is, for error messages
	keys  []byte        // scratch for decoded member names
	mems  []member      // scratch for the members of the objects being read
	out   []byte        // scratch for canonical values read by objectValue
}

// pathSegment is a member name or, when name is nil, an array index.
type pathSegment struct {
	name  []byte
	index int
}

func (p *parser) fail(msg string) *CanonicalError {
	return &CanonicalError{Path: p.pointer(""), Offset: p.pos, Msg: msg}
}

// pointer renders the current path as a JSON Pointer, with last appended
// as a final member name when it is not empty.
func (p *parser) pointer(last string) string {
	var b strings.Builder
	for _, s := range p.path {
		b.WriteByte('/')
		if s.name == nil {
			b.WriteString(strconv.Itoa(s.index))
		} else {
			writePointerToken(&b, string(s.name))
		}
	}
	if last != "" {
		b.WriteByte('/')
		writePointerToken(&b, last)
	}
	return b.String()
}

func writePointerToken(b *strings.Builder, s string) {
	b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(s))
}

func (p *parser) skipSpace() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(dst []byte) ([]byte, error) {
	if p.pos >= len(p.in) {
		return nil, p.fail("unexpected end of JSON input")
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object(dst)
	case c == '[':
		return p.array(dst)
	case c == '"':
		return p.string(dst)
	case c == '-' || c >= '0' && c <= '9':
		return p.number(dst)
	case c == 't':
		return p.literal(dst, "true")
	case c == 'f':
		return p.literal(dst, "false")
	case c == 'n':
		return p.literal(dst, "null")
	default:
		return nil, p.fail("invalid character " + strconv.QuoteRune(rune(c)) + " looking for a value")
	}
}

func (p *parser) literal(dst []byte, lit string) ([]byte, error) {
	if !strings.HasPrefix(string(p.in[p.pos:min(len(p.in), p.pos+len(lit))]), lit) {
		return nil, p.fail("invalid literal")
	}
	p.pos += len(lit)
	return append(dst, lit...), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > vigil.MaxJSONDepth {
		return p.fail("nesting deeper than " + strconv.Itoa(vigil.MaxJSONDepth))
	}
	return nil
}

func (p *parser) array(dst []byte) ([]byte, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // [
	dst = append(dst, '[')
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		p.depth--
		return append(dst, ']'), nil
	}
	p.path = append(p.path, pathSegment{})
	for i := 0; ; i++ {
		p.path[len(p.path)-1].index = i
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = p.value(dst); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.in) {
			return nil, p.fail("unexpected end of JSON input")
		}
		if c := p.in[p.pos]; c == ']' {
			break
		} else if c != ',' {
			return nil, p.fail("expected ',' or ']' after an array element")
		}
		p.pos++
		p.skipSpace()
	}
	p.pos++ // ]
	p.path = p.path[:len(p.path)-1]
	p.depth--
	return append(dst, ']'), nil
}

// member is one object member as written to the output: its decoded name
// (in p.keys) and the span of `"name":value` in dst.
type member struct {
	nameStart, nameEnd int
	start, end         int
}

func (p *parser) object(dst []byte) ([]byte, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // {
	dst = append(dst, '{')
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		p.depth--
		return append(dst, '}'), nil
	}
	keysMark, memsMark := len(p.keys), len(p.mems)
	sorted := true
	p.path = append(p.path, pathSegment{})
	for {
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return nil, p.fail("expected a string for an object member name")
		}
		if len(p.mems) > memsMark {
			dst = append(dst, ',')
		}
		m := member{start: len(dst), nameStart: len(p.keys)}
		var err error
		if p.keys, err = p.decodeString(p.keys); err != nil {
			return nil, err
		}
		m.nameEnd = len(p.keys)
		name := p.keys[m.nameStart:m.nameEnd]
		dst = appendStringBytes(dst, name)
		p.path[len(p.path)-1].name = name
		if n := len(p.mems); n > memsMark {
			prev := p.mems[n-1]
			switch compareUTF16(p.keys[prev.nameStart:prev.nameEnd], name) {
			case 0:
				return nil, &CanonicalError{Path: p.pointer(""), Offset: p.pos, Msg: "duplicate member name"}
			case 1:
				sorted = false
			}
		}
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return nil, p.fail("expected ':' after an object member name")
		}
		p.pos++
		p.skipSpace()
		dst = append(dst, ':')
		if dst, err = p.value(dst); err != nil {
			return nil, err
		}
		m.end = len(dst)
		p.mems = append(p.mems, m)
		p.skipSpace()
		if p.pos >= len(p.in) {
			return nil, p.fail("unexpected end of JSON input")
		}
		if c := p.in[p.pos]; c == '}' {
			break
		} else if c != ',' {
			return nil, p.fail("expected ',' or '}' after an object member")
		}
		p.pos++
		p.skipSpace()
	}
	p.pos++ // }
	p.path = p.path[:len(p.path)-1]
	if !sorted {
		var err error
		if dst, err = p.sortMembers(dst, p.mems[memsMark:]); err != nil {
			return nil, err
		}
	}
	// This object's member names and spans are no longer needed.
	p.keys, p.mems = p.keys[:keysMark], p.mems[:memsMark]
	p.depth--
	return append(dst, '}'), nil
}

// sortMembers reorders the members already written to dst into RFC 8785
// order. Input that is already canonical never gets here.
func (p *parser) sortMembers(dst []byte, members []member) ([]byte, error) {
	name := func(m member) []byte { return p.keys[m.nameStart:m.nameEnd] }
	slices.SortStableFunc(members, func(a, b member) int { return compareUTF16(name(a), name(b)) })
	for i := 1; i < len(members); i++ {
		if compareUTF16(name(members[i-1]), name(members[i])) == 0 {
			return nil, &CanonicalError{Path: p.pointer(string(name(members[i]))), Offset: p.pos, Msg: "duplicate member name"}
		}
	}
	first := members[0].start
	for _, m := range members {
		first = min(first, m.start)
	}
	written := slices.Clone(dst[first:])
	dst = dst[:first]
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, written[m.start-first:m.end-first]...)
	}
	return dst, nil
}
