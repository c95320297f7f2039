package ledger_test

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/vigilhq/vigil/ledger"
)

var update = flag.Bool("update", false, "rewrite the test vectors and the golden bundle in testdata")

// TestWriteLeafVectors rewrites testdata/leaves.json under -update. The
// vectors are the contract of leaf format version 1: once published they
// never change.
func TestWriteLeafVectors(t *testing.T) {
	if !*update {
		return
	}
	var vs []leafVector
	for i, e := range sampleEvents() {
		c := ledger.AppendEvent(nil, &e)
		vs = append(vs, leafVector{Name: []string{"minimal", "every field"}[i], Event: e, Canonical: string(c), LeafHash: ledger.LeafHash(c).String()})
	}
	b, _ := json.MarshalIndent(vs, "", "  ")
	if err := os.WriteFile("testdata/leaves.json", append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
