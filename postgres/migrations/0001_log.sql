-- The engine's log: one row per event, the acknowledgement point of the
-- write path. log_heads holds each workspace's size, the row an append
-- locks (SELECT ... FOR UPDATE) to fence two writers.
CREATE TABLE log_heads (
	workspace text PRIMARY KEY,
	size bigint NOT NULL CHECK (size > 0)
);

-- log_records is partitioned by the hash of the workspace into a fixed
-- number of partitions: each partition's primary-key index stays a
-- sixteenth of the whole, writers of different workspaces touch different
-- indexes, and no partition ever has to be created at run time (DDL in the
-- write path would take locks the appends wait on). It is not partitioned
-- by time: a Merkle log is kept whole (docs/deploy.md, "Retention").
CREATE TABLE log_records (
	workspace text NOT NULL,
	seq bigint NOT NULL CHECK (seq >= 0),
	leaf bytea NOT NULL,
	-- the tree hashes the leaf completes, 32 bytes each, level 0 first
	hashes bytea NOT NULL CHECK (length(hashes) > 0 AND length(hashes) % 32 = 0),
	-- the event's address is the connection's (vigil.LogRecord); not in
	-- the leaf, kept for comparing an idempotent retry
	ip_from_connection boolean NOT NULL,
	PRIMARY KEY (workspace, seq)
) PARTITION BY HASH (workspace);

-- Append-only, enforced by the database for every role, the owner too:
-- a record is never changed or removed, a head never goes backwards.
CREATE FUNCTION vigil_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'vigil: % on % refused: the log is append-only', TG_OP, TG_TABLE_NAME
		USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION vigil_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.workspace <> OLD.workspace OR NEW.size < OLD.size THEN
		RAISE EXCEPTION 'vigil: the head of workspace % may not go from % to % (%)', OLD.workspace, OLD.size, NEW.size, NEW.workspace
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END
$$;

-- Row triggers on the partitioned table are cloned onto every partition;
-- TRUNCATE triggers are not, so each partition gets its own below.
CREATE TRIGGER log_records_append_only BEFORE UPDATE OR DELETE ON log_records
	FOR EACH ROW EXECUTE FUNCTION vigil_refuse_change();
CREATE TRIGGER log_records_no_truncate BEFORE TRUNCATE ON log_records
	FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse_change();
CREATE TRIGGER log_heads_forward BEFORE UPDATE ON log_heads
	FOR EACH ROW EXECUTE FUNCTION vigil_head_forward();
CREATE TRIGGER log_heads_no_delete BEFORE DELETE ON log_heads
	FOR EACH ROW EXECUTE FUNCTION vigil_refuse_change();
CREATE TRIGGER log_heads_no_truncate BEFORE TRUNCATE ON log_heads
	FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse_change();

DO $$
BEGIN
	FOR i IN 0..15 LOOP
		EXECUTE format('CREATE TABLE %I PARTITION OF log_records FOR VALUES WITH (MODULUS 16, REMAINDER %s)', 'log_records_p' || i, i);
		EXECUTE format('CREATE TRIGGER log_records_no_truncate BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION vigil_refuse_change()', 'log_records_p' || i);
	END LOOP;
END
$$;
