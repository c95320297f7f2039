-- Encryption at rest (crypt, docs/privacy.md). Data keys are kept only
-- wrapped by the key-encryption key (KEK), which is never in this file:
-- one key per workspace and month seals events, one per workspace keys
-- the blind indexes. Times are Unix nanoseconds, UTC.
CREATE TABLE data_keys (
	id           TEXT PRIMARY KEY,  -- dk1/<workspace>/<yyyy-mm>, ik1/<workspace>
	workspace    TEXT NOT NULL,
	purpose      TEXT NOT NULL CHECK (purpose IN ('data', 'index')),
	period       TEXT,              -- yyyy-mm of a data key
	kek_id       TEXT NOT NULL,     -- the KEK that wraps it
	wrapped      BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	rewrapped_at INTEGER            -- the last KEK rotation
) STRICT;

-- A sealed event (version 2 leaf): the identifying columns hold blind
-- indexes (actor_id, patient_id, resource_id, session_id,
-- idempotency_key, event_targets.id) or NULL, and the values are in
-- sealed, AES-256-GCM under the data key key_id. commitments are the
-- leaf's: one byte of field index (ledger.SealedFields) and 32 bytes of
-- hash each, so the leaf is written again from the row without the key.
ALTER TABLE events ADD COLUMN key_id TEXT;
ALTER TABLE events ADD COLUMN commitments BLOB;
ALTER TABLE events ADD COLUMN sealed BLOB;
