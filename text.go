package vigil

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// StringKind is what a string a client gives may hold. Every string the
// API takes is checked as one of these kinds, by CheckString.
type StringKind uint8

const (
	// Identifier is an id, code, type, action, tenant, channel or
	// pattern: something compared byte for byte and shown to auditors as
	// the proof of who did what. It holds no control characters (C0, DEL,
	// C1), no line or paragraph separators and no invisible format
	// characters (zero-width characters, bidirectional controls, the byte
	// order mark): any of them would let one id read as another.
	Identifier StringKind = iota
	// Line is a name, user agent, source or search: one line of text. It
	// holds no control characters (a tab included), no line or paragraph
	// separators and no bidirectional embeddings, overrides or isolates,
	// which reorder what a reader sees. Other format characters stay:
	// scripts need the zero-width joiners and the direction marks.
	Line
	// Text is free text (an alert's notes, FHIR narrative and
	// descriptions): it may also hold tabs and line breaks (\t, \n, \r).
	Text
)

// CheckString returns what is wrong with s as a string of kind of at most
// max bytes, as a message that follows the field's name ("must be at most
// 255 bytes"), or "" when nothing is. It also refuses invalid UTF-8 and
// NUL, so every string it passes can be stored.
func CheckString(s string, kind StringKind, max int) string {
	if len(s) > max {
		return "must be at most " + strconv.Itoa(max) + " bytes"
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			if kind == Text && (c == '\t' || c == '\n' || c == '\r') {
				i++
				continue
			}
			return refusedAt(rune(c), "a control character", i)
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return "must be valid UTF-8"
		}
		if what := refusedRune(r, kind); what != "" {
			return refusedAt(r, what, i)
		}
		i += size
	}
	return ""
}

// Sanitize makes a string the server copies from a request into an
// event (a header, a stored key's name) fit kind: invalid UTF-8 and every
// character kind refuses become U+FFFD, and the result is cut to at most
// max bytes on a character boundary. Strings a client gives as fields are
// never sanitized, only refused (CheckString).
func Sanitize(s string, kind StringKind, max int) string {
	if CheckString(s, kind, max) == "" {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		ok := r != utf8.RuneError || size > 1
		if r < utf8.RuneSelf {
			ok = r >= 0x20 && r < 0x7f || kind == Text && (r == '\t' || r == '\n' || r == '\r')
		} else if ok {
			ok = refusedRune(r, kind) == ""
		}
		if !ok {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

// refusedRune says why a non-ASCII rune may not appear in a string of
// kind, or "" when it may.
func refusedRune(r rune, kind StringKind) string {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return "a control character"
	case r == '\u2028' || r == '\u2029':
		return "a line or paragraph separator"
	case kind == Identifier && unicode.Is(unicode.Cf, r):
		return "an invisible format character"
	case kind == Line && (r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'):
		return "a bidirectional embedding, override or isolate"
	}
	return ""
}

func refusedAt(r rune, what string, at int) string {
	return "must not contain " + what + " (" + runeName(r) + " at byte " + strconv.Itoa(at) + ")"
}

// runeName is r as U+XXXX.
func runeName(r rune) string {
	h := strings.ToUpper(strconv.FormatInt(int64(r), 16))
	return "U+" + strings.Repeat("0", max(0, 4-len(h))) + h
}

// ValidText reports whether s can be stored as a string: valid UTF-8
// without NUL bytes. Strings a client gives are checked with CheckString,
// which implies it; ValidText guards what the server derives from them.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
