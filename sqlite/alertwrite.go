package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
)

// route is where a new alert's notifications go and how they are
// throttled.
type route struct {
	channels []string
	throttle time.Duration
	version  int // of the rule
}

// tamperKey is the throttling key of the built-in tamper alerts, which
// have no rule id.
const tamperKey = "tamper"

// storeAlert writes one alert in tx unless the alert for its rule and
// event (or its ledger finding) exists already, and decides its
// notification: outbox rows for each channel, or, inside the throttle
// period of the last notified alert of its rule and subject, one more
// suppressed on that alert. It reports whether the alert was new.
func storeAlert(ctx context.Context, tx *sql.Tx, ws int64, a *vigil.Alert, findingID int64, rt route) (bool, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return false, err
	}
	a.ID = id.String()
	var seq, finding any
	if a.Sequence >= 0 {
		seq = a.Sequence
	}
	if findingID > 0 {
		finding = findingID
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO alerts (id, ws, rule_id, rule_version, rule_name, rule_type, reason, subject, event_id,
		event_action, actor_id, seq, finding_id, tenant_id, status, triggered_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT DO NOTHING`,
		a.ID, ws, null(a.RuleID), a.RuleVersion, a.RuleName, a.RuleType, a.Reason, null(a.Subject), null(a.EventID),
		null(a.EventAction), null(a.ActorID), seq, finding, null(a.TenantID), a.Status, a.TriggeredAt.UnixNano())
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil // raised before: by the evaluator before a crash, or by a scan
	}
	if len(rt.channels) == 0 {
		return true, nil
	}
	key := a.RuleID
	if key == "" {
		key = tamperKey
	}
	var lastID string
	var lastAt int64
	err = tx.QueryRowContext(ctx, "SELECT alert_id, notified_at FROM alert_throttle WHERE ws = ? AND rule_key = ? AND subject = ?",
		ws, key, a.Subject).Scan(&lastID, &lastAt)
	var last time.Time
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return false, err
	default:
		last = time.Unix(0, lastAt)
	}
	if alert.Throttle(last, a.TriggeredAt, rt.throttle) == alert.Suppress {
		_, err := tx.ExecContext(ctx, "UPDATE alerts SET suppressed = suppressed + 1 WHERE id = ?", lastID)
		return true, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_throttle (ws, rule_key, subject, alert_id, notified_at) VALUES (?,?,?,?,?)
		ON CONFLICT (ws, rule_key, subject) DO UPDATE SET alert_id = excluded.alert_id, notified_at = excluded.notified_at`,
		ws, key, a.Subject, a.ID, a.TriggeredAt.UnixNano()); err != nil {
		return false, err
	}
	for _, ch := range rt.channels {
		if _, err := tx.ExecContext(ctx, "INSERT INTO alert_deliveries (alert_id, channel, next_attempt_at) VALUES (?,?,?)",
			a.ID, ch, a.TriggeredAt.UnixNano()); err != nil {
			return false, err
		}
	}
	return true, nil
}

// readCursor returns a consumer's next position in a workspace.
func readCursor(ctx context.Context, q queryRower, consumer string, ws int64) (int64, error) {
	var next int64
	err := q.QueryRowContext(ctx, "SELECT next_seq FROM cursors WHERE consumer = ? AND ws = ?", consumer, ws).Scan(&next)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return next, err
}

func writeCursor(ctx context.Context, tx *sql.Tx, consumer string, ws, next int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO cursors (consumer, ws, next_seq) VALUES (?,?,?)
		ON CONFLICT (consumer, ws) DO UPDATE SET next_seq = excluded.next_seq`, consumer, ws, next)
	return err
}
