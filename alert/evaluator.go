package alert

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/vigilhq/vigil"
)

// Evaluator evaluates rules over each workspace's log in memory: the
// stateful rules keep, per actor or session, the recent events their
// windows need, instead of asking a History per event. Fed the log in
// sequence order, it raises the alerts that Rule.Evaluate raises over a
// History of the same log (the tests hold it to that, rule type by rule
// type); it is how a follower of the log evaluates "in motion".
//
// Its state is what the log implies, so it is never stored: Rebuild reads
// it back from the log (over the longest window of the rules) when a
// follower starts, when a rule is added or changed, and after a failure.
//
// # Memory
//
// A rule keeps only what its question needs: high_volume at most
// threshold+1 values (or event times) per subject, repeated_failure at
// most threshold failure times, new_country the countries seen in the
// lookback; and nothing older than the rule's window, nor any subject
// quiet for longer. Above that, each stateful rule holds at most
// Options.MaxHeld entries over all its subjects: past it the least
// recently active subjects are forgotten (counted in Stats.Evicted), which
// can only delay an alert about them, never invent one. An entry is a
// time and a string header (24 bytes) plus, for distinct counts, a map
// slot; the default bound is about 20 MB per stateful rule.
//
// An Evaluator is safe for concurrent use.
type Evaluator struct {
	opt    Options
	mu     sync.Mutex
	spaces map[string]*space
}

// Options configure an Evaluator.
type Options struct {
	// MaxHeld bounds each stateful rule's entries over all its subjects
	// (see Memory above); zero means DefaultMaxHeld.
	MaxHeld int
	// Now is the clock of the alerts' TriggeredAt (time.Now).
	Now func() time.Time
}

// DefaultMaxHeld is Options.MaxHeld's default.
const DefaultMaxHeld = 1 << 19

// space is one workspace: its rules and how far their state has followed
// its log.
type space struct {
	rules []*ruleState
	next  int64 // the next sequence to apply; -1 before the first
}

// Stats describe what an Evaluator holds.
type Stats struct {
	Rules    int   // enabled rules
	Subjects int   // actors and sessions with state
	Held     int   // entries held over all rules
	Evicted  int64 // subjects forgotten for the bound so far
}

// NewEvaluator returns an Evaluator of rules (of any workspaces; disabled
// ones are left out). Its state is empty: a workspace must be Rebuilt
// before its first Apply unless that Apply starts the log (sequence 0).
func NewEvaluator(rules []*Rule, opt Options) *Evaluator {
	if opt.MaxHeld <= 0 {
		opt.MaxHeld = DefaultMaxHeld
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	ev := &Evaluator{opt: opt, spaces: map[string]*space{}}
	byWS := map[string][]*Rule{}
	var order []string
	for _, r := range rules {
		w := r.def.Workspace
		if _, ok := byWS[w]; !ok {
			order = append(order, w)
		}
		byWS[w] = append(byWS[w], r)
	}
	for _, w := range order {
		ev.SetRules(w, byWS[w])
	}
	return ev
}

// ruleKey identifies a rule's definition: a new version may change what
// its state means.
func ruleKey(r *Rule) string { return fmt.Sprintf("%s@%d", r.def.ID, r.def.Version) }

// SetRules replaces a workspace's rules, in the order their alerts are
// to be raised. A rule whose id and version it had already keeps its
// state; the others start cold, and the workspace must be Rebuilt before
// the next Apply.
func (ev *Evaluator) SetRules(workspace string, rules []*Rule) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	sp := ev.spaces[workspace]
	if sp == nil {
		sp = &space{next: -1}
		ev.spaces[workspace] = sp
	}
	old := map[string]*ruleState{}
	for _, rs := range sp.rules {
		old[ruleKey(rs.rule)] = rs
	}
	sp.rules = sp.rules[:0:0]
	for _, r := range rules {
		if !r.def.Enabled {
			continue
		}
		rs := old[ruleKey(r)]
		if rs == nil {
			rs = newRuleState(r, ev.opt.MaxHeld)
		}
		rs.rule = r // the same definition, possibly compiled again
		sp.rules = append(sp.rules, rs)
	}
}

// Next returns the sequence the workspace's state expects next, -1 when
// it has none.
func (ev *Evaluator) Next(workspace string) int64 {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if sp := ev.spaces[workspace]; sp != nil {
		return sp.next
	}
	return -1
}

// Forget drops a workspace's state, keeping its rules: the next Apply
// needs a Rebuild first. A caller whose write of Apply's alerts failed
// calls it, so that the events are evaluated again from its cursor.
func (ev *Evaluator) Forget(workspace string) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if sp := ev.spaces[workspace]; sp != nil {
		ev.forget(sp)
	}
}

func (ev *Evaluator) forget(sp *space) {
	sp.next = -1
	for _, rs := range sp.rules {
		rs.reset(ev.opt.MaxHeld)
	}
}

// Apply evaluates events, each workspace's in sequence order and
// continuing where its state is (Next, or 0 for a new one), and returns
// the alerts raised, in event order and, for one event, in rule order.
// Events of workspaces without rules are skipped. An event out of order,
// or a workspace with a rule not yet rebuilt, is an error; the workspace's
// state is then forgotten (nothing is applied from the event on).
func (ev *Evaluator) Apply(events []vigil.Event) ([]vigil.Alert, error) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	now := ev.opt.Now()
	var alerts []vigil.Alert
	for i := range events {
		e := &events[i]
		sp := ev.spaces[e.Workspace]
		if sp == nil || len(sp.rules) == 0 {
			continue
		}
		if sp.next < 0 && e.Sequence == 0 {
			sp.next = 0 // the start of the log: empty state is its past
			for _, rs := range sp.rules {
				rs.warm = true
			}
		}
		if e.Sequence != sp.next || sp.next < 0 {
			want := sp.next
			ev.forget(sp)
			return alerts, vigil.Errorf(vigil.ECONFLICT, "alert: workspace %s: event %d applied where %d was expected; rebuild the state", e.Workspace, e.Sequence, want)
		}
		for _, rs := range sp.rules {
			if !rs.warm {
				ev.forget(sp)
				return alerts, vigil.Errorf(vigil.ECONFLICT, "alert: workspace %s: rule %s has no state yet; rebuild the state", e.Workspace, rs.rule.def.ID)
			}
			if f, ok := rs.step(e); ok {
				alerts = append(alerts, rs.rule.alert(e, f, now))
			}
		}
		sp.next++
	}
	return alerts, nil
}

// Log is where Rebuild reads the past: a workspace's events from a
// sequence on, in sequence order (vigil.EventLog's EventsFrom).
type Log interface {
	EventsFrom(ctx context.Context, workspace string, from int64, limit int) ([]vigil.Event, error)
}

// rebuildPage is the number of events Rebuild reads at a time.
const rebuildPage = 1000

// Rebuild makes the workspace's state that of its log just before
// sequence next: the cold rules (new, changed, or all of them when the
// state is elsewhere) take in the log's events within their windows
// ending at event next-1, found by created_at, without raising alerts.
// It reads nothing when every rule is already at next. It returns the
// number of events read.
func (ev *Evaluator) Rebuild(ctx context.Context, log Log, workspace string, next int64) (int, error) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	sp := ev.spaces[workspace]
	if sp == nil {
		return 0, nil
	}
	if sp.next != next {
		ev.forget(sp)
	}
	var cold []*ruleState
	var span time.Duration
	for _, rs := range sp.rules {
		if rs.warm {
			continue
		}
		if rs.subj == nil || next == 0 {
			rs.warm = true // nothing of the past matters to it
			continue
		}
		cold = append(cold, rs)
		span = max(span, rs.span())
	}
	if len(cold) == 0 {
		sp.next = next
		return 0, nil
	}
	last, err := log.EventsFrom(ctx, workspace, next-1, 1)
	if err != nil {
		return 0, err
	}
	if len(last) != 1 || last[0].Sequence != next-1 {
		return 0, vigil.Errorf(vigil.EINTERNAL, "alert: workspace %s: event %d is not in the log", workspace, next-1)
	}
	from, err := FirstSince(ctx, log, workspace, next-1, last[0].CreatedAt.Add(-span))
	if err != nil {
		return 0, err
	}
	read := 0
	for from < next {
		page, err := log.EventsFrom(ctx, workspace, from, int(min(rebuildPage, next-from)))
		if err != nil {
			return read, err
		}
		if len(page) == 0 {
			return read, vigil.Errorf(vigil.EINTERNAL, "alert: workspace %s: the log ends at %d, before %d", workspace, from, next)
		}
		for i := range page {
			e := &page[i]
			if e.Sequence != from {
				return read, vigil.Errorf(vigil.EINTERNAL, "alert: workspace %s: the log gave event %d where %d was expected", workspace, e.Sequence, from)
			}
			for _, rs := range cold {
				rs.step(e)
			}
			from++
			read++
		}
	}
	for _, rs := range cold {
		rs.warm = true
	}
	sp.next = next
	return read, nil
}

// FirstSince finds the first sequence up to last whose created_at is at
// or after since (last when none before it is), by bisection: created_at
// increases along the sequence, and a look-up of one event by sequence is
// a single index probe.
func FirstSince(ctx context.Context, log Log, workspace string, last int64, since time.Time) (int64, error) {
	var err error
	n := sort.Search(int(last), func(i int) bool {
		if err != nil {
			return true
		}
		var page []vigil.Event
		page, err = log.EventsFrom(ctx, workspace, int64(i), 1)
		if err == nil && len(page) == 0 {
			err = vigil.Errorf(vigil.EINTERNAL, "alert: workspace %s: event %d is not in the log", workspace, i)
		}
		return err != nil || !page[0].CreatedAt.Before(since)
	})
	return int64(n), err
}

// Stats reports what the Evaluator holds.
func (ev *Evaluator) Stats() Stats {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var s Stats
	for _, sp := range ev.spaces {
		for _, rs := range sp.rules {
			s.Rules++
			if rs.subj != nil {
				s.Subjects += len(rs.subj.keys)
				s.Held += rs.subj.held
				s.Evicted += rs.subj.evicted
			}
		}
	}
	return s
}
