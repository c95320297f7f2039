package ledger

import (
	"errors"
	"math"
	"strconv"
)

// maxSafeInteger is 2^53 in decimal: integers beyond it are not all exactly
// representable as IEEE doubles, which RFC 8785 numbers are.
const maxSafeInteger = "9007199254740992"

// number reads a JSON number (RFC 8259 grammar, strictly) and appends the
// canonical form of the double it denotes.
func (p *parser) number(dst []byte) ([]byte, error) {
	in, start := p.in, p.pos
	digits := func() int {
		n := 0
		for p.pos < len(in) && in[p.pos] >= '0' && in[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if in[p.pos] == '-' {
		p.pos++
	}
	intStart := p.pos
	switch {
	case p.pos < len(in) && in[p.pos] == '0':
		p.pos++
	case digits() == 0:
		return nil, p.numberError(start, "invalid number")
	}
	intEnd := p.pos
	integer := true
	if p.pos < len(in) && in[p.pos] == '.' {
		p.pos++
		integer = false
		if digits() == 0 {
			return nil, p.numberError(start, "invalid number: no digits after the decimal point")
		}
	}
	mantissaEnd := p.pos
	if p.pos < len(in) && (in[p.pos] == 'e' || in[p.pos] == 'E') {
		p.pos++
		integer = false
		if p.pos < len(in) && (in[p.pos] == '+' || in[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.numberError(start, "invalid number: no digits in the exponent")
		}
	}
	if integer {
		// An integer within ±2^53 is its own canonical form (less than
		// 1e21, so ECMAScript prints all its digits), except -0.
		n := in[intStart:intEnd]
		if len(n) > len(maxSafeInteger) || len(n) == len(maxSafeInteger) && string(n) > maxSafeInteger {
			return nil, p.numberError(start, "integer beyond ±2^53 would lose precision (RFC 7493 I-JSON)")
		}
		if string(n) == "0" {
			return append(dst, '0'), nil
		}
		return append(dst, in[start:intEnd]...), nil
	}
	f, err := strconv.ParseFloat(string(in[start:p.pos]), 64)
	if err != nil {
		return nil, p.numberError(start, "number beyond the IEEE double range")
	}
	if f == 0 && hasNonZeroDigit(in[intStart:mantissaEnd]) {
		return nil, p.numberError(start, "number too small for an IEEE double: it would become 0")
	}
	if a := math.Abs(f); a > 1<<53 && a < 1e21 {
		// ECMAScript prints these as integers beyond ±2^53, which the
		// rule above refuses: refusing them here too keeps Canonicalize
		// idempotent.
		return nil, p.numberError(start, "number would be written as an integer beyond ±2^53 (RFC 7493 I-JSON)")
	}
	return AppendNumber(dst, f)
}

func (p *parser) numberError(start int, msg string) error {
	p.pos = start
	return p.fail(msg)
}

func hasNonZeroDigit(b []byte) bool {
	for _, c := range b {
		if c >= '1' && c <= '9' {
			return true
		}
	}
	return false
}

// ErrNotFinite is returned for NaN and the infinities, which JSON cannot
// express.
var ErrNotFinite = errors.New("ledger: NaN and infinities have no JSON form")

// AppendNumber appends f as ECMAScript's Number.prototype.toString prints
// it, which is RFC 8785's number form: the shortest digits that read back
// as f (the closest such when several are as short), in plain notation for
// magnitudes in [1e-6, 1e21) and exponent notation otherwise; -0 as 0.
func AppendNumber(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, ErrNotFinite
	}
	if f == 0 {
		return append(dst, '0'), nil
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// strconv's shortest form is d.ddddde±xx: the same digits ECMAScript
	// chooses. Only the layout differs.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	exp := 0
	mark := len(e) - 1
	for e[mark] != 'e' {
		mark--
	}
	for _, c := range e[mark+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[mark+1] == '-' {
		exp = -exp
	}
	digits := e[:mark]
	if len(digits) > 1 {
		// Drop the decimal point: "d.dddd" → "ddddd", in place.
		copy(digits[1:], digits[2:])
		digits = digits[:len(digits)-1]
	}
	k, n := len(digits), exp+1 // ECMAScript's k and n: the value is digits × 10^(n-k)
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
	return dst, nil
}
