package sqlite_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// mountTmpfs mounts a tmpfs of the given size, the way to fill a real
// disk in a test. It needs root, which the project's machines and CI have;
// without it the test fails rather than passing unexercised.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestDiskFull fills a real (tmpfs) disk under the log and the database:
// appends fail with EUNAVAILABLE (the log could not take them, or the
// projection fell too far behind), every acknowledged event is stored,
// nothing half-written verifies wrong, and the store takes writes again
// and the projection catches up when space returns.
func TestDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "3m")
	db := MustOpenDB(t, dir)
	defer db.Close()
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	acked, refused := 0, 0
	for i := 0; refused < 5 && i < 100000; i++ {
		batch := make([]vigil.Event, 20)
		for j := range batch {
			batch[j] = vigil.Event{ActorID: fmt.Sprintf("actor-%d-%d", i, j), Action: "patient_record.viewed",
				ActorName: "Dr. Emily Nakamura, a long name to fill pages faster", ResourceID: fmt.Sprintf("rec_%d", j)}
		}
		_, err := db.Append(ctx(t), "ws", batch)
		switch vigil.ErrorCode(err) {
		case "":
			acked += len(batch)
		case vigil.EUNAVAILABLE:
			refused++
		default:
			t.Fatalf("append on a full disk: %v", err)
		}
	}
	if refused == 0 {
		t.Fatal("the disk never filled")
	}
	if err := db.Ready(ctx(t)); err == nil {
		t.Error("Ready reports a full disk as writable")
	}
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	// Space is back: writes succeed again, and everything adds up.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: "after", Action: "space.returned"}})
		if err == nil {
			acked++
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after space returned: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The projection retries with backoff; acknowledged events it could
	// not write while the disk was full are in the log, and it catches up.
	for deadline := time.Now().Add(30 * time.Second); db.Engine.Lag("ws") > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the projection is still %d events behind after space returned: %v", db.Engine.Lag("ws"), db.Engine.Healthy())
		}
	}
	page, err := db.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1, Limit: 1})
	if err != nil || page.Total != int64(acked) {
		t.Fatalf("stored %d events, acknowledged %d (%v)", page.Total, acked, err)
	}
	waitSize(t, db, "ws", int64(acked))
	rep, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{})
	if err != nil || !rep.Valid {
		t.Fatalf("after a full disk the ledger does not verify: %+v %v", rep.Breaks, err)
	}
	t.Logf("disk full: %d events acknowledged, %d appends refused with EUNAVAILABLE, recovered", acked, refused)
}
