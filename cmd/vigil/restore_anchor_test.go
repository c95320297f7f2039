package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
)

// TestRestoreChecksAnchors: a restored log is compared with the confirmed
// anchors its state holds: anchors of its own tree agree, one whose root
// differs refuses the restore (a rewritten backup, even re-signed), and
// one beyond the restored log is reported as anchored events lost.
func TestRestoreChecksAnchors(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	d, err := openData(ctx, data, dataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	for i := range 20 {
		if _, err := d.db.Append(ctx, defaultWS, []vigil.Event{{ActorID: "dr_1", Action: "patient.record.viewed", ResourceID: "rec_" + string(rune('a'+i))}}); err != nil {
			t.Fatal(err)
		}
	}
	root, err := d.db.TreeRoot(ctx, defaultWS, 10)
	if err != nil {
		t.Fatal(err)
	}
	anchor := func(size int64, root vigil.Hash) {
		t.Helper()
		a, err := d.db.CreateAnchor(ctx, vigil.Anchor{Workspace: defaultWS, Chain: "witness:test", Kind: vigil.AnchorCosignature,
			Checkpoint: []byte("checkpoint"), TreeSize: size, Root: root, Status: vigil.AnchorPending})
		if err != nil {
			t.Fatal(err)
		}
		a.Status, a.Evidence = vigil.AnchorConfirmed, []byte("evidence")
		if _, err := d.db.UpdateAnchor(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	anchor(10, root)
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &out}
	if err := checkAnchors(ctx, env, d, defaultWS); err != nil || !strings.Contains(out.String(), "agrees with its 1 confirmed anchors") {
		t.Fatalf("an anchor of the tree's own root: %v\n%s", err, out.String())
	}
	anchor(50, root)
	out.Reset()
	if err := checkAnchors(ctx, env, d, defaultWS); err != nil || !strings.Contains(out.String(), "attests 50 events; the restored log holds 20") {
		t.Fatalf("an anchor beyond the log: %v\n%s", err, out.String())
	}
	anchor(15, root) // the root of size 10, claimed for 15
	err = checkAnchors(ctx, env, d, defaultWS)
	if err == nil || !strings.Contains(err.Error(), "disagrees with anchor") {
		t.Fatalf("an anchor whose root differs: %v", err)
	}
}
