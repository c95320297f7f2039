-- Job statuses in the vocabulary of the Immutable SDKs' export types:
-- pending, processing, completed, failed (they were queued, running,
-- done, failed). SQLite cannot change a CHECK constraint in place, so the
-- table is rebuilt, mapping each stored status.
CREATE TABLE reports_new (
	id              TEXT PRIMARY KEY,
	ws              INTEGER NOT NULL REFERENCES workspaces(id),
	tenant_scope    TEXT,
	created_by      TEXT NOT NULL,
	kind            TEXT NOT NULL CHECK (kind IN ('report', 'export')),
	type            TEXT NOT NULL,
	params          TEXT NOT NULL,
	format          TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
	checkpoint_size INTEGER,
	checkpoint_root BLOB,
	row_count       INTEGER,
	file_path       TEXT,
	file_size       INTEGER,
	sha256          TEXT,
	error           TEXT,
	created_at      INTEGER NOT NULL,
	started_at      INTEGER,
	finished_at     INTEGER,
	expires_at      INTEGER
) STRICT;
INSERT INTO reports_new SELECT id, ws, tenant_scope, created_by, kind, type, params, format,
	CASE status WHEN 'queued' THEN 'pending' WHEN 'running' THEN 'processing' WHEN 'done' THEN 'completed' ELSE status END,
	checkpoint_size, checkpoint_root, row_count, file_path, file_size, sha256, error, created_at, started_at, finished_at, expires_at
	FROM reports;
DROP TABLE reports;
ALTER TABLE reports_new RENAME TO reports;
CREATE INDEX reports_ws ON reports (ws, kind, created_at);
CREATE INDEX reports_queue ON reports (status, created_at);
