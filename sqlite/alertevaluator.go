package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
)

// Consumers of the log whose positions are kept in the cursors table.
const (
	alertsConsumer = "alerts"        // next event sequence to evaluate
	tamperConsumer = "alerts.tamper" // next ledger_findings id to raise
)

// AlertOptions configure an AlertEvaluator.
type AlertOptions struct {
	// Channels are the configured channel names. Tamper alerts, and rules
	// that name no channel, notify all of them.
	Channels []string
	// TamperThrottle is the throttle period of tamper alerts.
	TamperThrottle time.Duration
	// Batch is the number of events evaluated per transaction (1000).
	Batch int
	// Coalesce is how long a pass waits after being woken, so that one
	// pass (one transaction) covers the commits of that time rather than
	// one each (25ms). It is the least lag alerts have.
	Coalesce time.Duration
	// BusyShare bounds the evaluator while ingestion saturates the
	// writer: when a commit of at least BusyCommit events (the writer's
	// groups grow only when requests queue up) arrived during a batch, the
	// evaluator pauses so that it works at most this share of the time,
	// leaving the cores to ingestion; it catches up at full speed once the
	// load drops. Zero means 0.5; 1 never pauses.
	BusyShare float64
	// BusyCommit is the commit size that means "saturated" (64).
	BusyCommit int
	// MaxHeld bounds each stateful rule's state (alert.Options.MaxHeld).
	MaxHeld int
	// OnAlerts, when set, is called after a transaction stored alerts (to
	// wake the deliverer).
	OnAlerts func()
	Logger   *slog.Logger
}

// AlertEvaluator evaluates each workspace's enabled alert rules over its
// log, following a durable cursor: events after they were committed ("in
// motion", never on the ingest path), stored events on a schedule ("at
// rest"), and the background verifier's findings (tamper alerts). The
// rules are evaluated in memory by an alert.Evaluator, whose state is
// rebuilt from the log when the evaluator starts and when a rule changes;
// the store keeps only the alerts, their outbox and the cursor. The
// alerts, their outbox rows and the cursor are written in one
// transaction, so a crash neither skips an event nor alerts twice.
//
// It does nothing unless told there is something to do: Committed (new
// events), Wake (a ledger finding, or anything else), Pass and Scan.
type AlertEvaluator struct {
	db   *DB
	opt  AlertOptions
	mem  *alert.Evaluator
	wake chan struct{}
	// events and findings say what a wake-up is for, so a pass woken by
	// commits does not look for findings and the other way round.
	events, findings atomic.Bool
	// busy counts the writer's large commits (see BusyShare), so a pass
	// knows whether ingestion saturates the writer.
	busy atomic.Int64

	passMu sync.Mutex // one pass at a time: the cursor only moves forward
	scanMu sync.Mutex // one scan at a time
	mu     sync.Mutex // guards cache and live
	cache  map[string]*alert.Rule
	// live holds, per workspace and rule version, the first sequence the
	// in-motion evaluation applied it to in this process: a scan need not
	// evaluate a rule over events it judged already.
	live map[string]int64
}

// maxBatchesPerPass bounds the work one pass gives one workspace, so that
// a long backlog in one workspace delays neither the others nor tamper
// alerts; the next pass follows at once.
const maxBatchesPerPass = 25

// AlertEvaluator returns the store's evaluator.
func (db *DB) AlertEvaluator(opt AlertOptions) *AlertEvaluator {
	if opt.Batch <= 0 {
		opt.Batch = 1000
	}
	if opt.Coalesce <= 0 {
		opt.Coalesce = 25 * time.Millisecond
	}
	if opt.BusyShare <= 0 || opt.BusyShare > 1 {
		opt.BusyShare = 0.5
	}
	if opt.BusyCommit <= 0 {
		opt.BusyCommit = 64
	}
	if opt.Logger == nil {
		opt.Logger = db.log
	}
	ev := &AlertEvaluator{db: db, opt: opt, wake: make(chan struct{}, 1), cache: map[string]*alert.Rule{}, live: map[string]int64{}}
	ev.mem = alert.NewEvaluator(nil, ev.memOptions())
	ev.events.Store(true) // the first pass looks at everything
	ev.findings.Store(true)
	return ev
}

func (ev *AlertEvaluator) memOptions() alert.Options {
	return alert.Options{MaxHeld: ev.opt.MaxHeld, Now: ev.db.cfg.Now}
}

// Committed is the store's commit hook (DB.OnCommit): it tells Run there
// are new events and how busy the writer is. It never blocks; wake-ups
// are coalesced.
func (ev *AlertEvaluator) Committed(events int) {
	if events >= ev.opt.BusyCommit {
		ev.busy.Add(1)
	}
	ev.events.Store(true)
	ev.signal()
}

// Wake asks Run for a full pass soon (new events and new ledger
// findings); it never blocks.
func (ev *AlertEvaluator) Wake() {
	ev.events.Store(true)
	ev.findings.Store(true)
	ev.signal()
}

func (ev *AlertEvaluator) signal() {
	select {
	case ev.wake <- struct{}{}:
	default:
	}
}

// Stats reports what the in-memory evaluation holds.
func (ev *AlertEvaluator) Stats() alert.Stats { return ev.mem.Stats() }

// Run passes over the logs when woken (and every poll when poll is not
// zero, for work nobody announces), and scans stored events of the last
// scanWindow every scanInterval (never when zero), until ctx ends. Scans
// run beside the passes, so a long scan delays neither evaluation on
// arrival nor tamper alerts. Idle, it does nothing.
func (ev *AlertEvaluator) Run(ctx context.Context, poll, scanInterval, scanWindow time.Duration) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if scanInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(scanInterval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if _, err := ev.Scan(ctx, ev.db.cfg.Now().Add(-scanWindow)); err != nil && ctx.Err() == nil {
					ev.opt.Logger.Error("alert scan failed", "err", err)
				}
			}
		}()
	}
	var tick <-chan time.Time
	if poll > 0 {
		t := time.NewTicker(poll)
		defer t.Stop()
		tick = t.C
	}
	retry := time.Duration(0)
	for {
		_, more, err := ev.pass(ctx)
		if err != nil && ctx.Err() == nil {
			ev.opt.Logger.Error("alert evaluation failed; retrying", "err", err)
			// Whatever the pass did not finish is done again.
			ev.events.Store(true)
			ev.findings.Store(true)
			retry = min(max(2*retry, 100*time.Millisecond), 5*time.Second)
			if !sleep(ctx, retry) {
				return
			}
			continue
		}
		retry = 0
		if more && ctx.Err() == nil {
			ev.events.Store(true)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-ev.wake:
			// Let the commits of the next moment join this pass.
			if !sleep(ctx, ev.opt.Coalesce) {
				return
			}
		case <-tick:
			ev.events.Store(true)
			ev.findings.Store(true)
		}
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Pass evaluates every workspace's events from its cursor to the end of
// its log, and raises tamper alerts for new ledger findings. It returns
// the number of new alerts.
func (ev *AlertEvaluator) Pass(ctx context.Context) (int, error) {
	total := 0
	for {
		ev.events.Store(true)
		ev.findings.Store(true)
		n, more, err := ev.pass(ctx)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// pass gives every workspace a bounded share of the work it was told of;
// more reports that some log was not followed to its end.
func (ev *AlertEvaluator) pass(ctx context.Context) (total int, more bool, err error) {
	ev.passMu.Lock()
	defer ev.passMu.Unlock()
	events, findings := ev.events.Swap(false), ev.findings.Swap(false)
	if !events && !findings {
		return 0, false, nil
	}
	names, err := ev.db.Workspaces(ctx)
	if err != nil {
		return 0, false, err
	}
	for _, name := range names {
		ws, err := ev.db.workspaceID(ctx, name)
		if err != nil {
			return total, more, err
		}
		if findings {
			n, err := ev.tamper(ctx, ws, name)
			total += n
			if err != nil {
				return total, more, err
			}
		}
		if events {
			n, left, err := ev.follow(ctx, ws, name)
			total += n
			more = more || left
			if err != nil {
				return total, more, err
			}
		}
	}
	return total, more, nil
}

// compiled returns the workspace's enabled rules, compiled, with the
// route of each rule's alerts. A rule is compiled again only when its
// version changes.
func (ev *AlertEvaluator) compiled(ctx context.Context, ws int64, name string) ([]*alert.Rule, map[string]route, error) {
	defs, err := ev.db.rules(ctx, ws, name, true)
	if err != nil {
		return nil, nil, err
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	rules := make([]*alert.Rule, 0, len(defs))
	routes := make(map[string]route, len(defs))
	for _, d := range defs {
		key := fmt.Sprintf("%s@%d", d.ID, d.Version)
		r := ev.cache[key]
		if r == nil {
			if r, err = alert.Compile(d); err != nil {
				// Stored rules were compiled when written; one that no
				// longer compiles (a time zone gone from the system) is
				// skipped loudly rather than stopping every other rule.
				ev.opt.Logger.Error("alert rule does not compile; skipped", "rule_id", d.ID, "err", err)
				continue
			}
			ev.cache[key] = r
		}
		rules = append(rules, r)
		ch := d.Channels
		if len(ch) == 0 {
			ch = ev.opt.Channels
		}
		routes[d.ID] = route{channels: ch, throttle: d.Throttle, version: d.Version}
	}
	return rules, routes, nil
}

// follow evaluates a workspace's events from its cursor towards the end
// of its log, one transaction per batch, at most maxBatchesPerPass
// batches; more reports that events remain.
func (ev *AlertEvaluator) follow(ctx context.Context, ws int64, name string) (total int, more bool, err error) {
	// A pass covers every event acknowledged before it began.
	if err := ev.db.await(ctx, name); err != nil {
		return 0, false, err
	}
	next, err := readCursor(ctx, ev.db.read, alertsConsumer, ws)
	if err != nil {
		return 0, false, err
	}
	var size int64
	if err := ev.db.read.QueryRowContext(ctx, "SELECT coalesce(max(seq) + 1, 0) FROM events WHERE ws = ?", ws).Scan(&size); err != nil {
		return 0, false, err
	}
	if next >= size {
		return 0, false, nil
	}
	rules, routes, err := ev.compiled(ctx, ws, name)
	if err != nil {
		return 0, false, err
	}
	if len(rules) == 0 {
		// Nothing to evaluate: move the cursor in one step.
		ev.mem.SetRules(name, nil)
		_, err := ev.store(ctx, ws, nil, routes, func(tx *sql.Tx) error {
			return writeCursor(ctx, tx, alertsConsumer, ws, size)
		})
		return 0, false, err
	}
	ev.mem.SetRules(name, rules)
	ev.markLive(name, rules, next)
	if _, err := ev.mem.Rebuild(ctx, ev.db, name, next); err != nil {
		ev.mem.Forget(name)
		return 0, false, err
	}
	for batches := 0; next < size; batches++ {
		if batches == maxBatchesPerPass {
			return total, true, nil
		}
		busy, start := ev.busy.Load(), time.Now()
		events, err := ev.db.EventsFrom(ctx, name, next, int(min(int64(ev.opt.Batch), size-next)))
		if err == nil && len(events) == 0 {
			err = fmt.Errorf("sqlite: alerts: no event at %d of workspace %s", next, name)
		}
		if err != nil {
			return total, false, err
		}
		end := events[len(events)-1].Sequence + 1
		found, err := ev.mem.Apply(events)
		if err != nil {
			return total, false, err
		}
		n, err := ev.store(ctx, ws, found, routes, func(tx *sql.Tx) error {
			return writeCursor(ctx, tx, alertsConsumer, ws, end)
		})
		total += n
		if err != nil {
			// The state took in events whose alerts were not stored: it
			// is rebuilt from the cursor, and they are evaluated again.
			ev.mem.Forget(name)
			return total, false, err
		}
		next = end
		if ev.busy.Load() != busy && ev.opt.BusyShare < 1 {
			ev.yield(ctx, time.Since(start))
		}
	}
	return total, false, nil
}

// markLive records where in-motion evaluation took up each rule version.
func (ev *AlertEvaluator) markLive(name string, rules []*alert.Rule, next int64) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, r := range rules {
		d := r.Definition()
		key := fmt.Sprintf("%s/%s@%d", name, d.ID, d.Version)
		if _, ok := ev.live[key]; !ok {
			ev.live[key] = next
		}
	}
}

// liveFrom returns where in-motion evaluation took up a rule version, and
// whether it did in this process.
func (ev *AlertEvaluator) liveFrom(name string, r *alert.Rule) (int64, bool) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	d := r.Definition()
	next, ok := ev.live[fmt.Sprintf("%s/%s@%d", name, d.ID, d.Version)]
	return next, ok
}

// yield pauses after a batch that took busy while ingestion was going on,
// so that evaluation takes at most BusyShare of the time.
func (ev *AlertEvaluator) yield(ctx context.Context, busy time.Duration) {
	pause := time.Duration(float64(busy) * (1 - ev.opt.BusyShare) / ev.opt.BusyShare)
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// store writes alerts and whatever else must commit with them in one
// transaction, and returns the number of new alerts.
func (ev *AlertEvaluator) store(ctx context.Context, ws int64, found []vigil.Alert, routes map[string]route, also func(*sql.Tx) error) (int, error) {
	tx, err := ev.db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n := 0
	for i := range found {
		a := &found[i]
		rt := routes[a.RuleID]
		a.RuleVersion = rt.version
		isNew, err := storeAlert(ctx, tx, ws, a, 0, rt)
		if err != nil {
			return 0, err
		}
		if isNew {
			n++
		}
	}
	if also != nil {
		if err := also(tx); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if n > 0 && ev.opt.OnAlerts != nil {
		ev.opt.OnAlerts()
	}
	return n, nil
}

// tamper raises one alert per ledger finding after the workspace's
// tamper cursor, always on, to every configured channel.
func (ev *AlertEvaluator) tamper(ctx context.Context, ws int64, name string) (int, error) {
	next, err := readCursor(ctx, ev.db.read, tamperConsumer, ws)
	if err != nil {
		return 0, err
	}
	rows, err := ev.db.read.QueryContext(ctx, `SELECT id, type, seq, event_id, expected, actual, detail, found_at
		FROM ledger_findings WHERE ws = ? AND id >= ? ORDER BY id`, ws, next)
	if err != nil {
		return 0, err
	}
	type finding struct {
		id int64
		a  vigil.Alert
	}
	var fs []finding
	for rows.Next() {
		var id, foundAt int64
		var b vigil.Break
		var seq sql.NullInt64
		var eventID, expected, actual, detail sql.NullString
		if err := rows.Scan(&id, &b.Type, &seq, &eventID, &expected, &actual, &detail, &foundAt); err != nil {
			rows.Close()
			return 0, err
		}
		b.Sequence = -1
		if seq.Valid {
			b.Sequence = seq.Int64
		}
		b.EventID, b.ExpectedHash, b.ActualHash, b.Detail = eventID.String, expected.String, actual.String, detail.String
		fs = append(fs, finding{id, alert.Tamper(name, b, ev.db.cfg.Now())})
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(fs) == 0 {
		return 0, err
	}
	tx, err := ev.db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rt := route{channels: ev.opt.Channels, throttle: ev.opt.TamperThrottle}
	n := 0
	for _, f := range fs {
		isNew, err := storeAlert(ctx, tx, ws, &f.a, f.id, rt)
		if err != nil {
			return 0, err
		}
		if isNew {
			n++
		}
	}
	if err := writeCursor(ctx, tx, tamperConsumer, ws, fs[len(fs)-1].id+1); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if n > 0 && ev.opt.OnAlerts != nil {
		ev.opt.OnAlerts()
	}
	return n, nil
}

// Scan evaluates the enabled rules over the stored events created since
// the given time that the live evaluation has passed already ("at rest"):
// it raises what a rule created or changed later would have raised. Alerts
// raised before for the same rule and event are not raised again. It
// returns the number of new alerts.
//
// A rule that in-motion evaluation in this process has applied since
// before the first of those events is left out: it judged them all
// already. The others are evaluated in memory as in motion, their state
// rebuilt from the log before the first event scanned.
func (ev *AlertEvaluator) Scan(ctx context.Context, since time.Time) (int, error) {
	ev.scanMu.Lock()
	defer ev.scanMu.Unlock()
	names, err := ev.db.Workspaces(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, name := range names {
		n, err := ev.scan(ctx, name, since)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (ev *AlertEvaluator) scan(ctx context.Context, name string, since time.Time) (int, error) {
	ws, err := ev.db.workspaceID(ctx, name)
	if err != nil {
		return 0, err
	}
	through, err := readCursor(ctx, ev.db.read, alertsConsumer, ws)
	if err != nil || through == 0 {
		return 0, err
	}
	rules, routes, err := ev.compiled(ctx, ws, name)
	if err != nil || len(rules) == 0 {
		return 0, err
	}
	from, err := alert.FirstSince(ctx, ev.db, name, through, since)
	if err != nil || from >= through {
		return 0, err
	}
	var scanned []*alert.Rule
	for _, r := range rules {
		if at, ok := ev.liveFrom(name, r); !ok || at > from {
			scanned = append(scanned, r)
		}
	}
	if len(scanned) == 0 {
		return 0, nil
	}
	mem := alert.NewEvaluator(scanned, ev.memOptions())
	if _, err := mem.Rebuild(ctx, ev.db, name, from); err != nil {
		return 0, err
	}
	total := 0
	for next, busy, start := from, ev.busy.Load(), time.Now(); next < through; {
		events, err := ev.db.EventsFrom(ctx, name, next, int(min(int64(ev.opt.Batch), through-next)))
		if err == nil && len(events) == 0 {
			err = fmt.Errorf("sqlite: alerts: no event at %d of workspace %s", next, name)
		}
		if err != nil {
			return total, err
		}
		found, err := mem.Apply(events)
		if err != nil {
			return total, err
		}
		n, err := ev.store(ctx, ws, found, routes, nil)
		total += n
		if err != nil {
			return total, err
		}
		next = events[len(events)-1].Sequence + 1
		// A scan is as much background work as following the log.
		if ev.busy.Load() != busy && ev.opt.BusyShare < 1 {
			ev.yield(ctx, time.Since(start))
		}
		busy, start = ev.busy.Load(), time.Now()
	}
	return total, nil
}

// AlertCursor returns the next sequence the evaluator will evaluate in a
// workspace: how far alerting has followed the log (0 for an unknown
// workspace).
func (db *DB) AlertCursor(ctx context.Context, workspace string) int64 {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return 0
	}
	next, _ := readCursor(ctx, db.read, alertsConsumer, ws)
	return next
}

// AlertBacklog reports how far alerting is behind: events not yet
// evaluated (over every workspace) and deliveries waiting in the outbox.
func (db *DB) AlertBacklog(ctx context.Context) (events, deliveries int64, err error) {
	names, err := db.Workspaces(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, name := range names {
		ws, err := db.workspaceID(ctx, name)
		if err != nil {
			return 0, 0, err
		}
		var size int64
		// One workspace at a time: max(seq) of one is a single index probe.
		if err := db.read.QueryRowContext(ctx, "SELECT coalesce(max(seq) + 1, 0) FROM events WHERE ws = ?", ws).Scan(&size); err != nil {
			return 0, 0, err
		}
		next, err := readCursor(ctx, db.read, alertsConsumer, ws)
		if err != nil {
			return 0, 0, err
		}
		events += max(0, size-next)
	}
	err = db.read.QueryRowContext(ctx, "SELECT count(*) FROM alert_deliveries WHERE next_attempt_at IS NOT NULL").Scan(&deliveries)
	return events, deliveries, err
}
