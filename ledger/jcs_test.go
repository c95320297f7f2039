package ledger_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/ledger"
)

func TestCanonicalizeRFCExamples(t *testing.T) {
	for _, name := range []string{"values", "structures", "unicode"} {
		in, err := os.ReadFile("testdata/jcs/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("testdata/jcs/" + name + ".canonical")
		if err != nil {
			t.Fatal(err)
		}
		got, err := ledger.Canonicalize(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

func TestNumbersRFCAppendixB(t *testing.T) {
	f, err := os.Open("testdata/jcs/numbers.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		hex, want, _ := strings.Cut(line, " ")
		bits, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(ledger.AppendNumber(nil, math.Float64frombits(bits))); got != want {
			t.Errorf("%s: got %s, want %s", hex, got, want)
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d vectors", n)
	}
}

func TestCanonicalizeRefuses(t *testing.T) {
	for _, in := range []string{
		`{"a":1,"a":2}`,          // duplicate key
		`{"n":9007199254740993}`, // beyond 2^53
		`{"n":-18446744073709551616}`,
		`{"n":1e400}`,      // out of range
		`{"s":"\ud800"}`,   // lone high surrogate
		`{"s":"\udc00x"}`,  // lone low surrogate
		"{\"s\":\"\xff\"}", // invalid UTF-8
		`{"a":1} {"b":2}`,  // two values
		`{"a":`,            // truncated
		strings.Repeat("[", 40) + strings.Repeat("]", 40),
	} {
		_, err := ledger.Canonicalize([]byte(in))
		var ce *ledger.CanonicalError
		if !errors.As(err, &ce) {
			t.Errorf("%q: %v, want a *CanonicalError", in, err)
		}
	}
	// Decimal and exponent forms of large numbers are accepted (they are
	// doubles by their own spelling), and a valid surrogate pair is kept.
	for in, want := range map[string]string{
		`{"n":9007199254740992}`:     `{"n":9007199254740992}`,
		`{"n":1e21}`:                 `{"n":1e+21}`,
		`{"s":"\ud83d\ude00"}`:       `{"s":"😀"}`,
		`{"s":"\u0000\u001f\u007f"}`: "{\"s\":\"\\u0000\\u001f\u007f\"}",
		` [ -0.0 , 1.50 ] `:          `[0,1.5]`,
	} {
		got, err := ledger.Canonicalize([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("%s: got %s %v, want %s", in, got, err, want)
		}
	}
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x"]}`, `1.5e-7`, `"\u20ac"`, `{"":{"":[]}}`, `[1e21,-0,0.000001]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ledger.Canonicalize(in)
		if err != nil {
			return
		}
		if !json.Valid(c) {
			t.Fatalf("invalid output %q", c)
		}
		again, err := ledger.Canonicalize(c)
		if err != nil || string(again) != string(c) {
			t.Fatalf("not idempotent: %q -> %q (%v)", c, again, err)
		}
	})
}
