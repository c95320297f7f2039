package vigil_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var syntaxNames = map[vigil.TimeSyntax]string{
	vigil.TimeInstant: "instant", vigil.TimeInstantOrDate: "instant-or-date",
	vigil.TimeFHIRDateTime: "fhir-datetime", vigil.TimeFHIRSearch: "fhir-search",
}

// timeInputs are the golden cases of the time parser: every form, at and
// beyond every edge of the rule.
var timeInputs = []string{
	// The forms.
	"2024", "2024-06", "2024-06-15", "2024-06-15T08:30", "2024-06-15T08:30Z", "2024-06-15T08:30:00",
	"2024-06-15T08:30:00Z", "2024-06-15T08:30:00.5Z", "2024-06-15T08:30:00.123456789Z", "2024-06-15T08:30:00.123456789",
	"2024-06-15T08:30:00+02:00", "2024-06-15T08:30:00-05:30", "2024-06-15T08:30:00-00:00",
	// The range: int64 nanoseconds end in 2262; the rule ends with 2200.
	"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z", "1970-01-01T00:59:59+01:00", "1970", "1969", "1969-12", "1969-12-31",
	"2200-12-31T23:59:59.999999999Z", "2201-01-01T00:00:00Z", "2200-12-31T23:00:00-01:00", "2200-12-31T10:00:00-14:00", "2200",
	"2201", "2200-12", "2200-12-31", "2201-01-01", "2262-04-11T23:47:16.854775807Z", "2262-04-12T00:00:00Z", "2999-01-01", "9999-12-31",
	"9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1677-09-21T00:12:43Z",
	// Offsets: at most 14:00 either way.
	"2024-06-15T08:30:00+14:00", "2024-06-15T08:30:00-14:00", "2024-06-15T08:30:00+14:01", "2024-06-15T08:30:00+15:00",
	"2024-06-15T08:30:00+23:59", "2024-06-15T08:30:00+24:00", "2024-06-15T08:30:00+99:00", "2024-06-15T08:30:00+05:60",
	"2024-06-15T08:30:00+0530", "2024-06-15T08:30:00+5:30", "2024-06-15T08:30+14:30",
	// Fractions: at most nine digits, never cut.
	"2024-06-15T08:30:00.000000001Z", "2024-06-15T08:30:00.1234567891Z", "2024-06-15T08:30:00.1234567890Z", "2024-06-15T08:30:00.Z",
	"2024-06-15T08:30:00,5Z",
	// Dates and times that do not exist.
	"2024-02-29", "2023-02-29", "2024-02-30T00:00:00Z", "2024-13-01", "2024-00-10", "2024-06-00", "2024-06-31",
	"2024-06-15T24:00:00Z", "2024-06-15T23:60:00Z", "2024-06-15T23:59:60Z", "2024-06-15T23:59:61Z", "2016-12-31T23:59:60Z",
	// Other shapes.
	"", "2024-6-15", "24-06-15", "2024/06/15", "2024-06-15 08:30:00Z", "2024-06-15t08:30:00z", "2024-06-15T08:30:00z",
	"2024-06-15T08Z", "2024-06-15T08:30:00Z ", " 2024-06-15", "2024-06T08:30:00Z", "20240615", "2024-06-15T08:30:00UTC",
	"yesterday", "2024-06-15T08:30:00+02:00:00", "+2024-06-15", "２０２４-06-15",
}

// TestParseTimeGolden runs every input through every syntax and compares
// with testdata/times.golden (go test -run TestParseTimeGolden -update
// rewrites it; review the diff).
func TestParseTimeGolden(t *testing.T) {
	var b strings.Builder
	for _, in := range timeInputs {
		for _, syntax := range []vigil.TimeSyntax{vigil.TimeInstant, vigil.TimeInstantOrDate, vigil.TimeFHIRDateTime, vigil.TimeFHIRSearch} {
			sp, err := vigil.ParseTime(in, syntax)
			out := ""
			if err != nil {
				out = "refused: " + err.Error()
			} else {
				out = sp.Start.Format(time.RFC3339Nano) + " until " + sp.End.Format(time.RFC3339Nano)
			}
			fmt.Fprintf(&b, "%q\t%s\t%s\n", in, syntaxNames[syntax], out)
		}
	}
	golden(t, "testdata/times.golden", b.String())
}

// TestParseTimeRoundTrips: every time ParseTime accepts is kept exactly
// by int64 nanoseconds, the stores' form, and so are the ends of the
// spans it stands for.
func TestParseTimeRoundTrips(t *testing.T) {
	for _, in := range timeInputs {
		for syntax := range syntaxNames {
			sp, err := vigil.ParseTime(in, syntax)
			if err != nil {
				continue
			}
			for _, tm := range []time.Time{sp.Start, sp.End} {
				if back := time.Unix(0, tm.UnixNano()).UTC(); !back.Equal(tm) {
					t.Errorf("%q (%s): %v does not survive int64 nanoseconds: %v", in, syntaxNames[syntax], tm, back)
				}
			}
			if vigil.CheckTime(sp.Start) != "" || !sp.End.After(sp.Start) || sp.Start.Location() != time.UTC {
				t.Errorf("%q (%s): span %v..%v", in, syntaxNames[syntax], sp.Start, sp.End)
			}
		}
	}
}

// FuzzParseTime: whatever the text, ParseTime accepts a time that
// round-trips through int64 nanoseconds and RFC 3339, or refuses it; an
// instant it accepts means what time.Parse reads.
func FuzzParseTime(f *testing.F) {
	for _, in := range timeInputs {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for syntax := range syntaxNames {
			sp, err := vigil.ParseTime(in, syntax)
			if err != nil {
				continue
			}
			if time.Unix(0, sp.Start.UnixNano()).UTC() != sp.Start || vigil.CheckTime(sp.Start) != "" {
				t.Fatalf("%q: %v", in, sp.Start)
			}
			if syntax == vigil.TimeInstant {
				std, err := time.Parse(time.RFC3339Nano, in)
				if err != nil || !std.Equal(sp.Start) {
					t.Fatalf("%q: ParseTime %v, time.Parse %v %v", in, sp.Start, std, err)
				}
			}
		}
	})
}

// golden compares got with a file under testdata, or rewrites it.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := range max(len(wl), len(gl)) {
			w, g := "", ""
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Errorf("%s line %d:\n got %s\nwant %s", path, i+1, g, w)
			}
		}
	}
}
