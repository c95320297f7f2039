package sqlite_test

import (
	"sync"
	"testing"

	"github.com/vigilhq/vigil"
)

// TestVerifyWhileAppending verifies over and over while events (and their
// checkpoints) keep arriving: a log that only grows must never be
// reported truncated or rolled back.
func TestVerifyWhileAppending(t *testing.T) {
	db := MustOpenDB(t, t.TempDir())
	defer db.Close()
	seedLog(t, db, 10)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: "a", Action: "grow"}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 200 {
		rep, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{})
		if err != nil || !rep.Valid {
			close(stop)
			wg.Wait()
			t.Fatalf("a growing log reported %+v %v", rep.Breaks, err)
		}
	}
	close(stop)
	wg.Wait()
}
