package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestSoakRuns runs a very short soak and checks that it reports samples
// and the summary (the figures themselves are for docs/reliability.md).
func TestSoakRuns(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"bench", "--dir", t.TempDir(), "--soak", "3s", "--soak-sample", "1s",
		"--soak-peak", "1s", "--concurrency", "8"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	o := out.String()
	if strings.Count(o, "\n") < 6 || !strings.Contains(o, "soak summary:") || !strings.Contains(o, " 0 errors;") {
		t.Fatalf("soak output:\n%s", o)
	}
}
