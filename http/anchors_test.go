package http_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	nethttp "net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/anchor"
	"github.com/vigilhq/vigil/anchor/anchortest"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/ledger"
)

// anchorEnv is a server whose anchors go to a real TSA and a real
// tlog-witness.
func anchorEnv(t *testing.T) (*env, *anchortest.TSA, *anchortest.Witness) {
	tsa := anchortest.StartTSA(t)
	wit := anchortest.StartWitness(t, testVKey, ledger.Origin("test.vigil", "default"), ledger.Origin("test.vigil", "other"))
	ts, err := anchor.NewTSA(tsa.URL, nethttp.DefaultClient, tsa.Roots)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := anchor.NewCosigner(wit.URL, wit.VKey, nethttp.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	v, err := anchor.NewVerifier(tsa.Roots, wit.VKey)
	if err != nil {
		t.Fatal(err)
	}
	l := &lazyAnchors{}
	e := newEnvWith(t, vhttp.Config{Anchors: l})
	l.an.Store(anchor.New(anchor.Config{Log: e.db, Store: e.db, Witnesses: []anchor.Witness{ts, cs}, Verifier: v}))
	return e, tsa, wit
}

// lazyAnchors lets the env's store be opened before the anchorer over it.
type lazyAnchors struct {
	an atomic.Pointer[anchor.Anchorer]
}

func (l *lazyAnchors) Anchors(ctx context.Context, q vigil.AnchorQuery) (vigil.AnchorPage, error) {
	return l.an.Load().Anchors(ctx, q)
}
func (l *lazyAnchors) Anchor(ctx context.Context, ws, id string) (vigil.Anchor, error) {
	return l.an.Load().Anchor(ctx, ws, id)
}
func (l *lazyAnchors) VerifyAnchor(ctx context.Context, ws, id string) (vigil.AnchorVerification, error) {
	return l.an.Load().VerifyAnchor(ctx, ws, id)
}
func (l *lazyAnchors) AnchorNow(ctx context.Context, ws string) ([]vigil.Anchor, error) {
	return l.an.Load().AnchorNow(ctx, ws)
}

// waitCheckpointOf waits for a checkpoint of the whole log of ws.
func (e *env) waitCheckpointOf(ws string) vigil.Checkpoint {
	e.t.Helper()
	n, err := e.db.LogSize(context.Background(), ws)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.waitCheckpoint(ws, n)
}

func (e *env) waitCheckpoint(ws string, size int64) vigil.Checkpoint {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := e.db.Checkpoint(context.Background(), ws, -1)
		if err == nil && cp.Size >= size {
			return cp
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no checkpoint of size %d in %s (%v)", size, ws, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAnchorRoutes(t *testing.T) {
	e, _, _ := anchorEnv(t)
	for i := range 6 {
		e.post("/api/v1/events", e.ingest, fmt.Sprintf(`{"actor_id":"dr_%d","action":"record.read","tenant_id":"t1"}`, i))
	}
	e.waitCheckpoint("default", 6)

	r := e.post("/api/v1/anchors", e.auditor, nil)
	var made struct{ Data []map[string]json.RawMessage }
	r.json(t, &made)
	if r.status != 201 || len(made.Data) != 2 {
		t.Fatalf("anchoring now: %d %s", r.status, r.body)
	}
	var chains []string
	for _, a := range made.Data {
		var status, chain string
		json.Unmarshal(a["status"], &status)
		json.Unmarshal(a["chain"], &chain)
		chains = append(chains, chain)
		if status != vigil.AnchorConfirmed {
			t.Fatalf("anchor %s is %s", chain, status)
		}
	}
	slices.Sort(chains)
	if chains[0][:8] != "rfc3161:" || chains[1] != "witness:witness.vigil.test/w1" {
		t.Fatalf("chains %v", chains)
	}
	// Nothing new: nothing made.
	if r := e.post("/api/v1/anchors", e.admin, nil); r.status != 200 || strings.TrimSpace(string(r.body)) != `{"data":[]}` {
		t.Fatalf("anchoring an anchored checkpoint: %d %s", r.status, r.body)
	}

	// The listing has Immutable's fields, and only them.
	var list struct {
		Data       []map[string]json.RawMessage
		Pagination struct {
			HasMore    bool    `json:"has_more"`
			NextCursor *string `json:"next_cursor"`
			Total      int64
		}
	}
	e.get("/api/v1/anchors?limit=1", e.auditor).json(t, &list)
	if len(list.Data) != 1 || !list.Pagination.HasMore || list.Pagination.Total != 2 || list.Pagination.NextCursor == nil {
		t.Fatalf("first page %+v", list)
	}
	want := []string{"block_number", "chain", "created_at", "events_count", "explorer_url", "id", "merkle_root", "period_end",
		"period_start", "previous_anchor_hash", "status", "tx_hash"}
	var got []string
	for k := range list.Data[0] {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("listing fields %v, want %v", got, want)
	}
	first := list.Data[0]
	if string(first["block_number"]) != "null" || string(first["explorer_url"]) != "null" || string(first["events_count"]) != "6" ||
		string(first["previous_anchor_hash"]) != "null" {
		t.Fatalf("listing %v", first)
	}
	var id string
	json.Unmarshal(first["id"], &id)
	e.get("/api/v1/anchors?limit=1&cursor="+*list.Pagination.NextCursor, e.auditor).json(t, &list)
	if len(list.Data) != 1 || list.Pagination.HasMore {
		t.Fatalf("second page %+v", list)
	}

	// The detail carries what an offline verifier needs.
	var detail struct {
		Data struct {
			ID, MerkleRoot, TxHash, Checkpoint, Kind, Evidence string
			FirstEventHash                                     string `json:"first_event_hash"`
			LastEventHash                                      string `json:"last_event_hash"`
			TreeSize                                           int64  `json:"tree_size"`
			WitnessKey                                         *string
		}
	}
	e.get("/api/v1/anchors/"+id, e.auditor).json(t, &detail)
	d := detail.Data
	ev, err := base64.StdEncoding.DecodeString(d.Evidence)
	if err != nil || d.TreeSize != 6 || d.FirstEventHash == "" || d.LastEventHash == "" {
		t.Fatalf("detail %+v (%v)", d, err)
	}
	cp, err := ledger.Open([]byte(d.Checkpoint), testVKey)
	if err != nil || cp.Size != 6 {
		t.Fatalf("the anchored checkpoint: %+v %v", cp, err)
	}
	if (vigil.Anchor{Evidence: ev}).EvidenceHash().String() == "" {
		t.Fatal("no evidence hash")
	}

	// Verification: the evidence and the stored root agree.
	var v struct {
		Data struct {
			AnchorID    string `json:"anchor_id"`
			MerkleRoot  string `json:"merkle_root"`
			Valid       bool
			ChainValid  bool `json:"chain_valid"`
			Expected    string
			Actual      string
			EventsCount int64 `json:"events_count"`
			Problems    []string
		}
	}
	e.get("/api/v1/anchors/"+id+"/verify", e.auditor).json(t, &v)
	if !v.Data.Valid || !v.Data.ChainValid || v.Data.AnchorID != id || v.Data.Expected != v.Data.Actual ||
		v.Data.Expected != cp.Root.String() || v.Data.EventsCount != 6 || len(v.Data.Problems) != 0 {
		t.Fatalf("verification %+v", v.Data)
	}

	// A tenant-restricted auditor reads anchors (they reveal no event) but
	// may not anchor the whole workspace; another workspace sees none.
	tenant := e.key("default", vigil.RoleAuditor, "t1")
	if r := e.get("/api/v1/anchors/"+id, tenant); r.status != 200 {
		t.Fatalf("a tenant auditor reading an anchor: %d %s", r.status, r.body)
	}
	if r := e.post("/api/v1/anchors", tenant, nil); r.status != 403 {
		t.Fatalf("a tenant auditor anchoring: %d %s", r.status, r.body)
	}
	other := e.key("other", vigil.RoleAuditor, "")
	for _, p := range []string{"/api/v1/anchors/" + id, "/api/v1/anchors/" + id + "/verify"} {
		if r := e.get(p, other); r.status != 404 {
			t.Fatalf("%s from another workspace: %d %s", p, r.status, r.body)
		}
	}
	e.get("/api/v1/anchors", other).json(t, &list)
	if len(list.Data) != 0 || list.Pagination.Total != 0 {
		t.Fatalf("another workspace lists %+v", list)
	}
	// Reading anchors is not recorded in the trail.
	page, err := e.db.Events(context.Background(), vigil.Query{Workspace: "default", Limit: 1, Before: -1})
	if err != nil || page.Total != 6 {
		t.Fatalf("%d events after reading anchors (%v), want the 6 ingested", page.Total, err)
	}
	if r := e.post("/api/v1/anchors", e.ingest, nil); r.status != 403 {
		t.Fatalf("an ingest key anchoring: %d", r.status)
	}
}

func TestAnchorNowUnconfigured(t *testing.T) {
	e := newEnv(t)
	e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"b"}`)
	r := e.post("/api/v1/anchors", e.auditor, nil)
	if r.status != 503 || r.errorCode(t) != "unavailable" {
		t.Fatalf("anchoring without witnesses: %d %s", r.status, r.body)
	}
	var list struct{ Data []any }
	if r := e.get("/api/v1/anchors", e.auditor); r.status != 200 {
		t.Fatalf("listing without witnesses: %d %s", r.status, r.body)
	} else {
		r.json(t, &list)
	}
}
