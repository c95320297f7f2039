-- Search terms derived from each event by Config.Index (the FHIR
-- AuditEvent search parameters), written by the writer in the event's own
-- transaction. system is '' when a term has none.
CREATE TABLE event_terms (
	ws     INTEGER NOT NULL,
	seq    INTEGER NOT NULL,
	name   TEXT NOT NULL,
	system TEXT NOT NULL,
	value  TEXT NOT NULL,
	PRIMARY KEY (ws, seq, name, system, value)
) STRICT, WITHOUT ROWID;
CREATE INDEX event_terms_value ON event_terms (ws, name, value, seq);

CREATE TRIGGER event_terms_no_update BEFORE UPDATE ON event_terms BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER event_terms_no_delete BEFORE DELETE ON event_terms BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
