-- The encrypted payload of a sealed event's identifying fields (a version
-- 2 leaf, docs/ledger.md), NULL for a version 1 leaf. It is outside the
-- leaf, so the log verifies without keys.
ALTER TABLE log_records ADD COLUMN sealed bytea;
