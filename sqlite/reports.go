package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vigilhq/vigil"
)

var _ vigil.ReportStore = (*DB)(nil)

// Report jobs are bookkeeping beside the log, not events: like keys, they
// are written on the write connection outside the event writer.

const reportColumns = `r.id, w.name, r.tenant_scope, r.created_by, r.kind, r.type, r.params, r.format, r.status,
	r.checkpoint_size, r.checkpoint_root, r.row_count, r.file_path, r.file_size, r.sha256, r.error,
	r.created_at, r.started_at, r.generated_at, r.finished_at, r.expires_at, r.retain_until`

func scanReport(s scanner) (vigil.Report, error) {
	var r vigil.Report
	var tenant, file, sum, msg sql.NullString
	var params string
	var cpSize, rows, size, started, generated, finished, expires, retain sql.NullInt64
	var root []byte
	var created int64
	err := s.Scan(&r.ID, &r.Workspace, &tenant, &r.CreatedBy, &r.Kind, &r.Type, &params, &r.Format, &r.Status,
		&cpSize, &root, &rows, &file, &size, &sum, &msg, &created, &started, &generated, &finished, &expires, &retain)
	if err != nil {
		return r, err
	}
	r.TenantScope, r.Params = tenant.String, []byte(params)
	r.CheckpointSize, r.Rows, r.FileSize = cpSize.Int64, rows.Int64, size.Int64
	copy(r.CheckpointRoot[:], root)
	r.File, r.SHA256, r.Error = file.String, sum.String, msg.String
	r.CreatedAt = time.Unix(0, created).UTC()
	r.StartedAt, r.GeneratedAt, r.FinishedAt = unixTime(started), unixTime(generated), unixTime(finished)
	r.ExpiresAt, r.RetainUntil = unixTime(expires), unixTime(retain)
	return r, nil
}

func unixTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// CreateReport implements vigil.ReportStore.
func (db *DB) CreateReport(ctx context.Context, r vigil.Report) error {
	// A kind or status outside the vocabulary is the caller's mistake:
	// refused before the table's CHECK would turn it into a retryable
	// storage failure.
	if r.Kind != vigil.KindReport && r.Kind != vigil.KindExport {
		return vigil.Invalid(vigil.ErrorDetail{Field: "kind", Message: "must be report or export"})
	}
	if r.Status != vigil.JobPending {
		return vigil.Invalid(vigil.ErrorDetail{Field: "status", Message: "a new job must be pending"})
	}
	ws, err := db.workspaceID(ctx, r.Workspace)
	if err != nil {
		return err
	}
	_, err = db.write.ExecContext(ctx, `INSERT INTO reports (id, ws, tenant_scope, created_by, kind, type, params, format, status, created_at, retain_until)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`, r.ID, ws, null(r.TenantScope), r.CreatedBy, r.Kind, r.Type, string(r.Params), r.Format, r.Status,
		r.CreatedAt.UnixNano(), nullTime(r.RetainUntil))
	if isUnique(err) {
		return vigil.Errorf(vigil.ECONFLICT, "a job with id %s exists", r.ID)
	} else if err != nil {
		return vigil.Unavailable("storing the report request failed", err)
	}
	return nil
}

// Report implements vigil.ReportStore.
func (db *DB) Report(ctx context.Context, workspace, tenantScope, kind, id string) (vigil.Report, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Report{}, err
	}
	q := "SELECT " + reportColumns + " FROM reports r JOIN workspaces w ON w.id = r.ws WHERE r.id = ? AND r.ws = ? AND r.kind = ?"
	args := []any{id, ws, kind}
	if tenantScope != "" {
		q += " AND r.tenant_scope = ?"
		args = append(args, tenantScope)
	}
	r, err := scanReport(db.read.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return r, vigil.Errorf(vigil.ENOTFOUND, "%s not found", kind)
	} else if err != nil {
		return r, vigil.Unavailable("reading the "+kind+" failed", err)
	}
	return r, nil
}

// Reports implements vigil.ReportStore.
func (db *DB) Reports(ctx context.Context, workspace, tenantScope, kind string, limit int) ([]vigil.Report, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	q := "SELECT " + reportColumns + " FROM reports r JOIN workspaces w ON w.id = r.ws WHERE r.ws = ? AND r.kind = ?"
	args := []any{ws, kind}
	if tenantScope != "" {
		q += " AND r.tenant_scope = ?"
		args = append(args, tenantScope)
	}
	q += " ORDER BY r.created_at DESC, r.id DESC LIMIT ?"
	return db.reportList(ctx, q, append(args, limit)...)
}

func (db *DB) reportList(ctx context.Context, q string, args ...any) ([]vigil.Report, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, vigil.Unavailable("reading reports failed", err)
	}
	defer rows.Close()
	out := []vigil.Report{}
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, vigil.Unavailable("reading reports failed", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, vigil.Unavailable("reading reports failed", err)
	}
	return out, nil
}

// ClaimReport implements vigil.ReportStore. The write connection is the
// only one that writes, so the select-then-update cannot race.
func (db *DB) ClaimReport(ctx context.Context, now time.Time) (vigil.Report, bool, error) {
	var id string
	err := db.write.QueryRowContext(ctx, `UPDATE reports SET status = 'processing', started_at = ?
		WHERE id = (SELECT id FROM reports WHERE status = 'pending' ORDER BY created_at, id LIMIT 1) RETURNING id`, now.UnixNano()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return vigil.Report{}, false, nil
	} else if err != nil {
		return vigil.Report{}, false, vigil.Unavailable("claiming a report failed", err)
	}
	r, err := scanReport(db.write.QueryRowContext(ctx, "SELECT "+reportColumns+" FROM reports r JOIN workspaces w ON w.id = r.ws WHERE r.id = ?", id))
	if err != nil {
		return r, false, vigil.Unavailable("reading a claimed report failed", err)
	}
	return r, true, nil
}

// FinishReport implements vigil.ReportStore.
func (db *DB) FinishReport(ctx context.Context, r vigil.Report) error {
	var root any
	if r.CheckpointSize > 0 {
		root = r.CheckpointRoot[:]
	}
	_, err := db.write.ExecContext(ctx, `UPDATE reports SET status = ?, checkpoint_size = ?, checkpoint_root = ?, row_count = ?,
		file_path = ?, file_size = ?, sha256 = ?, error = ?, generated_at = ?, finished_at = ?, expires_at = ? WHERE id = ? AND status = 'processing'`,
		r.Status, r.CheckpointSize, root, r.Rows, null(r.File), r.FileSize, null(r.SHA256), null(r.Error),
		nullTime(r.GeneratedAt), nullTime(r.FinishedAt), nullTime(r.ExpiresAt), r.ID)
	if err != nil {
		return vigil.Unavailable("storing the report's outcome failed", err)
	}
	return nil
}

// RequeueRunning implements vigil.ReportStore.
func (db *DB) RequeueRunning(ctx context.Context) (int, error) {
	res, err := db.write.ExecContext(ctx, "UPDATE reports SET status = 'pending', started_at = NULL WHERE status = 'processing'")
	if err != nil {
		return 0, vigil.Unavailable("requeueing reports failed", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ExpiredReports implements vigil.ReportStore.
func (db *DB) ExpiredReports(ctx context.Context, now time.Time) ([]vigil.Report, error) {
	return db.reportList(ctx, "SELECT "+reportColumns+` FROM reports r JOIN workspaces w ON w.id = r.ws
		WHERE r.status = 'completed' AND r.file_path IS NOT NULL AND r.expires_at <= ? ORDER BY r.expires_at LIMIT 1000`, now.UnixNano())
}

// ForgetReportFile implements vigil.ReportStore.
func (db *DB) ForgetReportFile(ctx context.Context, id string) error {
	if _, err := db.write.ExecContext(ctx, "UPDATE reports SET file_path = NULL WHERE id = ?", id); err != nil {
		return vigil.Unavailable("updating the report failed", err)
	}
	return nil
}

// RestoreReportFile implements vigil.ReportStore.
func (db *DB) RestoreReportFile(ctx context.Context, id, file string, expiresAt time.Time) error {
	if _, err := db.write.ExecContext(ctx, "UPDATE reports SET file_path = ?, expires_at = ? WHERE id = ? AND status = 'completed'",
		file, expiresAt.UnixNano(), id); err != nil {
		return vigil.Unavailable("updating the report failed", err)
	}
	return nil
}

// PurgeReports implements vigil.ReportStore. The records it returns
// carry their id, kind and file name.
func (db *DB) PurgeReports(ctx context.Context, now time.Time) ([]vigil.Report, error) {
	rows, err := db.write.QueryContext(ctx, "DELETE FROM reports WHERE retain_until <= ? RETURNING id, kind, file_path", now.UnixNano())
	if err != nil {
		return nil, vigil.Unavailable("removing reports past their retention failed", err)
	}
	defer rows.Close()
	gone := []vigil.Report{}
	for rows.Next() {
		var r vigil.Report
		var file sql.NullString
		if err := rows.Scan(&r.ID, &r.Kind, &file); err != nil {
			return nil, vigil.Unavailable("removing reports past their retention failed", err)
		}
		r.File = file.String
		gone = append(gone, r)
	}
	if err := rows.Err(); err != nil {
		return nil, vigil.Unavailable("removing reports past their retention failed", err)
	}
	return gone, nil
}
