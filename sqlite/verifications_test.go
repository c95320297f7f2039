package sqlite_test

import (
	"testing"

	"github.com/vigilhq/vigil"
)

// TestLastVerification: a log never verified in full has no last run;
// the background pass and a full Verify are remembered, a partial one is
// not, and a tampered event shows in the remembered run.
func TestLastVerification(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, dir)
	seedLog(t, db, 5)
	if _, err := db.LastVerification(ctx(t), "ws"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("before any verification: %v", err)
	}
	if _, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{From: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LastVerification(ctx(t), "ws"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("a partial verification was remembered: %v", err)
	}
	if err := db.VerifyPass(ctx(t), 0, nil); err != nil {
		t.Fatal(err)
	}
	run, err := db.LastVerification(ctx(t), "ws")
	if err != nil || !run.Valid || run.EventsChecked != 5 || run.TreeSize != 5 || len(run.Breaks) != 0 || run.FinishedAt.IsZero() {
		t.Fatalf("after a pass: %+v %v", run, err)
	}
	bypassTriggers(t, rawDB(t, dir), "UPDATE events SET actor_id = 'intruder' WHERE seq = 2")
	if _, err := db.Verify(ctx(t), "ws", vigil.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	run, err = db.LastVerification(ctx(t), "ws")
	if err != nil || run.Valid || len(run.Breaks) == 0 || run.Breaks[0].Type != vigil.BreakModified || run.Breaks[0].Sequence != 2 {
		t.Fatalf("after tampering: %+v %v", run, err)
	}
}
