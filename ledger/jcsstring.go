package ledger

import (
	"cmp"
	"unicode/utf16"
	"unicode/utf8"
)

// string reads a JSON string and appends its canonical form to dst.
func (p *parser) string(dst []byte) ([]byte, error) {
	dst = append(dst, '"')
	dst, err := p.scanString(dst, true)
	if err != nil {
		return nil, err
	}
	return append(dst, '"'), nil
}

// decodeString reads a JSON string and appends its decoded text to dst.
func (p *parser) decodeString(dst []byte) ([]byte, error) {
	return p.scanString(dst, false)
}

// scanString reads the JSON string at p.pos (its opening quote) and
// appends either its canonical escaped body (canonical) or its decoded
// text. Runs of characters that need no escaping are the same in both and
// are copied as they are.
func (p *parser) scanString(dst []byte, canonical bool) ([]byte, error) {
	p.pos++ // "
	in := p.in
	run := p.pos
	for p.pos < len(in) {
		c := in[p.pos]
		if plainASCII[c] {
			p.pos++
			continue
		}
		switch {
		case c == '"':
			dst = append(dst, in[run:p.pos]...)
			p.pos++
			return dst, nil
		case c == '\\':
			dst = append(dst, in[run:p.pos]...)
			r, err := p.escape()
			if err != nil {
				return nil, err
			}
			if canonical {
				dst = appendRune(dst, r)
			} else {
				dst = utf8.AppendRune(dst, r)
			}
			run = p.pos
		case c < 0x20:
			return nil, p.fail("control character in a string (it must be escaped)")
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(in[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return nil, p.fail("invalid UTF-8")
			}
			p.pos += size
		}
	}
	return nil, p.fail("unterminated string")
}

// plainASCII marks the bytes a string holds as they are: printable ASCII
// other than '"' and '\\'.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escape reads one escape sequence at p.pos (its backslash). A \u escape
// of a high surrogate must be followed by one of a low surrogate: lone
// surrogates are not Unicode text and have no UTF-8 form.
func (p *parser) escape() (rune, error) {
	if p.pos+1 >= len(p.in) {
		return 0, p.fail("unterminated string")
	}
	c := p.in[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return 0, p.fail(`invalid \u escape`)
		}
		switch {
		case utf16.IsSurrogate(r) && r < 0xDC00:
			if p.pos+1 < len(p.in) && p.in[p.pos] == '\\' && p.in[p.pos+1] == 'u' {
				p.pos += 2
				if lo, ok := p.hex4(); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					return utf16.DecodeRune(r, lo), nil
				}
			}
			return 0, p.fail("lone UTF-16 surrogate in a \\u escape")
		case utf16.IsSurrogate(r):
			return 0, p.fail("lone UTF-16 surrogate in a \\u escape")
		}
		return r, nil
	}
	return 0, p.fail("invalid escape sequence")
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.in) {
		return 0, false
	}
	var r rune
	for _, c := range p.in[p.pos : p.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.pos += 4
	return r, true
}

// appendRune appends r escaped as RFC 8785 §3.2.2.2 requires: '"' and
// '\' with a backslash, control characters with their short escape where
// JSON has one and as lower-case \u00xx otherwise, everything else as its
// UTF-8 bytes.
func appendRune(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	if r < 0x20 {
		const hex = "0123456789abcdef"
		return append(dst, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xF])
	}
	return utf8.AppendRune(dst, r)
}

// appendString appends s as a canonical JSON string. Invalid UTF-8 (which
// the store refuses at ingest, so it never reaches a leaf) becomes U+FFFD,
// so the output is always valid JSON.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	run := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		dst = append(dst, s[run:i]...)
		if c >= utf8.RuneSelf {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = appendRune(dst, rune(c))
		}
		i++
		run = i
	}
	dst = append(dst, s[run:]...)
	return append(dst, '"')
}

// appendStringBytes is appendString for a []byte of valid UTF-8.
func appendStringBytes(dst, s []byte) []byte {
	dst = append(dst, '"')
	run := 0
	for i, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			dst = append(dst, s[run:i]...)
			dst = appendRune(dst, rune(c))
			run = i + 1
		}
	}
	dst = append(dst, s[run:]...)
	return append(dst, '"')
}

// compareUTF16 orders two valid UTF-8 strings by their UTF-16 code units,
// as RFC 8785 §3.2.3 sorts member names. That is code point order except
// between U+E000..U+FFFF and the supplementary planes, whose surrogates
// (U+D800..U+DFFF) sort first in UTF-16.
func compareUTF16(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmp.Compare(len(a), len(b))
	}
	// a and b agree before i, so both have a rune boundary at the same
	// places: back up to the start of the runes that differ.
	for i > 0 && !utf8.RuneStart(a[i]) {
		i--
	}
	ra, _ := utf8.DecodeRune(a[i:])
	rb, _ := utf8.DecodeRune(b[i:])
	if ua, ub := firstUnit(ra), firstUnit(rb); ua != ub {
		return cmp.Compare(ua, ub)
	}
	return cmp.Compare(ra, rb) // both supplementary, same high surrogate
}

func firstUnit(r rune) rune {
	if r >= 0x10000 {
		hi, _ := utf16.EncodeRune(r)
		return hi
	}
	return r
}
