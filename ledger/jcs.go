package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vigilhq/vigil"
)

// CanonicalError reports why a JSON value has no canonical form.
type CanonicalError struct {
	Path string // a JSON-pointer-like path to the offending value
	Msg  string
}

func (e *CanonicalError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// maxSafeInteger is 2^53: integers beyond it are not exactly representable
// as IEEE doubles, which RFC 8785 numbers are.
const maxSafeInteger = 1 << 53

// Canonicalize returns the RFC 8785 (JCS) form of one JSON value. It
// refuses what has no faithful canonical form: invalid UTF-8, lone UTF-16
// surrogates, duplicate object keys, numbers outside the double range,
// integers beyond ±2^53 (they would lose precision), and nesting deeper
// than vigil.MaxJSONDepth.
func Canonicalize(raw []byte) ([]byte, error) {
	if !utf8.Valid(raw) {
		return nil, &CanonicalError{Msg: "invalid UTF-8"}
	}
	if err := checkSurrogates(raw); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeValue(dec, "", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &CanonicalError{Msg: "data after the JSON value"}
	}
	return appendValue(nil, v), nil
}

// member is one object member, kept in input order until sorting.
type member struct {
	key string
	val any
}

func decodeValue(dec *json.Decoder, path string, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, &CanonicalError{Path: path, Msg: "invalid JSON: " + err.Error()}
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= vigil.MaxJSONDepth {
			return nil, &CanonicalError{Path: path, Msg: fmt.Sprintf("nesting deeper than %d", vigil.MaxJSONDepth)}
		}
		switch t {
		case '{':
			var ms []member
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, &CanonicalError{Path: path, Msg: "invalid JSON: " + err.Error()}
				}
				k := kt.(string)
				if seen[k] {
					return nil, &CanonicalError{Path: path + "/" + k, Msg: "duplicate key"}
				}
				seen[k] = true
				v, err := decodeValue(dec, path+"/"+k, depth+1)
				if err != nil {
					return nil, err
				}
				ms = append(ms, member{k, v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, &CanonicalError{Path: path, Msg: "invalid JSON: " + err.Error()}
			}
			sort.Slice(ms, func(i, j int) bool { return lessUTF16(ms[i].key, ms[j].key) })
			return ms, nil
		case '[':
			arr := []any{}
			for i := 0; dec.More(); i++ {
				v, err := decodeValue(dec, path+"/"+strconv.Itoa(i), depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, &CanonicalError{Path: path, Msg: "invalid JSON: " + err.Error()}
			}
			return arr, nil
		}
	case json.Number:
		f, err := numberValue(string(t))
		if err != nil {
			return nil, &CanonicalError{Path: path, Msg: err.Error()}
		}
		return f, nil
	case string, bool, nil:
		return t, nil
	}
	return nil, &CanonicalError{Path: path, Msg: "unexpected JSON token"}
}

// numberValue parses a JSON number as the double it denotes.
func numberValue(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, errors.New("number out of the IEEE double range")
	}
	if !strings.ContainsAny(s, ".eE") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > maxSafeInteger || n < -maxSafeInteger {
			return 0, errors.New("integer beyond ±2^53 would lose precision (RFC 7493 I-JSON)")
		}
	}
	return f, nil
}

// lessUTF16 orders strings by their UTF-16 code units, as RFC 8785 sorts
// object keys.
func lessUTF16(a, b string) bool {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return ua[i] < ub[i]
		}
	}
	return len(ua) < len(ub)
}

func appendValue(dst []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if t {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case string:
		return appendString(dst, t)
	case float64:
		return AppendNumber(dst, t)
	case []any:
		dst = append(dst, '[')
		for i, x := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, x)
		}
		return append(dst, ']')
	case []member:
		dst = append(dst, '{')
		for i, m := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, m.key)
			dst = append(dst, ':')
			dst = appendValue(dst, m.val)
		}
		return append(dst, '}')
	}
	panic(fmt.Sprintf("ledger: no canonical form for %T", v))
}

// appendString writes s as RFC 8785 does: only '"', '\\' and control
// characters are escaped, with the short escapes where JSON has them.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			const hex = "0123456789abcdef"
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendNumber writes f as ECMAScript's Number.prototype.toString does,
// which is RFC 8785's number form.
func AppendNumber(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0') // also -0
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest round-tripping digits and exponent: d.ddde±x.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	n := x + 1 // the position of the decimal point relative to the digits
	k := len(digits)
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// checkSurrogates refuses \u escapes of lone UTF-16 surrogates, which
// encoding/json would silently turn into U+FFFD.
func checkSurrogates(b []byte) error {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(b) && b[i+1] == 'u' {
				r, ok := hex4(b, i+2)
				if ok && r >= 0xD800 && r < 0xDC00 {
					lo, ok2 := hex4(b, i+8)
					if !(ok2 && i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' && lo >= 0xDC00 && lo < 0xE000) {
						return &CanonicalError{Msg: "lone UTF-16 surrogate escape"}
					}
					i += 11 // the pair
					continue
				}
				if ok && r >= 0xDC00 && r < 0xE000 {
					return &CanonicalError{Msg: "lone UTF-16 surrogate escape"}
				}
			}
			i++
		}
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	return rune(v), err == nil
}
