-- A report's record is kept for the retention period (HIPAA: six years at
-- least; seven by default), while its file may be removed sooner and is
-- then regenerated at its checkpoint. generated_at is the time written
-- into the file, which regenerating it byte for byte needs: records of
-- earlier versions have none (their files cannot be regenerated).
-- retain_until is when the record may go; earlier records get the
-- default seven years (2557 days) from their request.
ALTER TABLE reports ADD COLUMN generated_at INTEGER;
ALTER TABLE reports ADD COLUMN retain_until INTEGER;
UPDATE reports SET retain_until = created_at + 2557 * 86400 * 1000000000;
CREATE INDEX reports_retention ON reports (retain_until);
