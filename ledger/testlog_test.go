package ledger_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// testLog is an in-memory workspace log with signed checkpoints, built the
// way the store builds one.
type testLog struct {
	skey, vkey  string
	origin      string
	events      []vigil.Event
	leaves      [][]byte
	stored      memHashes
	checkpoints map[int64][]byte
}

const testOrigin = "test.vigil/default"

// newTestLog makes a log of n events with checkpoints at the sizes cpAt
// and at n. Its events are a fixed function of their sequence.
func newTestLog(t testing.TB, skey, vkey string, n int, cpAt ...int64) *testLog {
	events := make([]vigil.Event, n)
	for i := range events {
		events[i] = testEvent(i)
	}
	return buildTestLog(t, skey, vkey, events, cpAt...)
}

// buildTestLog makes the log of events with checkpoints at the sizes cpAt
// and at len(events).
func buildTestLog(t testing.TB, skey, vkey string, events []vigil.Event, cpAt ...int64) *testLog {
	l := &testLog{skey: skey, vkey: vkey, origin: testOrigin, stored: memHashes{}, checkpoints: map[int64][]byte{}}
	n := len(events)
	for i, e := range events {
		c := ledger.AppendEvent(nil, &e)
		hs, err := tlog.StoredHashes(int64(i), c, l.stored)
		if err != nil {
			t.Fatal(err)
		}
		for j, h := range hs {
			l.stored[tlog.StoredHashIndex(0, int64(i))+int64(j)] = h
		}
		l.events = append(l.events, e)
		l.leaves = append(l.leaves, c)
	}
	for _, size := range append(cpAt, int64(n)) {
		l.checkpoints[size] = l.sign(t, size, l.root(size))
	}
	return l
}

// testEvent is event i of a test log: varied enough to use every member
// of the leaf now and then.
func testEvent(i int) vigil.Event {
	t0 := time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)
	actors := []string{"dr_m4k8p2", "nurse_a91", "svc-billing", "dr_ö_ç"}
	actions := []string{"patient_record.viewed", "patient_record.updated", "prescription.created", "lab_result.viewed"}
	e := vigil.Event{
		ID: fmt.Sprintf("0190b5a0-%04x-7000-8000-%012x", i, i*7919), Workspace: "default", Sequence: int64(i),
		CreatedAt:  t0.Add(time.Duration(i)*time.Second + time.Duration(i*i)*time.Nanosecond),
		OccurredAt: t0.Add(time.Duration(i)*time.Second - 250*time.Millisecond),
		ActorID:    actors[i%len(actors)], ActorType: "physician", Action: actions[i%len(actions)],
		Resource: "patient_record", ResourceID: fmt.Sprintf("pat_%03d", i%11), PatientID: fmt.Sprintf("pt_%d", i%7),
		Outcome: vigil.OutcomeSuccess, PurposeOfUse: "TREAT", IPAddress: fmt.Sprintf("10.0.%d.%d", i/256, i%256),
	}
	if i%3 == 0 {
		e.ActorName = "Dr. Émile \"Em\" Nakamura"
		e.Metadata = json.RawMessage(fmt.Sprintf(`{"department":"internal_medicine","n":%d,"sections":["demographics","medications"]}`, i))
		e.SessionID = fmt.Sprintf("sess_%d", i/3)
	}
	if i%5 == 0 {
		e.Targets = []vigil.Target{{Type: "lab", ID: fmt.Sprintf("lab_%d", i), Name: "CBC – €", Metadata: json.RawMessage(`{"flag":true}`)}}
		e.Outcome = vigil.OutcomeFailure
	}
	if i%7 == 3 {
		e.TenantID, e.UserAgent, e.Source = "clinic-north", "EHR/5.2 (Linux)", "ehr"
		e.IPCountry, e.IPCity, e.IPRegion = "US", "San Francisco", "California"
		e.PurposeOfUse = "ETREAT"
	}
	return e
}

func (l *testLog) root(size int64) vigil.Hash {
	h, err := tlog.TreeHash(size, l.stored)
	if err != nil {
		panic(err)
	}
	return ledger.VigilHash(h)
}

func (l *testLog) sign(t testing.TB, size int64, root vigil.Hash) []byte {
	return signAs(t, l.skey, l.origin, size, root)
}

func signAs(t testing.TB, skey, origin string, size int64, root vigil.Hash) []byte {
	t.Helper()
	note, err := ledger.Sign(skey, origin, size, root)
	if err != nil {
		t.Fatal(err)
	}
	return note
}

// bundleOf prepares the bundle of [from, to) as an exporter does.
func (l *testLog) bundleOf(t testing.TB, from, to int64) *ledger.Bundle {
	n := int64(len(l.leaves))
	b := &ledger.Bundle{Origin: l.origin, VerifierKey: l.vkey, From: from, To: to, TreeSize: n, Witness: l.checkpoints[n]}
	var sizes []int64
	for s := range l.checkpoints {
		if s >= from {
			sizes = append(sizes, s)
		}
	}
	slices.Sort(sizes)
	for i, s := range sizes {
		b.Checkpoints = append(b.Checkpoints, l.checkpoints[s])
		if i > 0 && sizes[i-1] > 0 {
			p, err := tlog.ProveTree(s, sizes[i-1], l.stored)
			if err != nil {
				t.Fatal(err)
			}
			cp := ledger.ConsistencyProof{First: sizes[i-1], Second: s}
			for _, h := range p {
				cp.Hashes = append(cp.Hashes, ledger.VigilHash(h))
			}
			b.Proofs = append(b.Proofs, cp)
		}
	}
	for _, st := range ledger.SubtreesOutside(from, to, n) {
		b.Subtrees = append(b.Subtrees, ledger.SubtreeHash{Subtree: st, Hash: ledger.VigilHash(l.stored[st.StoredIndex()])})
	}
	b.Events = func(yield func([]byte, error) bool) {
		for _, c := range l.leaves[from:to] {
			if !yield(c, nil) {
				return
			}
		}
	}
	return b
}

func (l *testLog) bundle(t testing.TB, from, to int64) []byte {
	return writeBundle(t, l.bundleOf(t, from, to))
}

func writeBundle(t testing.TB, b *ledger.Bundle) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ledger.WriteBundle(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func verify(t testing.TB, bundle []byte, opts ledger.VerifyOptions) *ledger.Report {
	t.Helper()
	rep, err := ledger.VerifyBundle(bytes.NewReader(bundle), opts)
	if err != nil {
		t.Fatalf("VerifyBundle: %v", err)
	}
	return rep
}

func goldenKey(t testing.TB) (skey, vkey string) {
	return strings.TrimSpace(string(readTestdata(t, "golden.skey"))), strings.TrimSpace(string(readTestdata(t, "golden.vkey")))
}

// goldenLog is the log the golden bundles were written from: 50 events,
// checkpoints at 10, 30 and 50.
func goldenLog(t testing.TB) *testLog {
	skey, vkey := goldenKey(t)
	return newTestLog(t, skey, vkey, 50, 10, 30)
}
