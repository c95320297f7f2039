-- Search terms derived from each event by Config.Index (the FHIR
-- AuditEvent search parameters), written by the writer in the event's own
-- transaction: one row per event, rowid = workspace << 40 | sequence, each
-- term encoded as one token (see sqlite/terms.go). An FTS5 index costs one
-- row per event where a table of terms costs one b-tree insert per term.
-- It is contentless and keeps no sizes (no ranking): it holds only which
-- events have which token.
CREATE VIRTUAL TABLE event_terms USING fts5(terms, content='', detail='none', columnsize=0, tokenize='ascii');
