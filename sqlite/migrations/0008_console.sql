-- API keys may have the issuer role (viewer tokens only). SQLite cannot
-- change a CHECK constraint in place, so the table is rebuilt.
CREATE TABLE api_keys_new (
	id         TEXT PRIMARY KEY,
	ws         INTEGER NOT NULL REFERENCES workspaces(id),
	tenant_id  TEXT,
	role       TEXT NOT NULL CHECK (role IN ('ingest', 'auditor', 'admin', 'issuer')),
	name       TEXT,
	hint       TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;
INSERT INTO api_keys_new SELECT id, ws, tenant_id, role, name, hint, hash, created_at, revoked_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;
CREATE INDEX api_keys_ws ON api_keys (ws, created_at);

-- Console users: local accounts (password hash, sealed TOTP secret) and
-- users of an OpenID Connect provider (issuer, subject).
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	ws            INTEGER NOT NULL REFERENCES workspaces(id),
	email         TEXT NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('auditor', 'admin', 'privacy_officer')),
	issuer        TEXT,
	subject       TEXT,
	password_hash TEXT,
	totp_secret   BLOB,
	totp_step     INTEGER NOT NULL DEFAULT -1,
	created_at    INTEGER NOT NULL,
	disabled_at   INTEGER,
	CHECK ((issuer IS NULL) = (password_hash IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX users_local_email ON users (ws, email) WHERE issuer IS NULL;
CREATE UNIQUE INDEX users_subject ON users (ws, issuer, subject) WHERE issuer IS NOT NULL;

-- Console sessions, under the SHA-256 of their id (the cookie holds the id).
CREATE TABLE console_sessions (
	hash        BLOB PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users(id),
	created_at  INTEGER NOT NULL,
	last_active INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- The latest full verification of each workspace's log (by the background
-- verifier or on request): when it finished and what it found.
CREATE TABLE ledger_verifications (
	ws             INTEGER PRIMARY KEY REFERENCES workspaces(id),
	finished_at    INTEGER NOT NULL,
	events_checked INTEGER NOT NULL,
	tree_size      INTEGER NOT NULL,
	valid          INTEGER NOT NULL,
	breaks         TEXT NOT NULL
) STRICT;
