package report

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
)

// definition is one report: its title, columns, and the streaming pass
// that computes its rows. emit takes the cells of one row.
type definition struct {
	title   string
	columns []Column
	run     func(ctx context.Context, src vigil.EventScanner, q vigil.Query, through int64, p Params, emit func([]any) error) error
}

var definitions = map[string]definition{
	vigil.ReportAccessByInterval: {
		title: "PHI access by actor in an interval",
		columns: []Column{{"actor_id", Text, 3}, {"actor_name", Text, 3}, {"events", Count, 1.2}, {"patients", Count, 1.2},
			{"failures", Count, 1.2}, {"actions", Text, 5}, {"first_access", Time, 3.3}, {"last_access", Time, 3.3}},
		run: accessByInterval,
	},
	vigil.ReportPatientAccess: {
		title: "Everyone who accessed the patient or record",
		columns: []Column{{"actor_id", Text, 3}, {"actor_name", Text, 3}, {"accesses", Count, 1.2}, {"failures", Count, 1.2},
			{"actions", Text, 4}, {"purposes", Text, 2}, {"first_access", Time, 3.3}, {"last_access", Time, 3.3}},
		run: patientAccess,
	},
	vigil.ReportSession: {
		title:   "Everything accessed in the session",
		columns: listColumns,
		run: func(ctx context.Context, src vigil.EventScanner, q vigil.Query, through int64, p Params, emit func([]any) error) error {
			q.SessionID = p.SessionID
			return list(ctx, src, q, through, nil, emit)
		},
	},
	vigil.ReportOffHours: {
		title:   "Off-hours access over the past week",
		columns: append(slices.Clone(listColumns), Column{"local_time", Text, 3}, Column{"reason", Text, 4}),
		run:     offHours,
	},
	vigil.ReportDisclosures: {
		title: "Accounting of disclosures (45 CFR 164.528)",
		columns: []Column{{"date", Time, 3.3}, {"recipient", Text, 3.5}, {"what", Text, 4}, {"purpose", Text, 2},
			{"disclosed_by", Text, 2.5}, {"event_id", Text, 5.4}, {"sequence", Count, 1.2}},
		run: disclosures,
	},
	vigil.ReportUserActivity: {
		title:   "Activity of one actor in a period",
		columns: listColumns,
		run: func(ctx context.Context, src vigil.EventScanner, q vigil.Query, through int64, p Params, emit func([]any) error) error {
			q.ActorID, q.From, q.To = p.ActorID, p.From, p.To
			return list(ctx, src, q, through, nil, emit)
		},
	},
}

// listColumns are those of the reports that list events: each row names
// its event and sequence, so it can be proven against the checkpoint.
var listColumns = []Column{{"occurred_at", Time, 3.3}, {"sequence", Count, 1.2}, {"event_id", Text, 5.4}, {"actor_id", Text, 2.2},
	{"action", Text, 2.8}, {"resource", Text, 1.8}, {"resource_id", Text, 1.8}, {"patient_id", Text, 1.8}, {"outcome", Text, 1.5}}

func listRow(e *vigil.Event, extra ...any) []any {
	return append([]any{e.OccurredAt, e.Sequence, e.ID, e.ActorID, e.Action, e.Resource, e.ResourceID, e.PatientID, string(e.Outcome)}, extra...)
}

// list emits the matching events in sequence order, those keep accepts.
func list(ctx context.Context, src vigil.EventScanner, q vigil.Query, through int64, keep func(*vigil.Event) []any, emit func([]any) error) error {
	for e, err := range src.ScanEvents(ctx, q, through, vigil.BySequence) {
		if err != nil {
			return err
		}
		var extra []any
		if keep != nil {
			if extra = keep(&e); extra == nil {
				continue
			}
		}
		if err := emit(listRow(&e, extra...)); err != nil {
			return err
		}
	}
	return nil
}

func offHours(ctx context.Context, src vigil.EventScanner, q vigil.Query, through int64, p Params, emit func([]any) error) error {
	q.From, q.To = p.From, p.To
	oh := p.OffHours
	loc, _ := time.LoadLocation(oh.Timezone)
	return list(ctx, src, q, through, func(e *vigil.Event) []any {
		reason, ok := oh.Matches(e)
		if !ok {
			return nil
		}
		return []any{e.OccurredAt.In(loc).Format("Mon 2006-01-02 15:04 MST"), reason}
	}, emit)
}

// actorSummary aggregates one actor's events. The scan is ordered by
// actor, then patient, so one summary is open at a time and distinct
// patients are counted by watching the patient change: memory does not
// grow with the events, nor with the patients.
type actorSummary struct {
	id, name          string
	events, failures  int64
	patients          int64
	lastPatient       string
	actions, purposes map[string]bool
	first, last       time.Time
}

func (s *actorSummary) add(e *vigil.Event) {
	if s.name == "" {
		s.name = e.ActorName
	}
	s.events++
	if e.Outcome != "" && e.Outcome != vigil.OutcomeSuccess {
		s.failures++
	}
	if e.PatientID != "" && (s.patients == 0 || e.PatientID != s.lastPatient) {
		s.patients++
		s.lastPatient = e.PatientID
	}
	if len(s.actions) < 100 {
		s.actions[e.Action] = true
	}
	if e.PurposeOfUse != "" && len(s.purposes) < 100 {
		s.purposes[e.PurposeOfUse] = true
	}
	if s.first.IsZero() || e.OccurredAt.Before(s.first) {
		s.first = e.OccurredAt
	}
	if e.OccurredAt.After(s.last) {
		s.last = e.OccurredAt
	}
}

func joinSet(m map[string]bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, "; ")
}

// byActor streams the matching events grouped by actor and emits one
// summary row per actor, in actor order.
func byActor(ctx context.Context, src vigil.EventScanner, q vigil.Query, through int64, keep func(*vigil.Event) bool, row func(*actorSummary) []any, emit func([]any) error) error {
	var cur *actorSummary
	flush := func() error {
		if cur == nil || cur.events == 0 {
			return nil
		}
		return emit(row(cur))
	}
	for e, err := range src.ScanEvents(ctx, q, through, vigil.ByActorPatient) {
		if err != nil {
			return err
		}
		if !keep(&e) {
			continue
		}
		if cur == nil || cur.id != e.ActorID {
			if err := flush(); err != nil {
				return err
			}
			cur = &actorSummary{id: e.ActorID, actions: map[string]bool{}, purposes: map[string]bool{}}
		}
		cur.add(&e)
	}
	return flush()
}

// accessByInterval: report 1. An access to PHI is an event that names a
// patient; the system's own events (meta-audit) name none.
func accessByInterval(ctx context.Context, src vigil.EventScanner, q vigil.Query, through int64, p Params, emit func([]any) error) error {
	q.From, q.To = p.From, p.To
	return byActor(ctx, src, q, through, func(e *vigil.Event) bool { return e.PatientID != "" },
		func(s *actorSummary) []any {
			return []any{s.id, s.name, s.events, s.patients, s.failures, joinSet(s.actions), s.first, s.last}
		}, emit)
}

// patientAccess: report 2, over the whole log up to the checkpoint.
func patientAccess(ctx context.Context, src vigil.EventScanner, q vigil.Query, through int64, p Params, emit func([]any) error) error {
	q.PatientID, q.Resource, q.ResourceID = p.PatientID, p.Resource, p.ResourceID
	return byActor(ctx, src, q, through, func(*vigil.Event) bool { return true },
		func(s *actorSummary) []any {
			return []any{s.id, s.name, s.events, s.failures, joinSet(s.actions), joinSet(s.purposes), s.first, s.last}
		}, emit)
}

// IsDisclosure reports whether an event records a disclosure of PHI to
// someone outside the covered entity: its action_category is
// "disclosure", or its action names one ("record.disclosed",
// "phi.disclose").
func IsDisclosure(e *vigil.Event) bool {
	return strings.EqualFold(e.ActionCategory, "disclosure") || strings.Contains(strings.ToLower(e.Action), "disclos")
}

// recipientTypes are target types that name who received a disclosure.
var recipientTypes = []string{"recipient", "organization", "organisation", "practitioner", "person", "insurer", "agency"}

// Recipient says who received a disclosure: a target of a recipient type,
// else the first target, else metadata.recipient, else "not recorded".
func Recipient(e *vigil.Event) string {
	name := func(t vigil.Target) string {
		if t.Name != "" {
			return t.Name + " (" + t.ID + ")"
		}
		return t.ID
	}
	for _, t := range e.Targets {
		if slices.Contains(recipientTypes, strings.ToLower(t.Type)) {
			return name(t)
		}
	}
	if len(e.Targets) > 0 {
		return name(e.Targets[0])
	}
	var m struct {
		Recipient string `json:"recipient"`
	}
	if len(e.Metadata) > 0 && json.Unmarshal(e.Metadata, &m) == nil && m.Recipient != "" {
		return m.Recipient
	}
	return "not recorded"
}

func what(e *vigil.Event) string {
	parts := []string{}
	for _, s := range []string{e.Resource, e.ResourceID} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if e.ResourceName != "" {
		parts = append(parts, "("+e.ResourceName+")")
	}
	if len(parts) == 0 {
		return e.Action
	}
	return strings.Join(parts, " ")
}

// disclosures: report 5, the accounting a patient may request, in date
// order.
func disclosures(ctx context.Context, src vigil.EventScanner, q vigil.Query, through int64, p Params, emit func([]any) error) error {
	q.PatientID, q.From, q.To = p.PatientID, p.From, p.To
	for e, err := range src.ScanEvents(ctx, q, through, vigil.ByOccurredAt) {
		if err != nil {
			return err
		}
		if !IsDisclosure(&e) {
			continue
		}
		purpose := e.PurposeOfUse
		if purpose == "" {
			purpose = "not recorded"
		}
		if err := emit([]any{e.OccurredAt, Recipient(&e), what(&e), purpose, e.ActorID, e.ID, e.Sequence}); err != nil {
			return err
		}
	}
	return nil
}
