package http_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

func parseHash(t *testing.T, s string) tlog.Hash {
	t.Helper()
	b, err := hex.DecodeString(s)
	var h tlog.Hash
	if err != nil || len(b) != len(h) {
		t.Fatalf("bad hash %q", s)
	}
	copy(h[:], b)
	return h
}

// latestCheckpoint polls until the signed checkpoint covers size events.
func (e *env) latestCheckpoint(size int64) []byte {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.get("/api/v1/ledger/checkpoint", e.auditor)
		if r.status == 200 {
			cp, err := ledger.Open(r.body, testVKey)
			if err != nil {
				e.t.Fatalf("checkpoint %q: %v", r.body, err)
			}
			if cp.Size >= size {
				return r.body
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no checkpoint of %d events: %d %s", size, r.status, r.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLedgerEndpoints(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 9 {
		var s api.Stored
		r := e.post("/api/v1/events", e.ingest, fmt.Sprintf(`{"actor_id":"a","action":"x.%d"}`, i))
		wantStatus(t, r, 201)
		r.json(t, &s)
		ids = append(ids, s.ID)
	}
	note := e.latestCheckpoint(9)
	cp, _ := ledger.Open(note, testVKey)
	if !strings.HasPrefix(string(note), "test.vigil/default\n") {
		t.Fatalf("checkpoint origin: %q", note)
	}
	r := e.get("/api/v1/ledger/key", e.ingest)
	wantStatus(t, r, 200)
	if strings.TrimSpace(string(r.body)) != testVKey {
		t.Fatalf("verifier key %q", r.body)
	}
	size := cp.Size // reads are audited, so the log grows as we look at it
	for i, id := range ids {
		r := e.get(fmt.Sprintf("/api/v1/events/%s/proof?tree_size=%d", id, size), e.auditor)
		wantStatus(t, r, 200)
		var p api.Data[api.Proof]
		r.json(t, &p)
		if p.Data.LeafIndex != int64(i) || p.Data.TreeSize != size {
			t.Fatalf("proof %s", r.body)
		}
		proof := make(tlog.RecordProof, len(p.Data.Hashes))
		for j, h := range p.Data.Hashes {
			proof[j] = parseHash(t, h)
		}
		if err := tlog.CheckRecord(proof, size, ledger.TlogHash(cp.Root), int64(i), parseHash(t, p.Data.LeafHash)); err != nil {
			t.Fatalf("proof of %d: %v", i, err)
		}
	}
	later, _ := ledger.Open(e.latestCheckpoint(size+9), testVKey)
	r = e.get(fmt.Sprintf("/api/v1/ledger/consistency?first=%d&second=%d", size, later.Size), e.auditor)
	wantStatus(t, r, 200)
	var c api.Data[api.Consistency]
	r.json(t, &c)
	proof := make(tlog.TreeProof, len(c.Data.Hashes))
	for j, h := range c.Data.Hashes {
		proof[j] = parseHash(t, h)
	}
	if err := tlog.CheckTree(proof, later.Size, ledger.TlogHash(later.Root), size, ledger.TlogHash(cp.Root)); err != nil {
		t.Fatalf("consistency: %v", err)
	}
	r = e.get(fmt.Sprintf("/api/v1/ledger/checkpoint?size=%d", size), e.auditor)
	wantStatus(t, r, 200)
	if string(r.body) != string(note) {
		t.Fatalf("kept checkpoint differs: %q vs %q", r.body, note)
	}
	r = e.get("/api/v1/verify", e.auditor)
	wantStatus(t, r, 200)
	var v api.Data[api.Verification]
	r.json(t, &v)
	if !v.Data.Valid || v.Data.EventsChecked < 9+9 || len(v.Data.Breaks) != 0 {
		t.Fatalf("verify %s", r.body)
	}
	wantStatus(t, e.get("/api/v1/ledger/checkpoint?size=100000", e.auditor), 404)
	wantStatus(t, e.get("/api/v1/events/"+ids[0]+"/proof?tree_size=100000", e.auditor), 422)
}

// TestLeavesEndpoint: the leaves of a range, in the read shape of events,
// with the subtrees that complete them to the signed root; each request
// recorded, refused to tenant keys, and bounded.
func TestLeavesEndpoint(t *testing.T) {
	e := newEnv(t)
	for i := range 30 {
		wantStatus(t, e.post("/api/v1/events", e.ingest, fmt.Sprintf(`{"actor_id":"a","action":"x.%d","metadata":{"i":%d}}`, i, i)), 201)
	}
	r := e.get("/api/v1/ledger/leaves?from=5&to=17", e.auditor)
	wantStatus(t, r, 200)
	var lv api.Data[api.Leaves]
	r.json(t, &lv)
	cp, err := ledger.Open(e.latestCheckpoint(lv.Data.TreeSize), testVKey)
	if err != nil {
		t.Fatal(err)
	}
	if lv.Data.TreeSize < 30 || lv.Data.From != 5 || lv.Data.To != 17 || len(lv.Data.Events) != 12 || cp.Size < lv.Data.TreeSize {
		t.Fatalf("leaves: tree %d [%d, %d) %d events", lv.Data.TreeSize, lv.Data.From, lv.Data.To, len(lv.Data.Events))
	}
	// The stored leaf hashes and subtrees recompute the signed root of
	// that size.
	signed := cp
	if cp.Size != lv.Data.TreeSize {
		r := e.get(fmt.Sprintf("/api/v1/ledger/checkpoint?size=%d", lv.Data.TreeSize), e.auditor)
		wantStatus(t, r, 200)
		signed, _ = ledger.Open(r.body, testVKey)
	}
	f := ledger.NewFrontier()
	for _, s := range lv.Data.Subtrees {
		if s.Index<<s.Level >= 5 {
			break
		}
		f.AppendSubtree(s.Level, parseVigilHash(t, s.Hash))
	}
	for i, ev := range lv.Data.Events {
		if ev.Sequence != int64(5+i) || ev.Integrity == nil {
			t.Fatalf("event %d: %+v", i, ev)
		}
		f.Append(parseVigilHash(t, ev.Integrity.EventHash))
	}
	for _, s := range lv.Data.Subtrees {
		if s.Index<<s.Level >= 17 {
			f.AppendSubtree(s.Level, parseVigilHash(t, s.Hash))
		}
	}
	if f.Root() != signed.Root {
		t.Fatalf("the range and its subtrees do not recompute the signed root")
	}
	// Defaults: from 0, at most a page, at the latest checkpoint.
	r = e.get("/api/v1/ledger/leaves", e.auditor)
	wantStatus(t, r, 200)
	r.json(t, &lv)
	if lv.Data.From != 0 || lv.Data.To != lv.Data.TreeSize || int64(len(lv.Data.Events)) != lv.Data.TreeSize {
		t.Fatalf("default range: [%d, %d) of %d, %d events", lv.Data.From, lv.Data.To, lv.Data.TreeSize, len(lv.Data.Events))
	}
	// Each request is a recorded read.
	before := e.logSize()
	wantStatus(t, e.get("/api/v1/ledger/leaves?from=0&to=1", e.auditor), 200)
	if e.logSize() != before+1 {
		t.Fatal("reading leaves was not recorded")
	}
	for _, c := range []struct {
		query string
		want  int
	}{
		{"from=0&to=101", 422}, {"from=5&to=5", 422}, {"from=9&to=3", 422}, {"to=100000", 422},
		{"tree_size=100000", 422}, {"from=100000", 422}, {"tree_size=3&to=5", 422}, {"from=-1", 422},
		{"tree_size=0", 422}, {"limit=5", 422}, {"from=1&from=2", 422},
	} {
		wantStatus(t, e.get("/api/v1/ledger/leaves?"+c.query, e.auditor), c.want)
	}
	wantStatus(t, e.get("/api/v1/ledger/leaves", e.key("default", "auditor", "t1")), 403)
	wantStatus(t, e.get("/api/v1/ledger/leaves", e.ingest), 403)
}

func parseVigilHash(t *testing.T, s string) vigil.Hash {
	t.Helper()
	h, err := ledger.ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
