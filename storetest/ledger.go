package storetest

import (
	"fmt"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

func testLedgerProofs(t *testing.T, open Opener) {
	s, vkey := mustOpen(t, open)
	var all []vigil.AppendResult
	var sizes []vigil.Checkpoint
	for i := range 37 {
		batch := []vigil.Event{event("a", fmt.Sprintf("x.%d", i))}
		if i%4 == 0 {
			batch = append(batch, event("b", "y"), event("c", "z"))
		}
		all = append(all, mustAppend(t, s, "ws", batch...)...)
		if i%9 == 0 {
			sizes = append(sizes, waitCheckpoint(t, s, "ws", int64(len(all))))
		}
	}
	n := int64(len(all))
	cp := waitCheckpoint(t, s, "ws", n)
	signed, err := ledger.Open(cp.Note, vkey)
	if err != nil {
		t.Fatalf("checkpoint does not verify: %v\n%s", err, cp.Note)
	}
	if signed.Size != n || signed.Root != cp.Root || signed.Origin != cp.Origin {
		t.Fatalf("signed %+v, stored %+v", signed, cp)
	}
	kept, err := s.Checkpoint(ctx(t), "ws", sizes[0].Size)
	if err != nil || kept.Root != sizes[0].Root {
		t.Fatalf("kept checkpoint %d: %+v %v", sizes[0].Size, kept, err)
	}
	if _, err := s.Checkpoint(ctx(t), "ws", n+100); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("checkpoint of unknown size: %v", err)
	}

	// Every event's inclusion proof checks against the signed root, and
	// its leaf hash is the hash of its canonical form.
	ins, err := s.Integrity(ctx(t), "ws", 0, n-1)
	if err != nil {
		t.Fatal(err)
	}
	if ins[0].PreviousEventHash != "" || ins[1].PreviousEventHash == "" {
		t.Fatalf("integrity = %+v", ins)
	}
	for seq := range n {
		p, err := s.InclusionProof(ctx(t), "ws", seq, 0)
		if err != nil {
			t.Fatal(err)
		}
		e, err := s.Event(ctx(t), "ws", "", all[seq].ID)
		if err != nil {
			t.Fatal(err)
		}
		if leaf := ledger.LeafHash(ledger.AppendEvent(nil, &e)); leaf != p.LeafHash {
			t.Fatalf("event %d: leaf hash %s, proof says %s", seq, leaf, p.LeafHash)
		}
		proof := make(tlog.RecordProof, len(p.Hashes))
		for i, h := range p.Hashes {
			proof[i] = ledger.TlogHash(h)
		}
		if err := tlog.CheckRecord(proof, n, ledger.TlogHash(signed.Root), seq, ledger.TlogHash(p.LeafHash)); err != nil {
			t.Fatalf("inclusion proof of %d: %v", seq, err)
		}
		if seq > 0 {
			in, _ := s.Integrity(ctx(t), "ws", seq)
			prev, _ := s.Integrity(ctx(t), "ws", seq-1)
			if in[0].PreviousEventHash != prev[0].EventHash || in[0].EventHash != p.LeafHash.String() {
				t.Fatalf("chain broken at %d: %+v after %+v", seq, in[0], prev[0])
			}
		}
	}
	// Consistency between every kept checkpoint and the latest.
	for _, old := range sizes {
		hs, err := s.ConsistencyProof(ctx(t), "ws", old.Size, n)
		if err != nil {
			t.Fatal(err)
		}
		proof := make(tlog.TreeProof, len(hs))
		for i, h := range hs {
			proof[i] = ledger.TlogHash(h)
		}
		if err := tlog.CheckTree(proof, n, ledger.TlogHash(cp.Root), old.Size, ledger.TlogHash(old.Root)); err != nil {
			t.Fatalf("consistency %d -> %d: %v", old.Size, n, err)
		}
	}
	// Bad proof requests are refused, not answered wrongly.
	if _, err := s.InclusionProof(ctx(t), "ws", 3, 2); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("leaf outside tree: %v", err)
	}
	if _, err := s.InclusionProof(ctx(t), "ws", 0, n+5); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("tree larger than log: %v", err)
	}
	if _, err := s.ConsistencyProof(ctx(t), "ws", 5, 4); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("first > second: %v", err)
	}
	if _, err := s.ConsistencyProof(ctx(t), "ws", 1, n+1); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("second beyond log: %v", err)
	}
}

func testVerify(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	rep, err := s.Verify(ctx(t), "ws", vigil.VerifyOptions{})
	if err != nil || !rep.Valid || rep.EventsChecked != 0 {
		t.Fatalf("empty log: %+v %v", rep, err)
	}
	for i := range 20 {
		mustAppend(t, s, "ws", event("a", fmt.Sprint(i)), event("b", fmt.Sprint(i)))
	}
	waitCheckpoint(t, s, "ws", 40)
	rep, err = s.Verify(ctx(t), "ws", vigil.VerifyOptions{})
	if err != nil || !rep.Valid || rep.EventsChecked != 40 || len(rep.Breaks) != 0 || rep.TreeSize != 40 {
		t.Fatalf("untouched log: %+v %v", rep, err)
	}
	rep, err = s.Verify(ctx(t), "ws", vigil.VerifyOptions{From: 10, To: 30})
	if err != nil || !rep.Valid || rep.EventsChecked != 20 {
		t.Fatalf("range: %+v %v", rep, err)
	}
	rep, err = s.Verify(ctx(t), "ws", vigil.VerifyOptions{From: 5, Limit: 7})
	if err != nil || !rep.Valid || rep.EventsChecked != 7 {
		t.Fatalf("limit: %+v %v", rep, err)
	}
}

// testLatestCovers: the latest checkpoint, asked for right after an
// append, covers it (signed on demand if the cadence has not come round).
func testLatestCovers(t *testing.T, open Opener) {
	s, vkey := mustOpen(t, open)
	if _, err := s.Checkpoint(ctx(t), "ws", -1); err == nil {
		// An empty log may have a checkpoint of size 0, and no other.
		if cp, _ := s.Checkpoint(ctx(t), "ws", -1); cp.Size != 0 {
			t.Fatalf("an empty log has a checkpoint of size %d", cp.Size)
		}
	} else {
		wantCode(t, err, vigil.ENOTFOUND)
	}
	for i := range 15 {
		res := mustAppend(t, s, "ws", event("a", fmt.Sprint(i)))
		cp, err := s.Checkpoint(ctx(t), "ws", -1)
		if err != nil || cp.Size <= res[0].Sequence {
			t.Fatalf("after event %d was acknowledged the latest checkpoint is %+v (%v)", res[0].Sequence, cp.Size, err)
		}
		if _, err := ledger.Open(cp.Note, vkey); err != nil {
			t.Fatal(err)
		}
	}
}

// testLeaves: every range of the log, with its subtrees, recomputes the
// signed root; ranges the log cannot answer are refused.
func testLeaves(t *testing.T, open Opener) {
	s, vkey := mustOpen(t, open)
	for i := range 23 {
		mustAppend(t, s, "ws", event("a", fmt.Sprint(i)))
	}
	cp := waitCheckpoint(t, s, "ws", 23)
	signed, err := ledger.Open(cp.Note, vkey)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int64{{0, 23}, {0, 1}, {22, 23}, {5, 17}, {8, 16}} {
		lr, err := s.Leaves(ctx(t), "ws", r[0], r[1], cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if lr.TreeSize != cp.Size || lr.From != r[0] || lr.To != r[1] || int64(len(lr.Events)) != r[1]-r[0] || len(lr.Integrity) != len(lr.Events) {
			t.Fatalf("range %v: %+v", r, lr)
		}
		leaves := make([][]byte, len(lr.Events))
		for i := range lr.Events {
			leaves[i] = ledger.AppendEvent(nil, &lr.Events[i])
			if ledger.LeafHash(leaves[i]).String() != lr.Integrity[i].EventHash {
				t.Fatalf("range %v: event %d does not hash to its stored leaf", r, lr.Events[i].Sequence)
			}
		}
		rep, err := ledger.CheckRange(signed, r[0], r[1], lr.Subtrees, leaves)
		if err != nil || !rep.Valid {
			t.Fatalf("range %v: %+v %v", r, rep, err)
		}
	}
	// Defaults: from 0, a page, the latest checkpoint.
	lr, err := s.Leaves(ctx(t), "ws", 0, 0, 0)
	if err != nil || lr.From != 0 || lr.To != lr.TreeSize || lr.TreeSize < 23 {
		t.Fatalf("default range: %+v %v", lr, err)
	}
	for _, r := range [][3]int64{{-1, 2, 0}, {5, 5, 0}, {0, vigil.MaxLeavesPerRead + 1, 0}, {0, 5, 1000}, {0, 1000, 0}, {3, 0, 2}, {50, 0, 0}} {
		if _, err := s.Leaves(ctx(t), "ws", r[0], r[1], r[2]); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Fatalf("leaves %v: %v", r, err)
		}
	}
}
