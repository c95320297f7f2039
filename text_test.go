package vigil_test

import (
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
)

// TestCheckString: what each kind of string may hold.
func TestCheckString(t *testing.T) {
	ok := func(kinds ...vigil.StringKind) []vigil.StringKind { return kinds }
	all := ok(vigil.Identifier, vigil.Line, vigil.Text)
	for _, c := range []struct {
		s        string
		accepted []vigil.StringKind
	}{
		{"", all}, {"dr_m4k8p2", all}, {"Dr. Émilie Nakamura", all}, {"患者-記録", all}, {"a b", all}, {"a\u00a0b", all},
		{"😀", all}, {"a\tb", ok(vigil.Text)}, {"a\nb", ok(vigil.Text)}, {"a\r\nb", ok(vigil.Text)},
		{"a\x00b", nil}, {"a\x01b", nil}, {"a\x1bb", nil}, {"a\x7fb", nil}, {"a\u0080b", nil}, {"a\u0085b", nil}, {"a\u009fb", nil},
		{"a\u2028b", nil}, {"a\u2029b", nil},
		// Invisible format characters: refused in identifiers; in names
		// only those that reorder what a reader sees.
		{"a\u200bb", ok(vigil.Line, vigil.Text)}, {"a\u200db", ok(vigil.Line, vigil.Text)}, {"a\u200eb", ok(vigil.Line, vigil.Text)},
		{"a\ufeffb", ok(vigil.Line, vigil.Text)}, {"a\u00adb", ok(vigil.Line, vigil.Text)}, {"a\u2060b", ok(vigil.Line, vigil.Text)},
		{"a\u202ab", ok(vigil.Text)}, {"a\u202eb", ok(vigil.Text)}, {"a\u2066b", ok(vigil.Text)}, {"a\u2069b", ok(vigil.Text)},
		{"a\xffb", nil}, {"\xc3", nil}, {"a\xed\xa0\x80b", nil}, // a lone surrogate in UTF-8
	} {
		for _, kind := range all {
			msg := vigil.CheckString(c.s, kind, 64)
			want := false
			for _, k := range c.accepted {
				want = want || k == kind
			}
			if (msg == "") != want {
				t.Errorf("CheckString(%q, kind %d) = %q, want accepted: %v", c.s, kind, msg, want)
			}
		}
	}
	if msg := vigil.CheckString(strings.Repeat("a", 65), vigil.Identifier, 64); msg != "must be at most 64 bytes" {
		t.Errorf("length: %q", msg)
	}
	if msg := vigil.CheckString("dr\u200bx", vigil.Identifier, 64); msg != "must not contain an invisible format character (U+200B at byte 2)" {
		t.Errorf("message: %q", msg)
	}
}

// FuzzSanitize: whatever a header holds, Sanitize gives a string its kind
// accepts, and leaves alone one it already accepts.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"curl/8.0", "a\tb", "a\u0085b", "a\u202eb", "\xff\xfe", strings.Repeat("é", 600), "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []vigil.StringKind{vigil.Identifier, vigil.Line, vigil.Text} {
			got := vigil.Sanitize(s, kind, 100)
			if msg := vigil.CheckString(got, kind, 100); msg != "" {
				t.Fatalf("Sanitize(%q, %d) = %q: %s", s, kind, got, msg)
			}
			if vigil.CheckString(s, kind, 100) == "" && got != s {
				t.Fatalf("Sanitize changed the acceptable %q to %q", s, got)
			}
		}
	})
}
