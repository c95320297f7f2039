package http_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

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
