package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	rowLine   = regexp.MustCompile(`^  (vigil|immudb|tessera) +(\d+) events/s, p50 ([\d.]+(?:ns|µs|ms|s)), p99 ([\d.]+(?:ns|µs|ms|s)), (\d+) events, (\d+) errors$`)
	ratioLine = regexp.MustCompile(`^  vigil/(immudb|tessera) ([\d.]+)x$`)
)

// TestPeersRun measures every system briefly at two writer counts and
// checks that each printed positive figures with no errors, and Vigil's
// ratio to each peer.
func TestPeersRun(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-dir", t.TempDir(), "-duration", "300ms", "-writers", "1,8"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errb.String())
	}
	rows, ratios := map[string]int{}, map[string]int{}
	writers := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasSuffix(l, ", single events, round 1") {
			writers = strings.Fields(l)[0]
		}
		if m := rowLine.FindStringSubmatch(l); m != nil {
			for _, k := range []int{2, 5} {
				if n, _ := strconv.Atoi(m[k]); n <= 0 {
					t.Fatalf("not a positive figure: %q\n%s", l, out.String())
				}
			}
			if m[6] != "0" || m[3] == "0s" || m[4] == "0s" {
				t.Fatalf("errors or no latencies: %q\n%s", l, out.String())
			}
			rows[writers+" "+m[1]]++
		}
		if m := ratioLine.FindStringSubmatch(l); m != nil {
			if x, _ := strconv.ParseFloat(m[2], 64); x <= 0 {
				t.Fatalf("ratio %q", l)
			}
			ratios[writers+" "+m[1]]++
		}
	}
	for _, w := range []string{"1", "8"} {
		for _, s := range []string{"vigil", "immudb", "tessera"} {
			if rows[w+" "+s] != 1 {
				t.Errorf("%s writers, %s: %d rows", w, s, rows[w+" "+s])
			}
			if s != "vigil" && ratios[w+" "+s] != 1 {
				t.Errorf("%s writers: %d ratios vigil/%s", w, ratios[w+" "+s], s)
			}
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestPeersRefusesUnknownSystems(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"-dir", t.TempDir(), "-systems", "vigil,immudv"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `no system "immudv"`) {
		t.Fatalf("err %v", err)
	}
}
