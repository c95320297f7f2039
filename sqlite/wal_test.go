package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilhq/vigil"
)

// TestWALStaysBounded appends far more than the automatic checkpoint's
// 1000 pages under a concurrent reader: the WAL must be reused, not grow
// with the log.
func TestWALStaysBounded(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, dir)
	defer db.Close()
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	batch := make([]vigil.Event, 500)
	for round := range 60 {
		for i := range batch {
			batch[i] = vigil.Event{ActorID: fmt.Sprintf("actor-%d-%d", round, i), Action: "patient_record.viewed",
				ActorName: "Dr. Emily Nakamura", ResourceID: fmt.Sprintf("rec_%d", i), PatientID: fmt.Sprintf("pt_%d", i)}
		}
		if _, err := db.Append(ctx(t), "ws", batch); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1, Limit: 5}); err != nil {
			t.Fatal(err)
		}
	}
	dbInfo, err := os.Stat(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, err := os.Stat(filepath.Join(dir, "vigil.db-wal"))
	if err != nil {
		t.Fatal(err)
	}
	if wal.Size() > 32<<20 || wal.Size() > dbInfo.Size() {
		t.Fatalf("WAL %d bytes for a database of %d: checkpoints are not keeping up", wal.Size(), dbInfo.Size())
	}
}
