package alert

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/vigilhq/vigil"
)

// TamperConditions are the conditions of a tamper rule: none. Tamper
// alerts are always on and raised by the ledger's verifier through
// [Tamper], never by evaluating an event; a stored tamper rule (if the
// API lets a workspace keep one) only chooses channels and throttling.
type TamperConditions struct{}

func parseTamper(*fields) Conditions { return &TamperConditions{} }

// Type returns vigil.RuleTamper.
func (*TamperConditions) Type() string { return vigil.RuleTamper }

func (*TamperConditions) evaluate(context.Context, *vigil.Event, History) (finding, bool, error) {
	return finding{}, false, nil
}

// TamperRuleName is the rule name tamper alerts carry.
const TamperRuleName = "Ledger tampering"

// Tamper turns one finding of the ledger's verifier into an alert. RuleID
// is empty (the rule is built in; the caller may set the id of a stored
// tamper rule), ID is left to the store. The subject is the break's type
// and sequence, so repeated runs of the verifier over the same break are
// throttled while a different break notifies at once.
func Tamper(workspace string, b vigil.Break, at time.Time) vigil.Alert {
	where := "the log"
	if b.Sequence >= 0 {
		where = "sequence " + strconv.FormatInt(b.Sequence, 10)
	}
	reason := fmt.Sprintf("Ledger verification found %s at %s of workspace %s", b.Type, where, workspace)
	if b.ExpectedHash != "" || b.ActualHash != "" {
		reason += fmt.Sprintf(" (expected %s, found %s)", orNone(b.ExpectedHash), orNone(b.ActualHash))
	}
	if b.Detail != "" {
		reason += ": " + b.Detail
	}
	return vigil.Alert{
		Workspace:   workspace,
		RuleName:    TamperRuleName,
		RuleType:    vigil.RuleTamper,
		Reason:      reason + ".",
		Subject:     b.Type + "@" + strconv.FormatInt(b.Sequence, 10),
		EventID:     b.EventID,
		Sequence:    b.Sequence,
		TriggeredAt: vigil.Time(at),
		Status:      vigil.AlertOpen,
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
