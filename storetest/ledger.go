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
