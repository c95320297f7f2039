package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// LogStorageOpener prepares fresh, empty storage for one test and returns
// the function that opens it; called again after Close it opens the same
// storage, so the suite can check what survives a restart.
type LogStorageOpener func(t *testing.T) (open func() vigil.LogStorage)

// RunLogStorage is the conformance suite of the engine's storage seam.
func RunLogStorage(t *testing.T, prepare LogStorageOpener) {
	t.Run("Empty", func(t *testing.T) { testLogEmpty(t, prepare) })
	t.Run("AppendRead", func(t *testing.T) { testLogAppendRead(t, prepare) })
	t.Run("Workspaces", func(t *testing.T) { testLogWorkspaces(t, prepare) })
	t.Run("Gap", func(t *testing.T) { testLogGap(t, prepare) })
	t.Run("Hashes", func(t *testing.T) { testLogHashes(t, prepare) })
	t.Run("Reopen", func(t *testing.T) { testLogReopen(t, prepare) })
	t.Run("LargeLeaf", func(t *testing.T) { testLogLargeLeaf(t, prepare) })
	t.Run("Concurrent", func(t *testing.T) { testLogConcurrent(t, prepare) })
	t.Run("Closed", func(t *testing.T) { testLogClosed(t, prepare) })
}

// LogBuilder makes valid records of one workspace's log: canonical leaves
// of distinct events and the tree hashes each completes, as the engine
// would write them.
type LogBuilder struct {
	Workspace string
	size      int64
	hashes    map[int64]tlog.Hash
}

// NewLogBuilder starts the log of a workspace at size 0.
func NewLogBuilder(workspace string) *LogBuilder {
	return &LogBuilder{Workspace: workspace, hashes: map[int64]tlog.Hash{}}
}

// Size is the number of records made so far.
func (b *LogBuilder) Size() int64 { return b.size }

// Next makes the next n records.
func (b *LogBuilder) Next(n int) []vigil.LogRecord {
	out := make([]vigil.LogRecord, 0, n)
	for range n {
		seq := b.size
		e := vigil.Event{
			ID: fmt.Sprintf("0190a000-0000-7000-8000-%012d", seq), Workspace: b.Workspace, Sequence: seq,
			ActorID: fmt.Sprintf("dr_%d", seq%97), Action: "patient.record.viewed", Resource: "MedicalRecord",
			ResourceID: fmt.Sprintf("rec_%s_%d", b.Workspace, seq), PatientID: fmt.Sprintf("pt_%d", seq%1000),
			Outcome:   vigil.OutcomeSuccess,
			CreatedAt: time.Unix(1_800_000_000, seq).UTC(), OccurredAt: time.Unix(1_800_000_000, seq).UTC(),
		}
		leaf := ledger.AppendEvent(nil, &e)
		hs, err := tlog.StoredHashesForRecordHash(seq, tlog.RecordHash(leaf), b)
		if err != nil {
			panic(err)
		}
		rec := vigil.LogRecord{Workspace: b.Workspace, Sequence: seq, Leaf: leaf, IPFromConnection: seq%3 == 0}
		if seq%2 == 1 {
			// A sealed event's payload is opaque to the storage: it keeps
			// the bytes as they are.
			rec.Sealed = []byte(fmt.Sprintf("sealed payload of %s/%d", b.Workspace, seq))
		}
		for l, h := range hs {
			b.hashes[tlog.StoredHashIndex(0, seq)+int64(l)] = h
			rec.Hashes = append(rec.Hashes, vigil.Hash(h))
		}
		b.size++
		out = append(out, rec)
	}
	return out
}

// ReadHashes implements tlog.HashReader over the records made so far.
func (b *LogBuilder) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		h, ok := b.hashes[idx]
		if !ok {
			return nil, fmt.Errorf("storetest: no hash at %d", idx)
		}
		out[i] = h
	}
	return out, nil
}

// Root is the tree hash of the records made so far.
func (b *LogBuilder) Root() vigil.Hash {
	h, err := tlog.TreeHash(b.size, b)
	if err != nil {
		panic(err)
	}
	return vigil.Hash(h)
}

func openLog(t *testing.T, prepare LogStorageOpener) (vigil.LogStorage, func() vigil.LogStorage) {
	t.Helper()
	open := prepare(t)
	s := open()
	t.Cleanup(func() { s.Close() })
	return s, open
}

func sameRecords(t *testing.T, got, want []vigil.LogRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Workspace != w.Workspace || g.Sequence != w.Sequence || !bytes.Equal(g.Leaf, w.Leaf) || g.IPFromConnection != w.IPFromConnection || fmt.Sprint(g.Hashes) != fmt.Sprint(w.Hashes) || !bytes.Equal(g.Sealed, w.Sealed) || (g.Sealed == nil) != (w.Sealed == nil) {
			t.Fatalf("record %d: got %s/%d (%d bytes, %d hashes), want %s/%d (%d bytes, %d hashes)", i,
				g.Workspace, g.Sequence, len(g.Leaf), len(g.Hashes), w.Workspace, w.Sequence, len(w.Leaf), len(w.Hashes))
		}
	}
}

func heads(t *testing.T, s vigil.LogStorage) map[string]int64 {
	t.Helper()
	h, err := s.Heads(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testLogEmpty(t *testing.T, prepare LogStorageOpener) {
	s, _ := openLog(t, prepare)
	if h := heads(t, s); len(h) != 0 {
		t.Fatalf("heads of empty storage: %v", h)
	}
	recs, err := s.Read(ctx(t), "ws", 0, 10)
	if err != nil || len(recs) != 0 {
		t.Fatalf("Read of an empty log: %d records, %v", len(recs), err)
	}
}

func testLogAppendRead(t *testing.T, prepare LogStorageOpener) {
	s, _ := openLog(t, prepare)
	b := NewLogBuilder("ws")
	var all []vigil.LogRecord
	for _, n := range []int{1, 2, 5, 100, 7} {
		recs := b.Next(n)
		if err := s.Append(ctx(t), recs); err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
	}
	if h := heads(t, s); h["ws"] != b.Size() || len(h) != 1 {
		t.Fatalf("heads %v, want ws=%d", h, b.Size())
	}
	got, err := s.Read(ctx(t), "ws", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, all)
	got, err = s.Read(ctx(t), "ws", 10, 20)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, all[10:30])
	got, err = s.Read(ctx(t), "ws", 110, 20)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, all[110:])
	if got, err := s.Read(ctx(t), "ws", b.Size(), 5); err != nil || len(got) != 0 {
		t.Fatalf("Read past the end: %d records, %v", len(got), err)
	}
	if got, err := s.Read(ctx(t), "other", 0, 5); err != nil || len(got) != 0 {
		t.Fatalf("Read of another workspace: %d records, %v", len(got), err)
	}
}

func testLogWorkspaces(t *testing.T, prepare LogStorageOpener) {
	s, _ := openLog(t, prepare)
	a, b := NewLogBuilder("a"), NewLogBuilder("b")
	ra1, rb1 := a.Next(3), b.Next(2)
	// One call may carry several workspaces, interleaved.
	mixed := []vigil.LogRecord{ra1[0], rb1[0], ra1[1], rb1[1], ra1[2]}
	if err := s.Append(ctx(t), mixed); err != nil {
		t.Fatal(err)
	}
	ra2 := a.Next(4)
	if err := s.Append(ctx(t), ra2); err != nil {
		t.Fatal(err)
	}
	if h := heads(t, s); h["a"] != 7 || h["b"] != 2 || len(h) != 2 {
		t.Fatalf("heads %v, want a=7 b=2", h)
	}
	got, err := s.Read(ctx(t), "a", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, append(ra1, ra2...))
	got, err = s.Read(ctx(t), "b", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, rb1)
}

func testLogGap(t *testing.T, prepare LogStorageOpener) {
	s, _ := openLog(t, prepare)
	b := NewLogBuilder("ws")
	first := b.Next(3)
	if err := s.Append(ctx(t), first); err != nil {
		t.Fatal(err)
	}
	more := b.Next(4)
	other := NewLogBuilder("other").Next(1)
	cases := map[string][]vigil.LogRecord{
		"a gap before the first":      more[1:],
		"a record already stored":     first[2:],
		"a gap inside the call":       {more[0], more[2]},
		"out of order":                {more[1], more[0]},
		"a good workspace with a bad": {other[0], more[1]},
	}
	for name, recs := range cases {
		err := s.Append(ctx(t), recs)
		if vigil.ErrorCode(err) != vigil.ECONFLICT {
			t.Errorf("%s: Append = %v, want ECONFLICT", name, err)
		}
	}
	if h := heads(t, s); h["ws"] != 3 || len(h) != 1 {
		t.Fatalf("refused appends changed the heads: %v", h)
	}
	if err := s.Append(ctx(t), more); err != nil {
		t.Fatalf("the right continuation after refusals: %v", err)
	}
	got, err := s.Read(ctx(t), "ws", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, append(first, more...))
}

func testLogHashes(t *testing.T, prepare LogStorageOpener) {
	s, _ := openLog(t, prepare)
	b := NewLogBuilder("ws")
	if err := s.Append(ctx(t), b.Next(37)); err != nil {
		t.Fatal(err)
	}
	var indexes []int64
	for seq := range int64(37) {
		for l := 0; seq>>l > 0 || l == 0; l++ {
			if (seq+1)%(1<<l) != 0 {
				break
			}
			indexes = append(indexes, tlog.StoredHashIndex(l, seq>>l))
		}
	}
	got, err := s.ReadHashes(ctx(t), "ws", indexes)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := b.ReadHashes(indexes)
	for i := range want {
		if got[i] != vigil.Hash(want[i]) {
			t.Fatalf("hash at index %d differs", indexes[i])
		}
	}
	// The tree's root from the storage's hashes is the builder's.
	root, err := tlog.TreeHash(37, hashReader{t, s, "ws"})
	if err != nil {
		t.Fatal(err)
	}
	if vigil.Hash(root) != b.Root() {
		t.Fatal("the root from stored hashes differs")
	}
	for _, idx := range []int64{tlog.StoredHashIndex(0, 37), tlog.StoredHashIndex(3, 5)} {
		if _, err := s.ReadHashes(ctx(t), "ws", []int64{idx}); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("ReadHashes of unstored index %d = %v, want ENOTFOUND", idx, err)
		}
	}
	if _, err := s.ReadHashes(ctx(t), "nope", []int64{0}); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("ReadHashes of another workspace = %v, want ENOTFOUND", err)
	}
}

type hashReader struct {
	t  *testing.T
	s  vigil.LogStorage
	ws string
}

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	hs, err := r.s.ReadHashes(ctx(r.t), r.ws, indexes)
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		out[i] = tlog.Hash(h)
	}
	return out, err
}

func testLogReopen(t *testing.T, prepare LogStorageOpener) {
	open := prepare(t)
	s := open()
	a, b := NewLogBuilder("a"), NewLogBuilder("b")
	var wantA, wantB []vigil.LogRecord
	for range 5 {
		ra, rb := a.Next(50), b.Next(3)
		if err := s.Append(ctx(t), append(append([]vigil.LogRecord{}, ra...), rb...)); err != nil {
			t.Fatal(err)
		}
		wantA, wantB = append(wantA, ra...), append(wantB, rb...)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	t.Cleanup(func() { s.Close() })
	if h := heads(t, s); h["a"] != 250 || h["b"] != 15 {
		t.Fatalf("heads after reopening: %v", h)
	}
	got, err := s.Read(ctx(t), "a", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, wantA)
	got, err = s.Read(ctx(t), "b", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, wantB)
	// The log goes on where it stopped.
	more := a.Next(2)
	if err := s.Append(ctx(t), more); err != nil {
		t.Fatal(err)
	}
	got, err = s.Read(ctx(t), "a", 249, 10)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, append(wantA[249:], more...))
}

func testLogLargeLeaf(t *testing.T, prepare LogStorageOpener) {
	s, _ := openLog(t, prepare)
	b := NewLogBuilder("ws")
	recs := b.Next(2)
	// A leaf as large as an event may be (metadata up to 64 KiB and more).
	big := append([]byte(nil), recs[1].Leaf...)
	big = append(big[:len(big)-1], []byte(`,"z":"`+strings.Repeat("x", 300_000)+`"}`)...)
	recs[1].Leaf = big
	if err := s.Append(ctx(t), recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(ctx(t), "ws", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, recs)
}

func testLogConcurrent(t *testing.T, prepare LogStorageOpener) {
	s, _ := openLog(t, prepare)
	// Writers of distinct workspaces append side by side; readers read
	// while they do and never see a partial or reordered log.
	const writers, rounds = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	for w := range writers {
		wg.Add(2)
		ws := fmt.Sprintf("w%d", w)
		go func() {
			defer wg.Done()
			b := NewLogBuilder(ws)
			for range rounds {
				if err := s.Append(ctx(t), b.Next(4)); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range rounds {
				recs, err := s.Read(ctx(t), ws, 0, 1000)
				if err != nil {
					errs <- err
					return
				}
				for i, r := range recs {
					if r.Sequence != int64(i) || r.Workspace != ws {
						errs <- fmt.Errorf("read %s/%d at place %d", r.Workspace, r.Sequence, i)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range writers {
		if h := heads(t, s)[fmt.Sprintf("w%d", w)]; h != 4*rounds {
			t.Fatalf("w%d has %d records, want %d", w, h, 4*rounds)
		}
	}
}

func testLogClosed(t *testing.T, prepare LogStorageOpener) {
	open := prepare(t)
	s := open()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx(t), NewLogBuilder("ws").Next(1)); err == nil {
		t.Fatal("Append after Close succeeded")
	}
}
