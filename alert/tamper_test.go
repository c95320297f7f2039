package alert_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
)

func TestTamper(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 5, time.FixedZone("x", 3600))
	a := alert.Tamper(ws, vigil.Break{
		Type: vigil.BreakModified, EventID: "evt-7", Sequence: 7, ExpectedHash: "aa", ActualHash: "bb",
	}, at)
	want := vigil.Alert{
		Workspace: ws, RuleName: alert.TamperRuleName, RuleType: vigil.RuleTamper,
		Reason:  "Ledger verification found modified at sequence 7 of workspace clinic (expected aa, found bb).",
		Subject: "modified@7", EventID: "evt-7", Sequence: 7, TriggeredAt: at.UTC(), Status: vigil.AlertOpen,
	}
	if a != want {
		t.Errorf("Tamper =\n%+v, want\n%+v", a, want)
	}
	a = alert.Tamper(ws, vigil.Break{Type: vigil.BreakRollback, Sequence: -1, Detail: "log has 10 events, witness 12"}, at)
	if a.Subject != "rollback@-1" || a.Sequence != -1 || !strings.Contains(a.Reason, "at the log of workspace clinic: log has 10 events, witness 12.") {
		t.Errorf("Tamper = %+v", a)
	}
}

// TestTamperRuleNeverFiresOnEvents: a stored tamper rule only configures
// channels; events never fire it.
func TestTamperRuleNeverFiresOnEvents(t *testing.T) {
	s := newStream(t, rule(t, vigil.RuleTamper, `{}`))
	none(t, s.send(vigil.Event{ActorID: "a", Outcome: vigil.OutcomeFailure, IPCountry: "US"}))
}
