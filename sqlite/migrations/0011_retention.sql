-- Retention policies and legal holds. Nothing is destroyed by them yet:
-- the disposal and erasure that will ask them are to come
-- (docs/privacy.md). Times are Unix nanoseconds, UTC.
CREATE TABLE retention_policies (
	ws             INTEGER PRIMARY KEY REFERENCES workspaces(id),
	retention_days INTEGER NOT NULL CHECK (retention_days > 0),
	hipaa          INTEGER NOT NULL CHECK (hipaa IN (0, 1)),
	updated_at     INTEGER NOT NULL,
	updated_by     TEXT NOT NULL      -- the admin key's id
) STRICT;

-- A hold's patient is kept as the events keep theirs: with encryption at
-- rest, the blind index of the id (so Covers compares indexes) and the id
-- itself only inside the sealed content, with the reasons; without it,
-- in clear.
CREATE TABLE legal_holds (
	id              TEXT PRIMARY KEY, -- UUIDv7
	ws              INTEGER NOT NULL REFERENCES workspaces(id),
	tenant_id       TEXT,
	patient_index   TEXT,             -- blind index (bi1.…) or the id in clear; NULL: every patient
	from_ns         INTEGER,          -- recorded (created_at) in [from_ns, to_ns); NULL: open
	to_ns           INTEGER,
	content         BLOB NOT NULL,    -- JSON {patient_id, reason}, sealed when content_key is set
	content_key     TEXT,             -- the data key sealing content; NULL: in clear
	created_by      TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	released_at     INTEGER,
	released_by     TEXT,
	release_content BLOB,             -- JSON {reason}, sealed when release_key is set
	release_key     TEXT,
	CHECK ((released_at IS NULL) = (released_by IS NULL) AND (released_at IS NULL) = (release_content IS NULL))
) STRICT;
CREATE INDEX legal_holds_ws ON legal_holds (ws, id);
