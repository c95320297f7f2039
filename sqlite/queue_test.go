package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/sqlite"
)

// TestQueueBounded floods a store whose queue holds one request: some
// appends are refused at once with EUNAVAILABLE instead of queueing without
// bound, and exactly the acknowledged events are stored.
func TestQueueBounded(t *testing.T) {
	dir := t.TempDir()
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), MaxBatchEvents: 1}, QueueSize: 1, MaxBatchEvents: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked, refused := 0, 0
	for range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: "a", Action: "flood"}})
			mu.Lock()
			defer mu.Unlock()
			switch vigil.ErrorCode(err) {
			case "":
				acked++
			case vigil.EUNAVAILABLE:
				refused++
			default:
				t.Errorf("unexpected error %v", err)
			}
		}()
	}
	wg.Wait()
	if refused == 0 {
		t.Fatal("a queue of one took 300 concurrent appends without refusing any")
	}
	page, err := db.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1})
	if err != nil || page.Total != int64(acked) {
		t.Fatalf("stored %d, acknowledged %d (%v)", page.Total, acked, err)
	}
}
