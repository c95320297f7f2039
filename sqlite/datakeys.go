package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vigilhq/vigil"
)

var _ vigil.DataKeyStore = (*DB)(nil)

const dataKeyColumns = "id, workspace, purpose, period, kek_id, wrapped, created_at"

func scanDataKey(s scanner) (vigil.WrappedKey, error) {
	var k vigil.WrappedKey
	var period sql.NullString
	var created int64
	if err := s.Scan(&k.ID, &k.Workspace, &k.Purpose, &period, &k.KEKID, &k.Wrapped, &created); err != nil {
		return k, err
	}
	k.Period, k.CreatedAt = period.String, time.Unix(0, created).UTC()
	return k, nil
}

// keysConn is the connection pool key lookups use: the readers once they
// are open (a lookup may run while the writer holds its transaction),
// the writer's connection while Open runs.
func (db *DB) keysConn() *sql.DB {
	if db.read != nil {
		return db.read
	}
	return db.write
}

// DataKeys implements vigil.DataKeyStore.
func (db *DB) DataKeys(ctx context.Context) ([]vigil.WrappedKey, error) {
	rows, err := db.keysConn().QueryContext(ctx, "SELECT "+dataKeyColumns+" FROM data_keys ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []vigil.WrappedKey
	for rows.Next() {
		k, err := scanDataKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DataKey implements vigil.DataKeyStore.
func (db *DB) DataKey(ctx context.Context, id string) (vigil.WrappedKey, error) {
	k, err := scanDataKey(db.keysConn().QueryRowContext(ctx, "SELECT "+dataKeyColumns+" FROM data_keys WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, vigil.Errorf(vigil.ENOTFOUND, "no data key %s", id)
	}
	return k, err
}

// AddDataKey implements vigil.DataKeyStore. The insert commits (fsync'd,
// synchronous=FULL) before any event sealed under the key is appended.
func (db *DB) AddDataKey(ctx context.Context, k vigil.WrappedKey) (vigil.WrappedKey, error) {
	if k.Purpose != vigil.KeyPurposeData && k.Purpose != vigil.KeyPurposeIndex {
		return k, vigil.Errorf(vigil.EINVALID, "a data key's purpose is data or index, not %q", k.Purpose)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO data_keys (id, workspace, purpose, period, kek_id, wrapped, created_at)
		VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Workspace, k.Purpose, null(k.Period), k.KEKID, k.Wrapped, k.CreatedAt.UnixNano()); err != nil {
		return k, err
	}
	return scanDataKey(db.write.QueryRowContext(ctx, "SELECT "+dataKeyColumns+" FROM data_keys WHERE id = ?", k.ID))
}

// RewrapDataKeys implements vigil.DataKeyStore in one transaction of the
// writer's connection.
func (db *DB) RewrapDataKeys(ctx context.Context, rewrap func(vigil.WrappedKey) (vigil.WrappedKey, error)) (int, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT "+dataKeyColumns+" FROM data_keys ORDER BY id")
	if err != nil {
		return 0, err
	}
	var keys []vigil.WrappedKey
	for rows.Next() {
		k, err := scanDataKey(rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	now := db.cfg.Now().UnixNano()
	for _, k := range keys {
		nk, err := rewrap(k)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE data_keys SET kek_id = ?, wrapped = ?, rewrapped_at = ? WHERE id = ?", nk.KEKID, nk.Wrapped, now, k.ID); err != nil {
			return 0, err
		}
	}
	return len(keys), tx.Commit()
}
