-- Workspaces are the unit of isolation; each has its own log.
CREATE TABLE workspaces (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
) STRICT;

-- API keys are stored only as the SHA-256 of their secret.
CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	ws         INTEGER NOT NULL REFERENCES workspaces(id),
	tenant_id  TEXT,
	role       TEXT NOT NULL CHECK (role IN ('ingest', 'auditor', 'admin')),
	name       TEXT,
	hint       TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;
CREATE INDEX api_keys_ws ON api_keys (ws, created_at);

-- One row per event. Times are Unix nanoseconds, UTC. metadata and
-- targets hold canonical JSON (RFC 8785), exactly what the ledger hashes.
CREATE TABLE events (
	ws              INTEGER NOT NULL REFERENCES workspaces(id),
	seq             INTEGER NOT NULL,
	id              TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	occurred_at     INTEGER NOT NULL,
	actor_id        TEXT NOT NULL,
	actor_name      TEXT,
	actor_type      TEXT,
	action          TEXT NOT NULL,
	action_category TEXT,
	resource        TEXT,
	resource_id     TEXT,
	resource_name   TEXT,
	targets         TEXT,
	metadata        TEXT,
	tenant_id       TEXT,
	session_id      TEXT,
	idempotency_key TEXT,
	version         TEXT,
	outcome         TEXT NOT NULL,
	patient_id      TEXT,
	purpose_of_use  TEXT,
	ip_address      TEXT,
	user_agent      TEXT,
	source          TEXT,
	ip_country      TEXT,
	ip_city         TEXT,
	ip_region       TEXT,
	PRIMARY KEY (ws, seq)
) STRICT;
CREATE UNIQUE INDEX events_id ON events (id);
CREATE UNIQUE INDEX events_idempotency ON events (ws, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_actor ON events (ws, actor_id, seq);
CREATE INDEX events_action ON events (ws, action, seq);
CREATE INDEX events_resource ON events (ws, resource, seq) WHERE resource IS NOT NULL;
CREATE INDEX events_resource_id ON events (ws, resource_id, seq) WHERE resource_id IS NOT NULL;
CREATE INDEX events_tenant ON events (ws, tenant_id, seq) WHERE tenant_id IS NOT NULL;
CREATE INDEX events_session ON events (ws, session_id, seq) WHERE session_id IS NOT NULL;
CREATE INDEX events_patient ON events (ws, patient_id, seq) WHERE patient_id IS NOT NULL;
CREATE INDEX events_occurred ON events (ws, occurred_at);

-- Targets, one row each, for the target_type and target_id filters.
CREATE TABLE event_targets (
	ws   INTEGER NOT NULL,
	seq  INTEGER NOT NULL,
	pos  INTEGER NOT NULL,
	type TEXT NOT NULL,
	id   TEXT NOT NULL,
	PRIMARY KEY (ws, seq, pos)
) STRICT, WITHOUT ROWID;
CREATE INDEX event_targets_type ON event_targets (ws, type, id, seq);
CREATE INDEX event_targets_id ON event_targets (ws, id, seq);

-- The Merkle tree: tlog's stored hashes, addressed by tlog.StoredHashIndex.
CREATE TABLE ledger_hashes (
	ws   INTEGER NOT NULL,
	idx  INTEGER NOT NULL,
	hash BLOB NOT NULL,
	PRIMARY KEY (ws, idx)
) STRICT, WITHOUT ROWID;

-- Every signed checkpoint ever issued.
CREATE TABLE checkpoints (
	ws         INTEGER NOT NULL,
	size       INTEGER NOT NULL,
	root       BLOB NOT NULL,
	note       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (ws, size)
) STRICT, WITHOUT ROWID;

-- Durable cursors of the consumers that follow the log after the ack.
CREATE TABLE cursors (
	consumer TEXT NOT NULL,
	ws       INTEGER NOT NULL,
	next_seq INTEGER NOT NULL,
	PRIMARY KEY (consumer, ws)
) STRICT, WITHOUT ROWID;

-- What the background verifier found.
CREATE TABLE ledger_findings (
	id         INTEGER PRIMARY KEY,
	ws         INTEGER NOT NULL,
	type       TEXT NOT NULL,
	seq        INTEGER,
	event_id   TEXT,
	expected   TEXT,
	actual     TEXT,
	detail     TEXT,
	found_at   INTEGER NOT NULL
) STRICT;

-- Defence in depth: the log is append-only in the database itself.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER event_targets_no_update BEFORE UPDATE ON event_targets BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER event_targets_no_delete BEFORE DELETE ON event_targets BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER ledger_hashes_no_update BEFORE UPDATE ON ledger_hashes BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_hashes_no_delete BEFORE DELETE ON ledger_hashes BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
