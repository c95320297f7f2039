package sqlite_test

import (
	"sync"
	"testing"
	"time"

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
				if _, err := appendRetrying(t, db, "ws", []vigil.Event{{ActorID: "a", Action: "grow"}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// A few seconds of verifying a log that grows under it; bounded in
	// time so the log (and each pass) stays small under the race detector.
	deadline := time.Now().Add(3 * time.Second)
	for i := 0; i < 200 && time.Now().Before(deadline); i++ {
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
