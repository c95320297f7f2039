package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// AnchorBackend is what RunAnchors exercises: anchors of workspaces' logs.
type AnchorBackend interface {
	vigil.KeyStore
	vigil.AnchorStore
	Close() error
}

// AnchorOpener opens a fresh, empty store whose clock is now; the suite
// closes it.
type AnchorOpener func(t *testing.T, now func() time.Time) AnchorBackend

// RunAnchors is the conformance suite of vigil.AnchorStore.
func RunAnchors(t *testing.T, open AnchorOpener) {
	t.Run("CreateAndRead", func(t *testing.T) { testAnchorCreateAndRead(t, open) })
	t.Run("Progress", func(t *testing.T) { testAnchorProgress(t, open) })
	t.Run("Settled", func(t *testing.T) { testAnchorSettled(t, open) })
	t.Run("Fixed", func(t *testing.T) { testAnchorFixed(t, open) })
	t.Run("Bad", func(t *testing.T) { testAnchorBad(t, open) })
	t.Run("List", func(t *testing.T) { testAnchorList(t, open) })
	t.Run("Latest", func(t *testing.T) { testAnchorLatest(t, open) })
	t.Run("Through", func(t *testing.T) { testAnchorsThrough(t, open) })
}

func openAnchors(t *testing.T, open AnchorOpener) (AnchorBackend, *Clock) {
	t.Helper()
	c := NewClock()
	s := open(t, c.Now)
	t.Cleanup(func() { s.Close() })
	ensure(t, s, "ws", "other")
	return s, c
}

// newAnchor is an anchor of a checkpoint of size, covering [from, size).
func newAnchor(ws, chain string, from, size int64, prev *vigil.Anchor) vigil.Anchor {
	kind := vigil.AnchorCosignature
	if strings.HasPrefix(chain, "rfc3161:") {
		kind = vigil.AnchorRFC3161
	}
	first, last := vigil.Hash{byte(from), 0xf1}, vigil.Hash{byte(size), 0x1a}
	a := vigil.Anchor{Workspace: ws, Chain: chain, Kind: kind,
		Checkpoint: fmt.Appendf(nil, "test.vigil/%s\n%d\nroot%d=\n\n— test.vigil sig\n", ws, size, size),
		TreeSize:   size, Root: vigil.Hash{byte(size), 0x77}, FromSequence: from,
		PeriodStart: time.Date(2030, 1, 1, 0, 0, int(from), 0, time.UTC), PeriodEnd: time.Date(2030, 1, 1, 0, 0, int(size), 0, time.UTC),
		FirstEventHash: &first, LastEventHash: &last}
	if prev != nil {
		h := vigil.Hash{0xaa, byte(prev.TreeSize)}
		a.PreviousID, a.PreviousHash = prev.ID, &h
	}
	return a
}

func mustCreateAnchor(t *testing.T, s vigil.AnchorStore, a vigil.Anchor) vigil.Anchor {
	t.Helper()
	got, err := s.CreateAnchor(ctx(t), a)
	if err != nil {
		t.Fatalf("CreateAnchor: %v", err)
	}
	if got.ID == "" {
		t.Fatal("CreateAnchor assigned no id")
	}
	return got
}

func hashText(h *vigil.Hash) string {
	if h == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%x", h[:])
}

func sameAnchor(t *testing.T, what string, got, want vigil.Anchor) {
	t.Helper()
	ok := got.ID == want.ID && got.Workspace == want.Workspace && got.Chain == want.Chain && got.Kind == want.Kind &&
		bytes.Equal(got.Checkpoint, want.Checkpoint) && got.TreeSize == want.TreeSize && got.Root == want.Root &&
		got.PreviousID == want.PreviousID && hashText(got.PreviousHash) == hashText(want.PreviousHash) &&
		got.FromSequence == want.FromSequence && got.PeriodStart.Equal(want.PeriodStart) && got.PeriodEnd.Equal(want.PeriodEnd) &&
		hashText(got.FirstEventHash) == hashText(want.FirstEventHash) && hashText(got.LastEventHash) == hashText(want.LastEventHash) &&
		got.Status == want.Status && bytes.Equal(got.Evidence, want.Evidence) && got.EvidenceTime.Equal(want.EvidenceTime) &&
		got.WitnessKey == want.WitnessKey && got.Attempts == want.Attempts && got.NextTry.Equal(want.NextTry) &&
		got.LastError == want.LastError && got.CreatedAt.Equal(want.CreatedAt) && got.UpdatedAt.Equal(want.UpdatedAt)
	if !ok {
		t.Fatalf("%s =\n %+v, want\n %+v", what, got, want)
	}
}

func mustAnchor(t *testing.T, s vigil.AnchorStore, ws, id string) vigil.Anchor {
	t.Helper()
	a, err := s.Anchor(ctx(t), ws, id)
	if err != nil {
		t.Fatalf("Anchor(%s): %v", id, err)
	}
	return a
}

func testAnchorCreateAndRead(t *testing.T, open AnchorOpener) {
	s, c := openAnchors(t, open)
	at := c.Now()
	in := newAnchor("ws", "witness:w1.example", 0, 5, nil)
	a := mustCreateAnchor(t, s, in)
	want := in
	want.ID, want.Status, want.CreatedAt, want.UpdatedAt = a.ID, vigil.AnchorPending, at, at
	sameAnchor(t, "CreateAnchor", a, want)
	sameAnchor(t, "Anchor", mustAnchor(t, s, "ws", a.ID), want)
	if a.EventsCount() != 5 {
		t.Fatalf("EventsCount = %d, want 5", a.EventsCount())
	}

	// One with a predecessor, no period hashes, and a status given.
	c.Advance(time.Second)
	in2 := newAnchor("ws", "witness:w1.example", 5, 9, &a)
	in2.FirstEventHash, in2.LastEventHash, in2.Status, in2.Attempts = nil, nil, vigil.AnchorSubmitted, 1
	b := mustCreateAnchor(t, s, in2)
	want2 := in2
	want2.ID, want2.CreatedAt, want2.UpdatedAt = b.ID, c.Now(), c.Now()
	sameAnchor(t, "Anchor with a predecessor", mustAnchor(t, s, "ws", b.ID), want2)
	if b.ID == a.ID {
		t.Fatal("two anchors share an id")
	}
	if _, err := s.Anchor(ctx(t), "other", a.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("Anchor from another workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
	if _, err := s.Anchor(ctx(t), "ws", "0190c000-0000-7000-8000-000000000000"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("Anchor of no anchor: %v, want %s", err, vigil.ENOTFOUND)
	}
	if _, err := s.CreateAnchor(ctx(t), newAnchor("never-made", "witness:w1.example", 0, 1, nil)); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("CreateAnchor in no workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testAnchorProgress: an anchor moves pending → submitted → confirmed,
// each update stored exactly and stamped with the store's time.
func testAnchorProgress(t *testing.T, open AnchorOpener) {
	s, c := openAnchors(t, open)
	created := c.Now()
	a := mustCreateAnchor(t, s, newAnchor("ws", "rfc3161:https://tsa.example/tsr", 0, 3, nil))

	a.Status, a.Attempts, a.NextTry, a.LastError = vigil.AnchorPending, 1, c.Now().Add(time.Minute), "tsa: 503 Service Unavailable"
	at := c.Advance(10 * time.Second)
	got, err := s.UpdateAnchor(ctx(t), a)
	if err != nil {
		t.Fatal(err)
	}
	a.UpdatedAt = at
	sameAnchor(t, "UpdateAnchor(retry)", got, a)
	sameAnchor(t, "Anchor after a retry", mustAnchor(t, s, "ws", a.ID), a)

	a.Status, a.Attempts, a.NextTry, a.LastError = vigil.AnchorSubmitted, 2, time.Time{}, ""
	a.UpdatedAt = c.Advance(time.Minute)
	if _, err := s.UpdateAnchor(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	sameAnchor(t, "Anchor submitted", mustAnchor(t, s, "ws", a.ID), a)

	a.Status, a.Evidence, a.EvidenceTime, a.WitnessKey = vigil.AnchorConfirmed, []byte{0x30, 0x82, 0x01, 0x00, 0xde, 0xad}, c.Now(), "tsa.example+1234abcd+AQID"
	a.UpdatedAt = c.Advance(time.Second)
	if _, err := s.UpdateAnchor(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	got = mustAnchor(t, s, "ws", a.ID)
	sameAnchor(t, "Anchor confirmed", got, a)
	sameTime(t, "CreatedAt after updates", got.CreatedAt, created)
	if got.EvidenceHash() == (vigil.Hash{}) {
		t.Fatal("no evidence hash")
	}
}

// testAnchorSettled: confirmed and failed anchors never change: updates
// are ECONFLICT and leave them as they were.
func testAnchorSettled(t *testing.T, open AnchorOpener) {
	s, c := openAnchors(t, open)
	for _, final := range []string{vigil.AnchorConfirmed, vigil.AnchorFailed} {
		a := mustCreateAnchor(t, s, newAnchor("ws", "witness:"+final, 0, 4, nil))
		a.Status, a.Attempts, a.Evidence, a.LastError = final, 1, []byte("evidence of "+final), "final: "+final
		a.UpdatedAt = c.Advance(time.Second)
		if _, err := s.UpdateAnchor(ctx(t), a); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
		for _, status := range []string{vigil.AnchorPending, vigil.AnchorSubmitted, vigil.AnchorConfirmed, vigil.AnchorFailed} {
			forged := a
			forged.Status, forged.Evidence, forged.Attempts = status, []byte("forged"), 9
			if _, err := s.UpdateAnchor(ctx(t), forged); vigil.ErrorCode(err) != vigil.ECONFLICT {
				t.Fatalf("updating a %s anchor to %s: %v, want %s", final, status, err, vigil.ECONFLICT)
			}
		}
		sameAnchor(t, final+" anchor after refused updates", mustAnchor(t, s, "ws", a.ID), a)
	}
	missing := newAnchor("ws", "witness:w", 0, 1, nil)
	missing.ID, missing.Status = "0190c000-0000-7000-8000-000000000000", vigil.AnchorSubmitted
	if _, err := s.UpdateAnchor(ctx(t), missing); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("UpdateAnchor of no anchor: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testAnchorFixed: what an anchor anchors is kept whatever an update
// carries, and another workspace cannot update it.
func testAnchorFixed(t *testing.T, open AnchorOpener) {
	s, c := openAnchors(t, open)
	a := mustCreateAnchor(t, s, newAnchor("ws", "witness:w1.example", 0, 6, nil))
	orig := a
	changed := a
	changed.Checkpoint, changed.TreeSize, changed.Root, changed.FromSequence = []byte("another note"), 99, vigil.Hash{9}, 42
	changed.Chain, changed.PeriodEnd = "witness:elsewhere", time.Unix(0, 0).UTC()
	changed.Status, changed.Attempts = vigil.AnchorSubmitted, 1
	at := c.Advance(time.Second)
	if _, err := s.UpdateAnchor(ctx(t), changed); err != nil {
		t.Fatal(err)
	}
	orig.Status, orig.Attempts, orig.UpdatedAt = vigil.AnchorSubmitted, 1, at
	sameAnchor(t, "Anchor after an update carrying other content", mustAnchor(t, s, "ws", a.ID), orig)
	hijack := orig
	hijack.Workspace, hijack.Status = "other", vigil.AnchorFailed
	if _, err := s.UpdateAnchor(ctx(t), hijack); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("another workspace updated the anchor: %v, want %s", err, vigil.ENOTFOUND)
	}
	sameAnchor(t, "Anchor after another workspace's update", mustAnchor(t, s, "ws", a.ID), orig)
}

// testAnchorBad: an anchor of no known kind or status is refused with
// EINVALID and nothing is stored or changed.
func testAnchorBad(t *testing.T, open AnchorOpener) {
	s, c := openAnchors(t, open)
	badKind := newAnchor("ws", "witness:w", 0, 2, nil)
	badKind.Kind = "blockchain"
	badStatus := newAnchor("ws", "witness:w", 0, 2, nil)
	badStatus.Status = "done"
	for _, a := range []vigil.Anchor{badKind, badStatus} {
		if _, err := s.CreateAnchor(ctx(t), a); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Fatalf("CreateAnchor(kind %q, status %q): %v, want %s", a.Kind, a.Status, err, vigil.EINVALID)
		}
	}
	if page, err := s.Anchors(ctx(t), vigil.AnchorQuery{Workspace: "ws"}); err != nil || page.Total != 0 || len(page.Anchors) != 0 {
		t.Fatalf("Anchors after refusals: %d (total %d) %v", len(page.Anchors), page.Total, err)
	}
	a := mustCreateAnchor(t, s, newAnchor("ws", "witness:w", 0, 2, nil))
	c.Advance(time.Second)
	for _, status := range []string{"done", "", "CONFIRMED"} {
		bad := a
		bad.Status, bad.Attempts = status, 3
		if _, err := s.UpdateAnchor(ctx(t), bad); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Fatalf("UpdateAnchor(status %q): %v, want %s", status, err, vigil.EINVALID)
		}
	}
	sameAnchor(t, "Anchor after refused updates", mustAnchor(t, s, "ws", a.ID), a)
}

func anchorIDs(as []vigil.Anchor) string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return strings.Join(ids, ",")
}

func anchorIDsOf(as ...vigil.Anchor) string { return anchorIDs(as) }

// testAnchorList: Anchors lists one workspace's anchors newest first, in
// pages that follow one another, with the total on each.
func testAnchorList(t *testing.T, open AnchorOpener) {
	s, c := openAnchors(t, open)
	var all []vigil.Anchor
	for i := range 5 {
		chain := "witness:w1.example"
		if i%2 == 1 {
			chain = "rfc3161:https://tsa.example/tsr"
		}
		all = append(all, mustCreateAnchor(t, s, newAnchor("ws", chain, int64(i), int64(i+1), nil)))
		c.Advance(time.Second)
	}
	theirs := mustCreateAnchor(t, s, newAnchor("other", "witness:w1.example", 0, 1, nil))
	slices.Reverse(all)
	q := vigil.AnchorQuery{Workspace: "ws", Limit: 2}
	var pages []string
	for n := 0; ; n++ {
		if n > 5 {
			t.Fatal("paging does not end")
		}
		page, err := s.Anchors(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 5 {
			t.Fatalf("page %d total %d, want 5", n, page.Total)
		}
		if n == 0 {
			sameAnchor(t, "first listed anchor", page.Anchors[0], all[0])
		}
		pages = append(pages, anchorIDs(page.Anchors))
		if !page.HasMore {
			if page.Next != "" {
				t.Fatalf("last page has a next cursor %q", page.Next)
			}
			break
		}
		q.Before = page.Next
	}
	want := []string{anchorIDsOf(all[0:2]...), anchorIDsOf(all[2:4]...), anchorIDsOf(all[4])}
	if !slices.Equal(pages, want) {
		t.Fatalf("pages\n %q, want\n %q", pages, want)
	}
	page, err := s.Anchors(ctx(t), vigil.AnchorQuery{Workspace: "other"})
	if err != nil || page.Total != 1 || anchorIDs(page.Anchors) != theirs.ID || page.HasMore {
		t.Fatalf("Anchors(other) = [%s] total %d %v", anchorIDs(page.Anchors), page.Total, err)
	}
}

func settle(t *testing.T, s vigil.AnchorStore, a vigil.Anchor, status string) vigil.Anchor {
	t.Helper()
	a.Status, a.Evidence = status, []byte("evidence")
	got, err := s.UpdateAnchor(ctx(t), a)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// testAnchorLatest: the newest anchor of a chain, or its newest
// confirmed one; chains and workspaces apart.
func testAnchorLatest(t *testing.T, open AnchorOpener) {
	s, c := openAnchors(t, open)
	const w1, w2 = "witness:w1.example", "witness:w2.example"
	if _, err := s.LatestAnchor(ctx(t), "ws", w1, false); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("LatestAnchor of a chain without anchors: %v, want %s", err, vigil.ENOTFOUND)
	}
	a1 := settle(t, s, mustCreateAnchor(t, s, newAnchor("ws", w1, 0, 3, nil)), vigil.AnchorConfirmed)
	c.Advance(time.Second)
	a2 := settle(t, s, mustCreateAnchor(t, s, newAnchor("ws", w1, 3, 6, &a1)), vigil.AnchorConfirmed)
	c.Advance(time.Second)
	a3 := mustCreateAnchor(t, s, newAnchor("ws", w1, 6, 8, &a2))
	c.Advance(time.Second)
	b1 := settle(t, s, mustCreateAnchor(t, s, newAnchor("ws", w2, 0, 8, nil)), vigil.AnchorFailed)
	mustCreateAnchor(t, s, newAnchor("other", w1, 0, 9, nil))
	for _, tc := range []struct {
		chain     string
		confirmed bool
		want      vigil.Anchor
	}{{w1, false, a3}, {w1, true, a2}, {w2, false, b1}} {
		got, err := s.LatestAnchor(ctx(t), "ws", tc.chain, tc.confirmed)
		if err != nil {
			t.Fatal(err)
		}
		sameAnchor(t, fmt.Sprintf("LatestAnchor(%s, %v)", tc.chain, tc.confirmed), got, mustAnchor(t, s, "ws", tc.want.ID))
	}
	if _, err := s.LatestAnchor(ctx(t), "ws", w2, true); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("LatestAnchor confirmed of a chain with a failed one only: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testAnchorsThrough: the confirmed anchors of a workspace up to a tree
// size, of every chain, by increasing tree size.
func testAnchorsThrough(t *testing.T, open AnchorOpener) {
	s, c := openAnchors(t, open)
	a := settle(t, s, mustCreateAnchor(t, s, newAnchor("ws", "witness:w1.example", 0, 10, nil)), vigil.AnchorConfirmed)
	c.Advance(time.Second)
	b := settle(t, s, mustCreateAnchor(t, s, newAnchor("ws", "rfc3161:https://tsa.example/tsr", 0, 4, nil)), vigil.AnchorConfirmed)
	c.Advance(time.Second)
	d := settle(t, s, mustCreateAnchor(t, s, newAnchor("ws", "witness:w1.example", 10, 20, &a)), vigil.AnchorConfirmed)
	settle(t, s, mustCreateAnchor(t, s, newAnchor("ws", "witness:w2.example", 0, 5, nil)), vigil.AnchorFailed)
	mustCreateAnchor(t, s, newAnchor("ws", "witness:w3.example", 0, 6, nil))
	settle(t, s, mustCreateAnchor(t, s, newAnchor("other", "witness:w1.example", 0, 7, nil)), vigil.AnchorConfirmed)
	for _, tc := range []struct {
		size int64
		want []vigil.Anchor
	}{{3, nil}, {4, []vigil.Anchor{b}}, {19, []vigil.Anchor{b, a}}, {20, []vigil.Anchor{b, a, d}}, {1000, []vigil.Anchor{b, a, d}}} {
		got, err := s.AnchorsThrough(ctx(t), "ws", tc.size)
		if err != nil {
			t.Fatal(err)
		}
		if anchorIDs(got) != anchorIDsOf(tc.want...) {
			t.Fatalf("AnchorsThrough(%d) = [%s], want [%s]", tc.size, anchorIDs(got), anchorIDsOf(tc.want...))
		}
		for i := range got {
			sameAnchor(t, "anchor through", got[i], mustAnchor(t, s, "ws", tc.want[i].ID))
		}
	}
}
