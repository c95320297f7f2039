package sqlite_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

func TestAnchorStore(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, dir)
	defer db.Close()
	seedLog(t, db, 5)
	cp := waitSize(t, db, "ws", 5)

	first, err := db.CreateAnchor(ctx(t), vigil.Anchor{Workspace: "ws", Chain: "witness:w.test", Kind: vigil.AnchorCosignature,
		Checkpoint: cp.Note, TreeSize: cp.Size, Root: cp.Root, FromSequence: 0, PeriodStart: time.Unix(1, 0), PeriodEnd: time.Unix(2, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || first.Status != vigil.AnchorPending {
		t.Fatalf("created %+v", first)
	}
	if _, err := db.LatestAnchor(ctx(t), "ws", "witness:w.test", true); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("a pending anchor is the latest confirmed one: %v", err)
	}
	first.Status, first.Evidence, first.EvidenceTime, first.Attempts = vigil.AnchorConfirmed, []byte("evidence"), time.Unix(3, 0), 1
	if _, err := db.UpdateAnchor(ctx(t), first); err != nil {
		t.Fatal(err)
	}
	got, err := db.Anchor(ctx(t), "ws", first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != vigil.AnchorConfirmed || !bytes.Equal(got.Evidence, []byte("evidence")) || !got.EvidenceTime.Equal(time.Unix(3, 0)) ||
		got.TreeSize != 5 || got.Root != cp.Root || !bytes.Equal(got.Checkpoint, cp.Note) || !got.PeriodEnd.Equal(time.Unix(2, 0)) {
		t.Fatalf("read back %+v", got)
	}
	// A settled anchor does not change, through the store or behind it.
	got.Evidence = []byte("forged")
	if _, err := db.UpdateAnchor(ctx(t), got); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("updating a confirmed anchor: %v, want a conflict", err)
	}
	raw := rawDB(t, dir)
	for _, stmt := range []string{
		"UPDATE anchors SET evidence = x'00'",
		"UPDATE anchors SET root = x'00'",
		"DELETE FROM anchors",
	} {
		if _, err := raw.Exec(stmt); err == nil {
			t.Errorf("%s: allowed, want refused by a trigger", stmt)
		}
	}
	// What was anchored cannot change while the anchor is pending either.
	second, err := db.CreateAnchor(ctx(t), vigil.Anchor{Workspace: "ws", Chain: "witness:w.test", Kind: vigil.AnchorCosignature,
		Checkpoint: cp.Note, TreeSize: cp.Size, Root: cp.Root, FromSequence: 5, PreviousID: first.ID, PreviousHash: &vigil.Hash{1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("UPDATE anchors SET tree_size = 99 WHERE id = ?", second.ID); err == nil {
		t.Error("changing a pending anchor's tree size was allowed")
	}
	if _, err := raw.Exec("UPDATE anchors SET status = 'submitted' WHERE id = ?", second.ID); err != nil {
		t.Errorf("a pending anchor's status cannot change: %v", err)
	}
	latest, err := db.LatestAnchor(ctx(t), "ws", "witness:w.test", false)
	if err != nil || latest.ID != second.ID || latest.PreviousHash == nil || *latest.PreviousHash != (vigil.Hash{1}) {
		t.Fatalf("latest anchor %+v (%v)", latest, err)
	}
	page, err := db.Anchors(ctx(t), vigil.AnchorQuery{Workspace: "ws", Limit: 1})
	if err != nil || page.Total != 2 || len(page.Anchors) != 1 || !page.HasMore || page.Anchors[0].ID != second.ID {
		t.Fatalf("first page %+v (%v)", page, err)
	}
	page, err = db.Anchors(ctx(t), vigil.AnchorQuery{Workspace: "ws", Limit: 1, Before: page.Next})
	if err != nil || len(page.Anchors) != 1 || page.HasMore || page.Anchors[0].ID != first.ID {
		t.Fatalf("second page %+v (%v)", page, err)
	}
	through, err := db.AnchorsThrough(ctx(t), "ws", 5)
	if err != nil || len(through) != 1 || through[0].ID != first.ID {
		t.Fatalf("confirmed anchors through 5: %+v (%v)", through, err)
	}
	if _, err := db.Anchor(ctx(t), "ws", "0190b5a0-0000-7000-8000-000000000000"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("unknown anchor: %v", err)
	}
	root, err := db.TreeRoot(ctx(t), "ws", 5)
	if err != nil || root != cp.Root {
		t.Fatalf("tree root %s (%v), want %s", root, err, cp.Root)
	}
	if _, err := db.TreeRoot(ctx(t), "ws", 6); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("root beyond the log: %v", err)
	}
}

func TestFollowLog(t *testing.T) {
	db := MustOpenDB(t, t.TempDir())
	defer db.Close()
	seedLog(t, db, 7)
	n, err := db.LogSize(ctx(t), "ws")
	if err != nil || n != 7 {
		t.Fatalf("log size %d (%v)", n, err)
	}
	evs, err := db.EventsFrom(ctx(t), "ws", 3, 3)
	if err != nil || len(evs) != 3 || evs[0].Sequence != 3 || evs[2].Sequence != 5 {
		t.Fatalf("events from 3: %+v (%v)", evs, err)
	}
	if next, err := db.Cursor(ctx(t), "stream:x", "ws"); err != nil || next != 0 {
		t.Fatalf("a new cursor is %d (%v)", next, err)
	}
	if err := db.SetCursor(ctx(t), "stream:x", "ws", 6); err != nil {
		t.Fatal(err)
	}
	if next, err := db.Cursor(ctx(t), "stream:x", "ws"); err != nil || next != 6 {
		t.Fatalf("cursor %d (%v), want 6", next, err)
	}
}
