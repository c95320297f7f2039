package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vigilhq/vigil"
)

// CreateKey implements vigil.KeyStore. The workspace must exist.
func (db *DB) CreateKey(ctx context.Context, k vigil.APIKey, hash []byte) error {
	ws, err := db.workspaceID(ctx, k.Workspace)
	if err != nil {
		return err
	}
	if !k.Role.Valid() {
		return vigil.Invalid(vigil.ErrorDetail{Field: "role", Message: "must be one of " + vigil.RoleList(vigil.KeyRoles)})
	}
	_, err = db.write.ExecContext(ctx, `INSERT INTO api_keys (id, ws, tenant_id, role, name, hint, hash, created_at)
		VALUES (?,?,?,?,?,?,?,?)`, k.ID, ws, null(k.TenantID), string(k.Role), null(k.Name), k.Hint, hash, k.CreatedAt.UnixNano())
	if err != nil {
		return vigil.Unavailable("storing the key failed", err)
	}
	return nil
}

const keyColumns = "k.id, w.name, k.tenant_id, k.role, k.name, k.hint, k.created_at, k.revoked_at"

func scanKey(s scanner) (vigil.APIKey, error) {
	var k vigil.APIKey
	var tenant, name sql.NullString
	var role string
	var created int64
	var revoked sql.NullInt64
	if err := s.Scan(&k.ID, &k.Workspace, &tenant, &role, &name, &k.Hint, &created, &revoked); err != nil {
		return k, err
	}
	k.TenantID, k.Name, k.Role = tenant.String, name.String, vigil.Role(role)
	k.CreatedAt = time.Unix(0, created).UTC()
	if revoked.Valid {
		k.RevokedAt = time.Unix(0, revoked.Int64).UTC()
	}
	return k, nil
}

// KeyByHash implements vigil.KeyStore. The lookup is by the hash of the
// secret, and the stored hash is compared again in constant time.
func (db *DB) KeyByHash(ctx context.Context, hash []byte) (vigil.APIKey, error) {
	var stored []byte
	row := db.read.QueryRowContext(ctx, "SELECT "+keyColumns+", k.hash FROM api_keys k JOIN workspaces w ON w.id = k.ws WHERE k.hash = ?", hash)
	var k vigil.APIKey
	var tenant, name sql.NullString
	var role string
	var created int64
	var revoked sql.NullInt64
	err := row.Scan(&k.ID, &k.Workspace, &tenant, &role, &name, &k.Hint, &created, &revoked, &stored)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !vigil.HashesEqual(stored, hash)) {
		return k, vigil.Errorf(vigil.EUNAUTHORIZED, "invalid API key")
	} else if err != nil {
		return k, vigil.Unavailable("reading keys failed", err)
	}
	k.TenantID, k.Name, k.Role = tenant.String, name.String, vigil.Role(role)
	k.CreatedAt = time.Unix(0, created).UTC()
	if revoked.Valid {
		k.RevokedAt = time.Unix(0, revoked.Int64).UTC()
	}
	return k, nil
}

// Keys implements vigil.KeyStore.
func (db *DB) Keys(ctx context.Context, workspace string) ([]vigil.APIKey, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, "SELECT "+keyColumns+" FROM api_keys k JOIN workspaces w ON w.id = k.ws WHERE k.ws = ? ORDER BY k.created_at, k.id", ws)
	if err != nil {
		return nil, vigil.Unavailable("reading keys failed", err)
	}
	defer rows.Close()
	var keys []vigil.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, vigil.Unavailable("reading keys failed", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RevokeKey implements vigil.KeyStore. Revoking twice keeps the first time.
func (db *DB) RevokeKey(ctx context.Context, workspace, id string) (vigil.APIKey, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.APIKey{}, err
	}
	res, err := db.write.ExecContext(ctx, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? AND ws = ?",
		db.cfg.Now().UnixNano(), id, ws)
	if err != nil {
		return vigil.APIKey{}, vigil.Unavailable("revoking the key failed", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vigil.APIKey{}, vigil.Errorf(vigil.ENOTFOUND, "key not found")
	}
	k, err := scanKey(db.write.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM api_keys k JOIN workspaces w ON w.id = k.ws WHERE k.id = ?", id))
	if err != nil {
		return k, vigil.Unavailable("reading the key failed", err)
	}
	return k, nil
}
