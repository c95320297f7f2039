package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vigilhq/vigil"
)

var _ vigil.UserStore = (*DB)(nil)

// Users and sessions are bookkeeping beside the log, written like keys on
// the write connection.

const userColumns = "u.id, w.name, u.email, u.role, u.issuer, u.subject, u.created_at, u.disabled_at"

func scanUser(s scanner) (vigil.User, error) {
	var u vigil.User
	var role string
	var issuer, subject sql.NullString
	var created int64
	var disabled sql.NullInt64
	if err := s.Scan(&u.ID, &u.Workspace, &u.Email, &role, &issuer, &subject, &created, &disabled); err != nil {
		return u, err
	}
	u.Role, u.Issuer, u.Subject = vigil.Role(role), issuer.String, subject.String
	u.CreatedAt = time.Unix(0, created).UTC()
	if disabled.Valid {
		u.DisabledAt = time.Unix(0, disabled.Int64).UTC()
	}
	return u, nil
}

// CreateUser implements vigil.UserStore. The workspace must exist.
func (db *DB) CreateUser(ctx context.Context, u vigil.User, c *vigil.LocalCredentials) error {
	ws, err := db.workspaceID(ctx, u.Workspace)
	if err != nil {
		return err
	}
	if !u.Role.ValidUser() {
		return vigil.Invalid(vigil.ErrorDetail{Field: "role", Message: "must be one of " + vigil.RoleList(vigil.UserRoles)})
	}
	if (c == nil) == u.Local() {
		return vigil.Errorf(vigil.EINVALID, "a local account needs credentials and a provider's user has none")
	}
	var hash, secret any
	if c != nil {
		hash, secret = c.PasswordHash, c.TOTPSecret
	}
	_, err = db.write.ExecContext(ctx, `INSERT INTO users (id, ws, email, role, issuer, subject, password_hash, totp_secret, created_at)
		VALUES (?,?,?,?,?,?,?,?,?)`, u.ID, ws, u.Email, string(u.Role), null(u.Issuer), null(u.Subject), hash, secret, u.CreatedAt.UnixNano())
	if isUnique(err) {
		return vigil.Errorf(vigil.ECONFLICT, "a user with this email (or provider subject) exists")
	} else if err != nil {
		return vigil.Unavailable("storing the user failed", err)
	}
	return nil
}

func (db *DB) oneUser(ctx context.Context, conn *sql.DB, where string, args ...any) (vigil.User, error) {
	u, err := scanUser(conn.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u JOIN workspaces w ON w.id = u.ws WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return u, vigil.Errorf(vigil.ENOTFOUND, "user not found")
	} else if err != nil {
		return u, vigil.Unavailable("reading users failed", err)
	}
	return u, nil
}

// User implements vigil.UserStore.
func (db *DB) User(ctx context.Context, workspace, id string) (vigil.User, error) {
	return db.oneUser(ctx, db.read, "w.name = ? AND u.id = ?", workspace, id)
}

// LocalUser implements vigil.UserStore.
func (db *DB) LocalUser(ctx context.Context, workspace, email string) (vigil.User, vigil.LocalCredentials, error) {
	var c vigil.LocalCredentials
	row := db.read.QueryRowContext(ctx, "SELECT "+userColumns+", u.password_hash, u.totp_secret FROM users u JOIN workspaces w ON w.id = u.ws WHERE w.name = ? AND u.email = ? AND u.issuer IS NULL", workspace, email)
	var u vigil.User
	var role string
	var issuer, subject sql.NullString
	var created int64
	var disabled sql.NullInt64
	err := row.Scan(&u.ID, &u.Workspace, &u.Email, &role, &issuer, &subject, &created, &disabled, &c.PasswordHash, &c.TOTPSecret)
	if errors.Is(err, sql.ErrNoRows) {
		return u, c, vigil.Errorf(vigil.ENOTFOUND, "user not found")
	} else if err != nil {
		return u, c, vigil.Unavailable("reading users failed", err)
	}
	u.Role = vigil.Role(role)
	u.CreatedAt = time.Unix(0, created).UTC()
	if disabled.Valid {
		u.DisabledAt = time.Unix(0, disabled.Int64).UTC()
	}
	return u, c, nil
}

// UserBySubject implements vigil.UserStore.
func (db *DB) UserBySubject(ctx context.Context, workspace, issuer, subject string) (vigil.User, error) {
	return db.oneUser(ctx, db.read, "w.name = ? AND u.issuer = ? AND u.subject = ?", workspace, issuer, subject)
}

// UpdateUser implements vigil.UserStore.
func (db *DB) UpdateUser(ctx context.Context, workspace, id, email string, role vigil.Role) (vigil.User, error) {
	if !role.ValidUser() {
		return vigil.User{}, vigil.Invalid(vigil.ErrorDetail{Field: "role", Message: "must be one of " + vigil.RoleList(vigil.UserRoles)})
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.User{}, err
	}
	res, err := db.write.ExecContext(ctx, "UPDATE users SET email = ?, role = ? WHERE id = ? AND ws = ?", email, string(role), id, ws)
	if isUnique(err) {
		return vigil.User{}, vigil.Errorf(vigil.ECONFLICT, "another local account has this email")
	} else if err != nil {
		return vigil.User{}, vigil.Unavailable("updating the user failed", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vigil.User{}, vigil.Errorf(vigil.ENOTFOUND, "user not found")
	}
	return db.oneUser(ctx, db.write, "u.id = ?", id)
}

// Users implements vigil.UserStore.
func (db *DB) Users(ctx context.Context, workspace string) ([]vigil.User, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+userColumns+" FROM users u JOIN workspaces w ON w.id = u.ws WHERE w.name = ? ORDER BY u.created_at, u.id", workspace)
	if err != nil {
		return nil, vigil.Unavailable("reading users failed", err)
	}
	defer rows.Close()
	var out []vigil.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, vigil.Unavailable("reading users failed", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DisableUser implements vigil.UserStore: the user and its sessions end in
// one transaction.
func (db *DB) DisableUser(ctx context.Context, workspace, id string, at time.Time) (vigil.User, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.User{}, err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return vigil.User{}, vigil.Unavailable("disabling the user failed", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE users SET disabled_at = coalesce(disabled_at, ?) WHERE id = ? AND ws = ?", at.UnixNano(), id, ws)
	if err != nil {
		return vigil.User{}, vigil.Unavailable("disabling the user failed", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vigil.User{}, vigil.Errorf(vigil.ENOTFOUND, "user not found")
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM console_sessions WHERE user_id = ?", id); err != nil {
		return vigil.User{}, vigil.Unavailable("ending the user's sessions failed", err)
	}
	if err := tx.Commit(); err != nil {
		return vigil.User{}, vigil.Unavailable("disabling the user failed", err)
	}
	return db.oneUser(ctx, db.write, "u.id = ?", id)
}

// UseTOTPStep implements vigil.UserStore: one statement raises the last
// used step only if the new one is later, so two sign-ins racing with the
// same code cannot both succeed.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := db.write.ExecContext(ctx, "UPDATE users SET totp_step = ? WHERE id = ? AND totp_step < ?", step, userID, step)
	if err != nil {
		return false, vigil.Unavailable("recording the code's use failed", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CreateSession implements vigil.UserStore.
func (db *DB) CreateSession(ctx context.Context, hash []byte, s vigil.Session) error {
	_, err := db.write.ExecContext(ctx, "INSERT INTO console_sessions (hash, user_id, created_at, last_active, expires_at) VALUES (?,?,?,?,?)",
		hash, s.UserID, s.CreatedAt.UnixNano(), s.LastActive.UnixNano(), s.ExpiresAt.UnixNano())
	if err != nil {
		return vigil.Unavailable("storing the session failed", err)
	}
	return nil
}

// Session implements vigil.UserStore. It reads on the write connection:
// a session is used right after it is created or touched.
func (db *DB) Session(ctx context.Context, hash []byte) (vigil.Session, vigil.User, error) {
	var s vigil.Session
	var created, active, expires int64
	row := db.write.QueryRowContext(ctx, "SELECT s.user_id, s.created_at, s.last_active, s.expires_at, "+userColumns+
		" FROM console_sessions s JOIN users u ON u.id = s.user_id JOIN workspaces w ON w.id = u.ws WHERE s.hash = ?", hash)
	var u vigil.User
	var role string
	var issuer, subject sql.NullString
	var ucreated int64
	var disabled sql.NullInt64
	err := row.Scan(&s.UserID, &created, &active, &expires, &u.ID, &u.Workspace, &u.Email, &role, &issuer, &subject, &ucreated, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return s, u, vigil.Errorf(vigil.ENOTFOUND, "session not found")
	} else if err != nil {
		return s, u, vigil.Unavailable("reading the session failed", err)
	}
	s.CreatedAt, s.LastActive, s.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, active).UTC(), time.Unix(0, expires).UTC()
	u.Role, u.Issuer, u.Subject = vigil.Role(role), issuer.String, subject.String
	u.CreatedAt = time.Unix(0, ucreated).UTC()
	if disabled.Valid {
		u.DisabledAt = time.Unix(0, disabled.Int64).UTC()
	}
	return s, u, nil
}

// TouchSession implements vigil.UserStore.
func (db *DB) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	if _, err := db.write.ExecContext(ctx, "UPDATE console_sessions SET last_active = max(last_active, ?) WHERE hash = ?", at.UnixNano(), hash); err != nil {
		return vigil.Unavailable("recording session activity failed", err)
	}
	return nil
}

// DeleteSession implements vigil.UserStore.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := db.write.ExecContext(ctx, "DELETE FROM console_sessions WHERE hash = ?", hash); err != nil {
		return vigil.Unavailable("ending the session failed", err)
	}
	return nil
}
