package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/vigilhq/vigil"
)

const alertColumns = `a.id, a.rule_id, a.rule_version, a.rule_name, a.rule_type, a.reason, a.subject, a.event_id, a.event_action,
	a.actor_id, a.seq, a.tenant_id, a.status, a.notes, a.suppressed, a.triggered_at, a.notified_at, a.updated_at`

func scanAlert(s scanner, workspace string) (vigil.Alert, error) {
	var a vigil.Alert
	var ruleID, subject, eventID, action, actor, tenant, notes sql.NullString
	var seq, notified, updated sql.NullInt64
	var triggered int64
	err := s.Scan(&a.ID, &ruleID, &a.RuleVersion, &a.RuleName, &a.RuleType, &a.Reason, &subject, &eventID, &action,
		&actor, &seq, &tenant, &a.Status, &notes, &a.Suppressed, &triggered, &notified, &updated)
	if err != nil {
		return a, err
	}
	a.Workspace = workspace
	a.RuleID, a.Subject, a.EventID, a.EventAction, a.ActorID = ruleID.String, subject.String, eventID.String, action.String, actor.String
	a.TenantID, a.Notes = tenant.String, notes.String
	a.Sequence = -1
	if seq.Valid {
		a.Sequence = seq.Int64
	}
	a.TriggeredAt = time.Unix(0, triggered).UTC()
	if notified.Valid {
		a.NotifiedAt = time.Unix(0, notified.Int64).UTC()
	}
	if updated.Valid {
		a.UpdatedAt = time.Unix(0, updated.Int64).UTC()
	}
	return a, nil
}

// alertStatuses are the statuses an alert may have.
var alertStatuses = []string{vigil.AlertOpen, vigil.AlertInvestigating, vigil.AlertResolved, vigil.AlertFalsePositive}

// Alerts implements vigil.AlertStore.
func (db *DB) Alerts(ctx context.Context, q vigil.AlertQuery) (vigil.AlertPage, error) {
	var page vigil.AlertPage
	ws, err := db.workspaceID(ctx, q.Workspace)
	if err != nil {
		return page, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = vigil.DefaultQueryLimit
	}
	where, args := "a.ws = ?", []any{ws}
	eq := func(col, v string) {
		if v != "" {
			where += " AND " + col + " = ?"
			args = append(args, v)
		}
	}
	eq("a.tenant_id", q.TenantScope)
	eq("a.rule_type", q.RuleType)
	eq("a.status", q.Status)
	if !q.From.IsZero() {
		where += " AND a.triggered_at >= ?"
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where += " AND a.triggered_at < ?"
		args = append(args, q.To.UnixNano())
	}
	if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM alerts a WHERE "+where, args...).Scan(&page.Total); err != nil {
		return page, vigil.Unavailable("counting alerts failed", err)
	}
	if q.Before != "" {
		// Ids are UUIDv7: their order is the order alerts were stored in.
		where += " AND a.id < ?"
		args = append(args, q.Before)
	}
	scan := func(s scanner) (vigil.Alert, error) { return scanAlert(s, q.Workspace) }
	page.Alerts, page.HasMore, err = queryPage(ctx, db.read, "alerts", limit, scan, "SELECT "+alertColumns+" FROM alerts a WHERE "+where+" ORDER BY a.id DESC LIMIT ?", args...)
	if err != nil {
		return page, err
	}
	if page.HasMore {
		page.Next = page.Alerts[limit-1].ID
	}
	return page, nil
}

// Alert implements vigil.AlertStore.
func (db *DB) Alert(ctx context.Context, workspace, tenantScope, id string) (vigil.Alert, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Alert{}, err
	}
	return db.alert(ctx, db.read, ws, workspace, tenantScope, id)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) alert(ctx context.Context, q queryRower, ws int64, workspace, tenantScope, id string) (vigil.Alert, error) {
	query := "SELECT " + alertColumns + " FROM alerts a WHERE a.ws = ? AND a.id = ?"
	args := []any{ws, id}
	if tenantScope != "" {
		query += " AND a.tenant_id = ?"
		args = append(args, tenantScope)
	}
	a, err := scanAlert(q.QueryRowContext(ctx, query, args...), workspace)
	if errors.Is(err, sql.ErrNoRows) {
		return a, vigil.Errorf(vigil.ENOTFOUND, "alert not found")
	} else if err != nil {
		return a, vigil.Unavailable("reading the alert failed", err)
	}
	return a, nil
}

// UpdateAlert implements vigil.AlertStore.
func (db *DB) UpdateAlert(ctx context.Context, workspace, tenantScope, id string, status, notes *string) (vigil.Alert, error) {
	// A status outside the vocabulary is the caller's mistake, not a
	// storage failure: refused before the table's CHECK would turn it into
	// a retryable error.
	if status != nil && !slices.Contains(alertStatuses, *status) {
		return vigil.Alert{}, vigil.Invalid(vigil.ErrorDetail{Field: "status", Message: "must be one of open, investigating, resolved, false_positive"})
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Alert{}, err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return vigil.Alert{}, vigil.Unavailable("updating the alert failed", err)
	}
	defer tx.Rollback()
	a, err := db.alert(ctx, tx, ws, workspace, tenantScope, id)
	if err != nil {
		return a, err
	}
	if status != nil {
		a.Status = *status
	}
	if notes != nil {
		a.Notes = *notes
	}
	a.UpdatedAt = vigil.Time(db.cfg.Now())
	if _, err := tx.ExecContext(ctx, "UPDATE alerts SET status = ?, notes = ?, updated_at = ? WHERE id = ?",
		a.Status, null(a.Notes), a.UpdatedAt.UnixNano(), a.ID); err != nil {
		return a, vigil.Unavailable("updating the alert failed", err)
	}
	if err := tx.Commit(); err != nil {
		return a, vigil.Unavailable("updating the alert failed", err)
	}
	return a, nil
}

var _ vigil.Outbox = (*DB)(nil)

// DueDeliveries implements vigil.Outbox.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]vigil.Delivery, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT d.id, d.channel, d.attempts, w.name, `+alertColumns+`
		FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id JOIN workspaces w ON w.id = a.ws
		WHERE d.next_attempt_at IS NOT NULL AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?`, now.UnixNano(), limit)
	if err != nil {
		return nil, vigil.Unavailable("reading the outbox failed", err)
	}
	defer rows.Close()
	var out []vigil.Delivery
	for rows.Next() {
		var d vigil.Delivery
		var workspace string
		// The alert's columns follow the delivery's; scanAlert reads them
		// through a scanner that fills the first four itself.
		err := scanAlertAfter(rows, &d, &workspace)
		if err != nil {
			return nil, vigil.Unavailable("reading the outbox failed", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// prefixScanner lets scanAlert read a row whose first columns belong to
// someone else.
type prefixScanner struct {
	s      scanner
	prefix []any
}

func (p prefixScanner) Scan(dest ...any) error { return p.s.Scan(append(p.prefix, dest...)...) }

func scanAlertAfter(s scanner, d *vigil.Delivery, workspace *string) error {
	var ws string
	a, err := scanAlert(prefixScanner{s, []any{&d.ID, &d.Channel, &d.Attempts, &ws}}, "")
	if err != nil {
		return err
	}
	a.Workspace, *workspace = ws, ws
	d.Alert = a
	return nil
}

// Delivered implements vigil.Outbox.
func (db *DB) Delivered(ctx context.Context, id int64, at time.Time) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return vigil.Unavailable("updating the outbox failed", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE alert_deliveries SET delivered_at = ?, next_attempt_at = NULL, attempts = attempts + 1 WHERE id = ?",
		at.UnixNano(), id); err != nil {
		return vigil.Unavailable("updating the outbox failed", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE alerts SET notified_at = ? WHERE notified_at IS NULL AND id = (SELECT alert_id FROM alert_deliveries WHERE id = ?)`,
		at.UnixNano(), id); err != nil {
		return vigil.Unavailable("updating the outbox failed", err)
	}
	if err := tx.Commit(); err != nil {
		return vigil.Unavailable("updating the outbox failed", err)
	}
	return nil
}

// DeliveryFailed implements vigil.Outbox.
func (db *DB) DeliveryFailed(ctx context.Context, id int64, attempts int, next time.Time, message string) error {
	var nextAt any
	if !next.IsZero() {
		nextAt = next.UnixNano()
	}
	if _, err := db.write.ExecContext(ctx, "UPDATE alert_deliveries SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
		attempts, nextAt, message, id); err != nil {
		return vigil.Unavailable("updating the outbox failed", err)
	}
	return nil
}
