-- Reports and exports: requested jobs and, once generated, their files
-- (kept under <data>/reports/). Each names the checkpoint it reflects.
CREATE TABLE reports (
	id              TEXT PRIMARY KEY,
	ws              INTEGER NOT NULL REFERENCES workspaces(id),
	tenant_scope    TEXT,
	created_by      TEXT NOT NULL,
	kind            TEXT NOT NULL CHECK (kind IN ('report', 'export')),
	type            TEXT NOT NULL,
	params          TEXT NOT NULL,
	format          TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
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
CREATE INDEX reports_ws ON reports (ws, kind, created_at);
CREATE INDEX reports_queue ON reports (status, created_at);
