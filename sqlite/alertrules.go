package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil"
)

var _ vigil.AlertStore = (*DB)(nil)

const ruleColumns = `r.id, r.name, r.rule_type, r.conditions, r.channels, r.enabled, r.throttle_ns, r.version, r.created_at, r.updated_at`

func scanRule(s scanner, workspace string) (vigil.AlertRule, error) {
	var r vigil.AlertRule
	var conditions, channels string
	var throttle, created, updated int64
	if err := s.Scan(&r.ID, &r.Name, &r.Type, &conditions, &channels, &r.Enabled, &throttle, &r.Version, &created, &updated); err != nil {
		return r, err
	}
	r.Workspace = workspace
	r.Conditions = json.RawMessage(conditions)
	if err := json.Unmarshal([]byte(channels), &r.Channels); err != nil {
		return r, err
	}
	r.Throttle = time.Duration(throttle)
	r.CreatedAt, r.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return r, nil
}

func channelsJSON(ch []string) string {
	if ch == nil {
		ch = []string{}
	}
	b, _ := json.Marshal(ch)
	return string(b)
}

// CreateRule implements vigil.AlertStore.
func (db *DB) CreateRule(ctx context.Context, r vigil.AlertRule) (vigil.AlertRule, error) {
	ws, err := db.workspaceID(ctx, r.Workspace)
	if err != nil {
		return r, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return r, err
	}
	now := vigil.Time(db.cfg.Now())
	r.ID, r.Version, r.CreatedAt, r.UpdatedAt = id.String(), 1, now, now
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return r, vigil.Unavailable("storing the alert rule failed", err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO alert_rules (id, ws, name, rule_type, conditions, channels, enabled, throttle_ns, version, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`, r.ID, ws, r.Name, r.Type, string(r.Conditions), channelsJSON(r.Channels), r.Enabled,
		int64(r.Throttle), r.Version, now.UnixNano(), now.UnixNano())
	if err == nil {
		err = keepVersion(ctx, tx, r.ID)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return r, vigil.Unavailable("storing the alert rule failed", err)
	}
	return r, nil
}

// keepVersion copies a rule's current definition into its history.
func keepVersion(ctx context.Context, tx *sql.Tx, id string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO alert_rule_versions (rule_id, version, name, rule_type, conditions, channels, enabled, throttle_ns, created_at)
		SELECT id, version, name, rule_type, conditions, channels, enabled, throttle_ns, updated_at FROM alert_rules WHERE id = ?`, id)
	return err
}

// RuleVersions returns every definition a rule has had, oldest first
// (UpdatedAt is when each was written); ENOTFOUND if the workspace has no
// such rule.
func (db *DB) RuleVersions(ctx context.Context, workspace, id string) ([]vigil.AlertRule, error) {
	cur, err := db.Rule(ctx, workspace, id)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT r.rule_id, r.name, r.rule_type, r.conditions, r.channels, r.enabled, r.throttle_ns, r.version,
		r.created_at, r.created_at FROM alert_rule_versions r WHERE r.rule_id = ? ORDER BY r.version`, id)
	if err != nil {
		return nil, vigil.Unavailable("reading alert rule versions failed", err)
	}
	defer rows.Close()
	var out []vigil.AlertRule
	for rows.Next() {
		r, err := scanRule(rows, workspace)
		if err != nil {
			return nil, vigil.Unavailable("reading alert rule versions failed", err)
		}
		r.CreatedAt = cur.CreatedAt
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, vigil.Unavailable("reading alert rule versions failed", err)
	}
	return out, nil
}

// Rules implements vigil.AlertStore.
func (db *DB) Rules(ctx context.Context, workspace string) ([]vigil.AlertRule, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	return db.rules(ctx, ws, workspace, false)
}

func (db *DB) rules(ctx context.Context, ws int64, workspace string, enabledOnly bool) ([]vigil.AlertRule, error) {
	q := "SELECT " + ruleColumns + " FROM alert_rules r WHERE r.ws = ?"
	if enabledOnly {
		q += " AND r.enabled = 1"
	}
	rows, err := db.read.QueryContext(ctx, q+" ORDER BY r.created_at, r.id", ws)
	if err != nil {
		return nil, vigil.Unavailable("reading alert rules failed", err)
	}
	defer rows.Close()
	out := []vigil.AlertRule{}
	for rows.Next() {
		r, err := scanRule(rows, workspace)
		if err != nil {
			return nil, vigil.Unavailable("reading alert rules failed", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, vigil.Unavailable("reading alert rules failed", err)
	}
	return out, nil
}

// Rule implements vigil.AlertStore.
func (db *DB) Rule(ctx context.Context, workspace, id string) (vigil.AlertRule, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.AlertRule{}, err
	}
	r, err := scanRule(db.read.QueryRowContext(ctx, "SELECT "+ruleColumns+" FROM alert_rules r WHERE r.ws = ? AND r.id = ?", ws, id), workspace)
	if errors.Is(err, sql.ErrNoRows) {
		return r, vigil.Errorf(vigil.ENOTFOUND, "alert rule not found")
	} else if err != nil {
		return r, vigil.Unavailable("reading the alert rule failed", err)
	}
	return r, nil
}

// UpdateRule implements vigil.AlertStore.
func (db *DB) UpdateRule(ctx context.Context, r vigil.AlertRule) (vigil.AlertRule, error) {
	ws, err := db.workspaceID(ctx, r.Workspace)
	if err != nil {
		return r, err
	}
	now := vigil.Time(db.cfg.Now())
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return r, vigil.Unavailable("updating the alert rule failed", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE alert_rules SET name = ?, rule_type = ?, conditions = ?, channels = ?, enabled = ?,
		throttle_ns = ?, version = version + 1, updated_at = ? WHERE ws = ? AND id = ?`,
		r.Name, r.Type, string(r.Conditions), channelsJSON(r.Channels), r.Enabled, int64(r.Throttle), now.UnixNano(), ws, r.ID)
	if err != nil {
		return r, vigil.Unavailable("updating the alert rule failed", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return r, vigil.Errorf(vigil.ENOTFOUND, "alert rule not found")
	}
	if err := keepVersion(ctx, tx, r.ID); err != nil {
		return r, vigil.Unavailable("updating the alert rule failed", err)
	}
	if err := tx.Commit(); err != nil {
		return r, vigil.Unavailable("updating the alert rule failed", err)
	}
	return db.Rule(ctx, r.Workspace, r.ID)
}
