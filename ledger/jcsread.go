package ledger

import (
	"slices"
	"strconv"
)

// The parser's typed readers, for documents of a known shape (leaves,
// bundle lines): the same strict grammar as Canonicalize, with errors that
// name the member.

// members reads the object at p.pos, calling f with each member's decoded
// name; f must read the member's value. Names are checked by f.
func (p *parser) members(f func(name []byte) error) error {
	if p.pos >= len(p.in) || p.in[p.pos] != '{' {
		return p.fail("must be a JSON object")
	}
	if err := p.enter(); err != nil {
		return err
	}
	p.pos++
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		p.depth--
		return nil
	}
	p.path = append(p.path, pathSegment{})
	for {
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return p.fail("expected a string for an object member name")
		}
		mark := len(p.keys)
		var err error
		if p.keys, err = p.decodeString(p.keys); err != nil {
			return err
		}
		name := p.keys[mark:]
		p.path[len(p.path)-1].name = name
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return p.fail("expected ':' after an object member name")
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.in) {
			return p.fail("unexpected end of JSON input")
		}
		if err := f(name); err != nil {
			return err
		}
		p.keys = p.keys[:mark]
		if done, err := p.separator('}', "expected ',' or '}' after an object member"); err != nil {
			return err
		} else if done {
			break
		}
	}
	p.pos++
	p.path = p.path[:len(p.path)-1]
	p.depth--
	return nil
}

// elements reads the array at p.pos, calling f at each element; f must
// read the element.
func (p *parser) elements(f func() error) error {
	if p.pos >= len(p.in) || p.in[p.pos] != '[' {
		return p.fail("must be a JSON array")
	}
	if err := p.enter(); err != nil {
		return err
	}
	p.pos++
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		p.depth--
		return nil
	}
	p.path = append(p.path, pathSegment{})
	for i := 0; ; i++ {
		p.path[len(p.path)-1].index = i
		if p.pos >= len(p.in) {
			return p.fail("unexpected end of JSON input")
		}
		if err := f(); err != nil {
			return err
		}
		if done, err := p.separator(']', "expected ',' or ']' after an array element"); err != nil {
			return err
		} else if done {
			break
		}
	}
	p.pos++
	p.path = p.path[:len(p.path)-1]
	p.depth--
	return nil
}

// separator reads what follows an object member or array element: the
// closing byte (done; left for the caller to consume) or a comma and the
// space after it.
func (p *parser) separator(closing byte, what string) (done bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.in) {
		return false, p.fail("unexpected end of JSON input")
	}
	switch p.in[p.pos] {
	case closing:
		return true, nil
	case ',':
		p.pos++
		p.skipSpace()
		return false, nil
	}
	return false, p.fail(what)
}

// stringValue reads a JSON string.
func (p *parser) stringValue() (string, error) {
	if p.pos >= len(p.in) || p.in[p.pos] != '"' {
		return "", p.fail("must be a JSON string")
	}
	mark := len(p.keys)
	var err error
	if p.keys, err = p.decodeString(p.keys); err != nil {
		return "", err
	}
	s := string(p.keys[mark:])
	p.keys = p.keys[:mark]
	return s, nil
}

// naturalValue reads a non-negative integer in its canonical spelling
// (digits, no leading zero, no fraction or exponent) of at most 2^53.
func (p *parser) naturalValue() (int64, error) {
	start := p.pos
	for p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9' {
		p.pos++
	}
	digits := p.in[start:p.pos]
	if p.pos < len(p.in) {
		if c := p.in[p.pos]; c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+' {
			digits = nil
		}
	}
	switch {
	case len(digits) == 0, len(digits) > 1 && digits[0] == '0',
		len(digits) > len(maxSafeInteger), len(digits) == len(maxSafeInteger) && string(digits) > maxSafeInteger:
		p.pos = start
		return 0, p.fail("must be a non-negative integer of at most 2^53, written in digits")
	}
	n, _ := strconv.ParseInt(string(digits), 10, 64)
	return n, nil
}

// objectValue reads a JSON object and returns its canonical form. Its
// nesting is counted from itself, as when it was canonicalized alone.
func (p *parser) objectValue() ([]byte, error) {
	if p.pos >= len(p.in) || p.in[p.pos] != '{' {
		return nil, p.fail("must be a JSON object")
	}
	depth := p.depth
	p.depth = 0
	out, err := p.value(p.out[:0])
	p.depth = depth
	if err != nil {
		return nil, err
	}
	p.out = out
	return slices.Clone(out), nil
}

// textValue reads a JSON string and appends its text to dst, returning
// where in dst it lies, so a reader can make one string of many.
func (p *parser) textValue(dst *[]byte) (start, end int, err error) {
	if p.pos >= len(p.in) || p.in[p.pos] != '"' {
		return 0, 0, p.fail("must be a JSON string")
	}
	start = len(*dst)
	*dst, err = p.decodeString(*dst)
	return start, len(*dst), err
}
