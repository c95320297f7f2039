package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/anchor/anchortest"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// TestAnchorsDefeatRewrites runs vigil serve anchoring to a real TSA and a
// real tlog-witness, exports a bundle and verifies it offline; then plays
// the intruder who holds ledger.key: the log rewritten consistently and
// every checkpoint re-signed. That bundle verifies on its own, and fails
// against the anchors it carries, or against a verifier that requires
// them once they are stripped.
func TestAnchorsDefeatRewrites(t *testing.T) {
	bin := buildVigil(t)
	data := filepath.Join(t.TempDir(), "data")
	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	ingest, auditor := cliKey(t, bin, data, "ingest"), cliKey(t, bin, data, "auditor")
	vkey, err := run("ledger", "key", "--data", data)
	if err != nil {
		t.Fatal(vkey)
	}
	vkey = strings.TrimSpace(vkey)
	tsa := anchortest.StartTSA(t)
	wit := anchortest.StartWitness(t, vkey, ledger.Origin(defaultLog, defaultWS))

	addr := freeAddr(t)
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr, "--checkpoint-interval", "10ms", "--verify-rate", "0",
		"--anchor-tsa", tsa.URL, "--anchor-tsa-ca", tsa.CAFile, "--anchor-witness", wit.URL+","+wit.VKey), addr)
	base := "http://" + addr
	post := func(from, n int) {
		for i := from; i < from+n; i++ {
			if status, body := curl(t, "-X", "POST", base+"/api/v1/events", "-H", "Authorization: Bearer "+ingest,
				"-H", "Content-Type: application/json", "-d", fmt.Sprintf(`{"actor_id":"dr_%d","action":"patient_record.viewed","patient_id":"pt_%d"}`, i, i)); status != 201 {
				t.Fatalf("POST %d %s", status, body)
			}
		}
	}
	anchorNow := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			status, body := curl(t, "-X", "POST", base+"/api/v1/anchors", "-H", "Authorization: Bearer "+auditor)
			var made struct {
				Data []struct{ Status, Chain string }
			}
			json.Unmarshal([]byte(body), &made)
			if status == 201 && len(made.Data) == want {
				for _, a := range made.Data {
					if a.Status != "confirmed" {
						t.Fatalf("anchor %s is %s: %s", a.Chain, a.Status, body)
					}
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("anchoring: %d %s", status, body)
			}
			time.Sleep(20 * time.Millisecond) // the checkpoint over the last events is not signed yet
		}
	}
	post(0, 5)
	time.Sleep(100 * time.Millisecond)
	anchorNow(2)
	post(5, 8)
	time.Sleep(100 * time.Millisecond)
	anchorNow(2)
	srv.stop(t)

	bundle := filepath.Join(t.TempDir(), "log.bundle")
	if out, err := run("ledger", "export", "--data", data, "--out", bundle); err != nil {
		t.Fatalf("export: %s", out)
	}
	verify := func(path string, extra ...string) (string, error) {
		return run(append([]string{"verify", "--bundle", path, "--key", vkey}, extra...)...)
	}
	trust := []string{"--anchor-tsa-ca", tsa.CAFile, "--anchor-witness", wit.VKey}
	out, err := verify(bundle, trust...)
	if err != nil || !strings.Contains(out, "OK:") || strings.Count(out, "verified against a trusted") != 4 {
		t.Fatalf("verify --bundle with anchors: %v\n%s", err, out)
	}

	skey := strings.TrimSpace(readFile(t, filepath.Join(data, keyFile)))
	forged := rewriteBundle(t, []byte(readFile(t, bundle)), skey, 2, true)
	forgedPath := filepath.Join(t.TempDir(), "forged.bundle")
	os.WriteFile(forgedPath, forged, 0o600)
	out, err = verify(forgedPath)
	t.Logf("verify of the rewritten bundle:\n%s", out)
	if err == nil || !strings.Contains(out, "BREAK anchor_mismatch") {
		t.Fatalf("a rewritten, re-signed log with its old anchors verified: %v\n%s", err, out)
	}
	stripped := rewriteBundle(t, []byte(readFile(t, bundle)), skey, 2, false)
	strippedPath := filepath.Join(t.TempDir(), "stripped.bundle")
	os.WriteFile(strippedPath, stripped, 0o600)
	if out, err := verify(strippedPath); err != nil || !strings.Contains(out, "OK:") {
		t.Fatalf("the rewritten log without anchors should verify on its own (this is the attack anchors stop): %v\n%s", err, out)
	}
	out, err = verify(strippedPath, trust...)
	if err == nil || !strings.Contains(out, "MISSING a cosignature by witness "+wit.Name) || !strings.Contains(out, "MISSING a time stamp") {
		t.Fatalf("a bundle stripped of its anchors passed a verifier that requires them: %v\n%s", err, out)
	}
}

// rewriteBundle is what an intruder holding the signing key can make of a
// bundle of a whole log: event at altered, the tree recomputed, every
// checkpoint (and the witness line) signed again, the consistency proofs
// made anew; the anchors kept, or dropped.
func rewriteBundle(t *testing.T, in []byte, skey string, at int, keepAnchors bool) []byte {
	t.Helper()
	b, err := ledger.ReadBundle(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if b.From != 0 || b.To != b.TreeSize {
		t.Fatalf("rewriteBundle needs a bundle of the whole log, not [%d, %d) of %d", b.From, b.To, b.TreeSize)
	}
	var leaves [][]byte
	for ev, err := range b.Events {
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, bytes.Clone(ev))
	}
	e, err := ledger.ParseEvent(leaves[at])
	if err != nil {
		t.Fatal(err)
	}
	e.Action = "forged.action" // in clear in every leaf format
	leaves[at] = ledger.AppendEvent(nil, &e)
	stored := memStore{}
	for i, leaf := range leaves {
		hs, err := tlog.StoredHashes(int64(i), leaf, stored)
		if err != nil {
			t.Fatal(err)
		}
		for j, h := range hs {
			stored[tlog.StoredHashIndex(0, int64(i))+int64(j)] = h
		}
	}
	resign := func(note []byte) []byte {
		_, size, _, err := ledger.ParseCheckpoint(ledger.CheckpointBody(note))
		if err != nil {
			t.Fatal(err)
		}
		root, err := tlog.TreeHash(size, stored)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := ledger.Sign(skey, b.Origin, size, ledger.VigilHash(root))
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	var sizes []int64
	for i, c := range b.Checkpoints {
		b.Checkpoints[i] = resign(c)
		_, size, _, _ := ledger.ParseCheckpoint(ledger.CheckpointBody(b.Checkpoints[i]))
		sizes = append(sizes, size)
	}
	b.Proofs = nil
	for i := 1; i < len(sizes); i++ {
		if sizes[i-1] == 0 {
			continue
		}
		p, err := tlog.ProveTree(sizes[i], sizes[i-1], stored)
		if err != nil {
			t.Fatal(err)
		}
		cp := ledger.ConsistencyProof{First: sizes[i-1], Second: sizes[i]}
		for _, h := range p {
			cp.Hashes = append(cp.Hashes, ledger.VigilHash(h))
		}
		b.Proofs = append(b.Proofs, cp)
	}
	if len(b.Witness) > 0 {
		b.Witness = resign(b.Witness)
	}
	if !keepAnchors {
		b.Anchors = nil
	}
	b.Events = func(yield func([]byte, error) bool) {
		for _, l := range leaves {
			if !yield(l, nil) {
				return
			}
		}
	}
	var out bytes.Buffer
	if err := ledger.WriteBundle(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

type memStore map[int64]tlog.Hash

func (m memStore) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := m[x]
		if !ok {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = h
	}
	return out, nil
}
