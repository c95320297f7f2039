package alert

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
)

// Rule is a validated rule with its conditions compiled (patterns split,
// time zone loaded), ready to evaluate many events. It is immutable and
// safe for concurrent use.
type Rule struct {
	def  vigil.AlertRule
	cond Conditions
}

// MaxThrottle bounds a rule's throttle period.
const MaxThrottle = 31 * 24 * time.Hour

// Compile validates a rule definition as a client wrote it and compiles
// it. Every problem is reported at once as vigil.Invalid, each naming its
// field in the API's terms: "name", "rule_type", "conditions.<field>",
// "channels[<i>]", "throttle". Server-assigned fields (ID, Workspace,
// times) are not checked. Whether a channel name is configured is the
// caller's to check.
func Compile(def vigil.AlertRule) (*Rule, error) {
	var details []vigil.ErrorDetail
	add := func(field, msg string) { details = append(details, vigil.ErrorDetail{Field: field, Message: msg}) }

	if strings.TrimSpace(def.Name) == "" {
		add("name", "is required")
	} else if msg := vigil.CheckString(def.Name, vigil.Line, vigil.MaxIDLength); msg != "" {
		add("name", msg) // one line: it becomes an email subject
	}
	cond, err := ParseConditions(def.Type, def.Conditions)
	if err != nil {
		details = append(details, vigil.ErrorDetails(err)...)
	}
	seen := map[string]bool{}
	for i, ch := range def.Channels {
		field := "channels[" + strconv.Itoa(i) + "]"
		msg := vigil.CheckString(ch, vigil.Identifier, vigil.MaxIDLength)
		switch {
		case strings.TrimSpace(ch) == "":
			add(field, "must not be empty")
		case msg != "":
			add(field, msg)
		case seen[ch]:
			add(field, "repeats channel "+ch)
		}
		seen[ch] = true
	}
	if def.Throttle < 0 || def.Throttle > MaxThrottle {
		add("throttle", "must be between 0 and "+Duration(MaxThrottle).String())
	}
	if len(details) > 0 {
		return nil, vigil.Invalid(details...)
	}
	return &Rule{def: def, cond: cond}, nil
}

// Definition returns the rule as it was compiled.
func (r *Rule) Definition() vigil.AlertRule { return r.def }

// Conditions returns the parsed conditions; marshalled to JSON they are
// the normalised form to store.
func (r *Rule) Conditions() Conditions { return r.cond }

// Evaluate decides whether the stored event e fires the rule, asking h
// about earlier events. It returns nil when it does not fire and when the
// rule is disabled. The alert has no ID (the store assigns one), status
// open, TriggeredAt now, and Workspace, TenantID, EventID, EventAction,
// ActorID and Sequence from the event. Errors come from h (or from a rule
// of another workspace, a bug of the caller's).
func (r *Rule) Evaluate(ctx context.Context, e vigil.Event, h History) (*vigil.Alert, error) {
	return r.evaluate(ctx, &e, h)
}

func (r *Rule) evaluate(ctx context.Context, e *vigil.Event, h History) (*vigil.Alert, error) {
	if !r.def.Enabled {
		return nil, nil
	}
	if r.def.Workspace != "" && r.def.Workspace != e.Workspace {
		return nil, &vigil.Error{Code: vigil.EINTERNAL,
			Message: "alert rule " + r.def.ID + " of workspace " + r.def.Workspace + " evaluated on an event of workspace " + e.Workspace}
	}
	f, ok, err := evaluate(ctx, r.cond, e, h)
	if err != nil || !ok {
		return nil, err
	}
	a := r.alert(e, f, time.Now())
	return &a, nil
}

// alert is the alert of a finding on e, triggered at now.
func (r *Rule) alert(e *vigil.Event, f finding, now time.Time) vigil.Alert {
	return vigil.Alert{
		Workspace:   e.Workspace,
		RuleID:      r.def.ID,
		RuleName:    r.def.Name,
		RuleType:    r.cond.Type(),
		Reason:      f.reason,
		Subject:     f.subject,
		EventID:     e.ID,
		EventAction: e.Action,
		ActorID:     e.ActorID,
		Sequence:    e.Sequence,
		TriggeredAt: vigil.Time(now),
		Status:      vigil.AlertOpen,
		TenantID:    e.TenantID,
	}
}

// Evaluate compiles rule and evaluates it against e. A consumer that
// evaluates many events should Compile once and use Rule.Evaluate or
// EvaluateAll.
func Evaluate(ctx context.Context, rule vigil.AlertRule, e vigil.Event, h History) (*vigil.Alert, error) {
	r, err := Compile(rule)
	if err != nil {
		return nil, err
	}
	return r.evaluate(ctx, &e, h)
}

// EvaluateAll evaluates every rule against e and returns the alerts of the
// rules that fired, in the order of rules. On an error it returns it with
// no alerts: the caller retries the whole event (alerts are unique per
// rule and sequence, so a retry cannot double them).
func EvaluateAll(ctx context.Context, rules []*Rule, e vigil.Event, h History) ([]vigil.Alert, error) {
	var alerts []vigil.Alert
	for _, r := range rules {
		a, err := r.evaluate(ctx, &e, h)
		if err != nil {
			return nil, err
		}
		if a != nil {
			alerts = append(alerts, *a)
		}
	}
	return alerts, nil
}

// evaluate calls c.evaluate through a type switch rather than the
// interface: a pointer passed to an interface method escapes to the heap,
// and the ingest path would then copy every event to the heap once.
func evaluate(ctx context.Context, c Conditions, e *vigil.Event, h History) (finding, bool, error) {
	switch c := c.(type) {
	case *OffHours:
		return c.evaluate(ctx, e, h)
	case *NewCountry:
		return c.evaluate(ctx, e, h)
	case *HighVolume:
		return c.evaluate(ctx, e, h)
	case *RepeatedFailure:
		return c.evaluate(ctx, e, h)
	case *Watchlist:
		return c.evaluate(ctx, e, h)
	}
	return finding{}, false, nil // tamper: never fired by an event
}
