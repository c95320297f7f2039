-- Anchors: checkpoints sent to external witnesses (RFC 3161 time-stamp
-- authorities, C2SP tlog-witness cosigners) and the evidence they gave.
-- Times are Unix nanoseconds, UTC. Stream destinations keep their
-- positions in the cursors table (consumer "stream:<name>").
CREATE TABLE anchors (
	id               TEXT PRIMARY KEY, -- UUIDv7
	ws               INTEGER NOT NULL REFERENCES workspaces(id),
	chain            TEXT NOT NULL,    -- rfc3161:<url> or witness:<name>
	kind             TEXT NOT NULL CHECK (kind IN ('rfc3161', 'cosignature/v1')),
	checkpoint       TEXT NOT NULL,    -- the signed note anchored
	tree_size        INTEGER NOT NULL,
	root             BLOB NOT NULL,
	previous_id      TEXT,             -- the chain's previous confirmed anchor
	previous_hash    BLOB,
	from_seq         INTEGER NOT NULL, -- the events newly covered: [from_seq, tree_size)
	period_start     INTEGER,
	period_end       INTEGER,
	first_event_hash BLOB,
	last_event_hash  BLOB,
	status           TEXT NOT NULL CHECK (status IN ('pending', 'submitted', 'confirmed', 'failed')),
	evidence         BLOB,
	evidence_time    INTEGER,
	witness_key      TEXT,
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_try_at      INTEGER,
	last_error       TEXT,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX anchors_ws ON anchors (ws, id);
CREATE INDEX anchors_chain ON anchors (ws, chain, id);

-- An anchor is kept; once settled it never changes, and what was anchored
-- never changes at all.
CREATE TRIGGER anchors_no_delete BEFORE DELETE ON anchors BEGIN SELECT RAISE(ABORT, 'anchors are kept'); END;
CREATE TRIGGER anchors_settled BEFORE UPDATE ON anchors WHEN OLD.status IN ('confirmed', 'failed')
BEGIN SELECT RAISE(ABORT, 'a settled anchor does not change'); END;
CREATE TRIGGER anchors_fixed BEFORE UPDATE OF id, ws, chain, kind, checkpoint, tree_size, root, previous_id, previous_hash,
	from_seq, period_start, period_end, first_event_hash, last_event_hash, created_at ON anchors
BEGIN SELECT RAISE(ABORT, 'what an anchor anchors does not change'); END;
