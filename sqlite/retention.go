package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vigilhq/vigil"
)

var _ vigil.RetentionStore = (*DB)(nil)

// RetentionPolicy implements vigil.RetentionStore.
func (db *DB) RetentionPolicy(ctx context.Context, workspace string) (vigil.RetentionPolicy, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.RetentionPolicy{}, err
	}
	p := vigil.DefaultRetentionPolicy(workspace)
	var hipaa int
	var updated int64
	err = db.read.QueryRowContext(ctx, "SELECT retention_days, hipaa, updated_at, updated_by FROM retention_policies WHERE ws = ?", ws).
		Scan(&p.Days, &hipaa, &updated, &p.UpdatedBy)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return p, nil
	case err != nil:
		return p, vigil.Unavailable("reading the retention policy failed", err)
	}
	p.HIPAA, p.Set, p.UpdatedAt = hipaa == 1, true, time.Unix(0, updated).UTC()
	return p, nil
}

// SetRetentionPolicy implements vigil.RetentionStore.
func (db *DB) SetRetentionPolicy(ctx context.Context, p vigil.RetentionPolicy) (vigil.RetentionPolicy, error) {
	if err := p.Check(); err != nil {
		return p, err
	}
	ws, err := db.workspaceID(ctx, p.Workspace)
	if err != nil {
		return p, err
	}
	hipaa := 0
	if p.HIPAA {
		hipaa = 1
	}
	p.UpdatedAt = p.UpdatedAt.UTC()
	_, err = db.write.ExecContext(ctx, `INSERT INTO retention_policies (ws, retention_days, hipaa, updated_at, updated_by) VALUES (?,?,?,?,?)
		ON CONFLICT (ws) DO UPDATE SET retention_days = excluded.retention_days, hipaa = excluded.hipaa,
		updated_at = excluded.updated_at, updated_by = excluded.updated_by`, ws, p.Days, hipaa, p.UpdatedAt.UnixNano(), p.UpdatedBy)
	if err != nil {
		return p, vigil.Unavailable("storing the retention policy failed", err)
	}
	p.Set = true
	return p, nil
}
