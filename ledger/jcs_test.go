package ledger_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/ledger"
)

// TestCanonicalizeRFCExamples: the examples of RFC 8785 §3.2.2 (values),
// §3.2.3 (sorting) and the structures sample of its reference code.
func TestCanonicalizeRFCExamples(t *testing.T) {
	for _, name := range []string{"values", "structures", "unicode"} {
		in := readTestdata(t, "jcs/"+name+".json")
		want := readTestdata(t, "jcs/"+name+".canonical")
		got, err := ledger.Canonicalize(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestNumbersRFCAppendixB: the IEEE doubles of RFC 8785 Appendix B.
func TestNumbersRFCAppendixB(t *testing.T) {
	n := 0
	for _, f := range vectorLines(t, "jcs/numbers.txt") {
		bits, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ledger.AppendNumber(nil, math.Float64frombits(bits))
		if err != nil || string(got) != f[1] {
			t.Errorf("%s: got %s %v, want %s", f[0], got, err, f[1])
		}
		n++
	}
	if n != 24 {
		t.Fatalf("%d vectors, want Appendix B's 24", n)
	}
}

// TestNumberTexts: number spellings in JSON text and their canonical form.
func TestNumberTexts(t *testing.T) {
	for _, f := range vectorLines(t, "jcs/number-texts.txt") {
		got, err := ledger.Canonicalize([]byte(f[0]))
		if err != nil || string(got) != f[1] {
			t.Errorf("%s: got %s %v, want %s", f[0], got, err, f[1])
		}
	}
}

// TestNumberDigitsAreClosest checks AppendNumber against an independent
// statement of ECMAScript's rule on random doubles: the digits are the
// fewest that read back as the double, and among those the closest, which
// is the correctly rounded decimal of that length.
func TestNumberDigitsAreClosest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
			continue
		}
		out, err := ledger.AppendNumber(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		back, err := strconv.ParseFloat(string(out), 64)
		if err != nil || back != f {
			t.Fatalf("%x: %s reads back as %v", math.Float64bits(f), out, back)
		}
		digits, _ := significand(string(out))
		want, _ := significand(strconv.FormatFloat(math.Abs(f), 'e', len(digits)-1, 64))
		if digits != want {
			t.Fatalf("%x: digits %s, the correctly rounded %d digits are %s", math.Float64bits(f), digits, len(digits), want)
		}
		if len(digits) > 1 {
			if shorter, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'e', len(digits)-2, 64), 64); shorter == f {
				t.Fatalf("%x: %s is not the shortest", math.Float64bits(f), out)
			}
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := ledger.AppendNumber(nil, f); !errors.Is(err, ledger.ErrNotFinite) {
			t.Errorf("%v: %v", f, err)
		}
	}
}

// significand returns the significant digits of a number's text, without
// sign, point, exponent, or leading and trailing zeros.
func significand(s string) (string, int) {
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	e, _ := strconv.Atoi(exp)
	d := strings.TrimLeft(strings.ReplaceAll(strings.TrimPrefix(mant, "-"), ".", ""), "0")
	return strings.TrimRight(d, "0"), e
}

// TestCanonicalizeRefuses: the inputs of testdata/jcs/invalid.json have no
// canonical form.
func TestCanonicalizeRefuses(t *testing.T) {
	var cases []struct{ Name, Hex string }
	if err := json.Unmarshal(readTestdata(t, "jcs/invalid.json"), &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		in, err := hex.DecodeString(c.Hex)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ledger.Canonicalize(in)
		var ce *ledger.CanonicalError
		if !errors.As(err, &ce) {
			t.Errorf("%s: %q gave %q %v, want a *CanonicalError", c.Name, in, out, err)
		}
	}
}

// TestCanonicalErrorNamesTheValue: errors carry a JSON Pointer.
func TestCanonicalErrorNamesTheValue(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":{"b":[1,2,{"c":9007199254740993}]}}`: "/a/b/2/c: integer beyond ±2^53 would lose precision (RFC 7493 I-JSON)",
		`{"x":1,"a/b~":{"k":1,"k":2}}`:             "/a~1b~0/k: duplicate member name",
		`{"z":1,"y":{"k":1,"j":2,"k":3}}`:          "/y/k: duplicate member name",
		`[0,"\ud800"]`:                             "/1: lone UTF-16 surrogate in a \\u escape",
		`{"a":tru}`:                                "/a: invalid literal",
	} {
		_, err := ledger.Canonicalize([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

func TestCanonicalizeAccepts(t *testing.T) {
	for in, want := range map[string]string{
		`{"s":"\ud83d\ude00"}`:                            `{"s":"😀"}`,
		`{"s":"\u0000\u001f\u007f\b\f\n\r\t\/"}`:          "{\"s\":\"\\u0000\\u001f\u007f\\b\\f\\n\\r\\t/\"}",
		` [ -0.0 , 1.50 , true , false , null ] `:         `[0,1.5,true,false,null]`,
		"{\"\u2028\":\"</script>\",\"<\":\"&\"}":          "{\"<\":\"&\",\"\u2028\":\"</script>\"}",
		`{"b":{},"a":[]}`:                                 `{"a":[],"b":{}}`,
		strings.Repeat("[", 32) + strings.Repeat("]", 32): strings.Repeat("[", 32) + strings.Repeat("]", 32),
		`{"\ufb33":1,"\ud83d\ude00":2,"\u00f6":3}`:        "{\"ö\":3,\"😀\":2,\"\ufb33\":1}",
	} {
		got, err := ledger.Canonicalize([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("%s: got %s %v, want %s", in, got, err, want)
		}
	}
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x"]}`, `1.5e-7`, `"\u20ac\ud83d\ude00"`, `{"":{"":[]}}`,
		`[1e21,-0,0.000001]`, `{"\r":1,"1":2,"\u0080":3}`, `{"a":{"b":{"c":[1,{"d":null}]}}}`} {
		f.Add([]byte(s))
	}
	for _, name := range []string{"values", "structures", "unicode"} {
		f.Add(readTestdata(f, "jcs/"+name+".json"))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ledger.Canonicalize(in)
		if err != nil {
			return
		}
		// What has a canonical form is JSON, and means the same after.
		var before, after any
		if err := json.Unmarshal(in, &before); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", in, err)
		}
		if err := json.Unmarshal(c, &after); err != nil {
			t.Fatalf("output %q does not parse: %v", c, err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("%q became %q: %v != %v", in, c, before, after)
		}
		again, err := ledger.Canonicalize(c)
		if err != nil || string(again) != string(c) {
			t.Fatalf("not idempotent: %q -> %q (%v)", c, again, err)
		}
	})
}

func BenchmarkCanonicalize(b *testing.B) {
	in := []byte(`{"sections":["demographics","medications"],"department":"internal_medicine","reason":"follow-up \"visit\"","count":3,"score":0.75,"nested":{"z":true,"a":null}}`)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ledger.Canonicalize(in); err != nil {
			b.Fatal(err)
		}
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorLines reads a vector file of space-separated fields, skipping
// comments and blank lines.
func vectorLines(t testing.TB, name string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, strings.Fields(line))
		}
	}
	return out
}
