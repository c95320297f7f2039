package ledger_test

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/vigilhq/vigil/ledger"
)

var update = flag.Bool("update", false, "write the leaf vectors and the golden bundles in testdata (published vectors must not change)")

// writeLeafVectors rewrites testdata/leaves.json; TestLeafVectors calls
// it under -update before checking the vectors.
func writeLeafVectors(t *testing.T) {
	var vs []leafVector
	for i, e := range sampleEvents() {
		c := ledger.AppendEvent(nil, &e)
		vs = append(vs, leafVector{Name: vectorNames[i], Event: e, Canonical: string(c), LeafHash: ledger.LeafHash(c).String()})
	}
	b, err := json.MarshalIndent(vs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/leaves.json", append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
