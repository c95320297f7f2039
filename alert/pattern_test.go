package alert_test

import (
	"testing"

	"github.com/vigilhq/vigil/alert"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"patient_record.viewed", "patient_record.viewed", true},
		{"patient_record.viewed", "patient_record.viewedx", false},
		{"patient_record.*", "patient_record.viewed", true},
		{"patient_record.*", "patient_record.", true}, // '*' matches an empty run
		{"patient_record.*", "patient_recordXviewed", false},
		{"*.accessed", "lab_results.accessed", true},
		{"*.accessed", "lab_results.accessed.twice", false},
		{"*", "", true},
		{"*", "anything.at.all", true},
		{"**", "x", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
		{"a*b*c", "abcbc", true},
		{"a*a", "a", false}, // prefix and suffix may not overlap
		{"a*a", "aa", true},
		{"*.deleted", "Patient.DELETED", false}, // case matters, as in the query filter (GLOB)
		{"a?b[1]", "a?b[1]", true},              // only '*' is special
		{"a?b[1]", "axb1", false},
		{"x%y_z", "x%y_z", true},
		{"x%y_z", "xAyBz", false},
		{"é*", "école.viewed", true},
	}
	for _, tt := range tests {
		if got := alert.NewPattern(tt.pattern).Match(tt.action); got != tt.want {
			t.Errorf("NewPattern(%q).Match(%q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

// FuzzPatternMatch checks the matcher against a plain backtracking one.
func FuzzPatternMatch(f *testing.F) {
	f.Add("a*b*c", "aXbYc")
	f.Add("*.x*", "a.x.y")
	f.Fuzz(func(t *testing.T, pattern, action string) {
		if len(pattern) > 20 || len(action) > 40 {
			return
		}
		if got, want := alert.NewPattern(pattern).Match(action), naive(pattern, action); got != want {
			t.Fatalf("NewPattern(%q).Match(%q) = %v, want %v", pattern, action, got, want)
		}
	})
}

func naive(p, s string) bool {
	if p == "" {
		return s == ""
	}
	if p[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if naive(p[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	return s != "" && p[0] == s[0] && naive(p[1:], s[1:])
}
