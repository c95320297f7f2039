-- Alert rules, one row per rule; an update replaces the definition and
-- increments version. Times are Unix nanoseconds, UTC.
CREATE TABLE alert_rules (
	id          TEXT PRIMARY KEY,
	ws          INTEGER NOT NULL REFERENCES workspaces(id),
	name        TEXT NOT NULL,
	rule_type   TEXT NOT NULL,
	conditions  TEXT NOT NULL,
	channels    TEXT NOT NULL, -- a JSON array of channel names
	enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	throttle_ns INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX alert_rules_ws ON alert_rules (ws, created_at);

-- Every definition a rule has had, so an alert's rule_version can be read
-- back as it was when the alert was raised. Append-only.
CREATE TABLE alert_rule_versions (
	rule_id     TEXT NOT NULL REFERENCES alert_rules(id),
	version     INTEGER NOT NULL,
	name        TEXT NOT NULL,
	rule_type   TEXT NOT NULL,
	conditions  TEXT NOT NULL,
	channels    TEXT NOT NULL,
	enabled     INTEGER NOT NULL,
	throttle_ns INTEGER NOT NULL,
	created_at  INTEGER NOT NULL, -- when this version was written
	PRIMARY KEY (rule_id, version)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER alert_rule_versions_no_update BEFORE UPDATE ON alert_rule_versions BEGIN SELECT RAISE(ABORT, 'rule versions are append-only'); END;
CREATE TRIGGER alert_rule_versions_no_delete BEFORE DELETE ON alert_rule_versions BEGIN SELECT RAISE(ABORT, 'rule versions are append-only'); END;

-- Alerts. At most one per rule and event (rule_id, seq) and one per
-- ledger finding: re-evaluation after a crash and overlapping scans
-- cannot double them.
CREATE TABLE alerts (
	id           TEXT PRIMARY KEY, -- UUIDv7
	ws           INTEGER NOT NULL REFERENCES workspaces(id),
	rule_id      TEXT,             -- null for tamper alerts
	rule_version INTEGER NOT NULL,
	rule_name    TEXT NOT NULL,
	rule_type    TEXT NOT NULL,
	reason       TEXT NOT NULL,
	subject      TEXT,
	event_id     TEXT,
	event_action TEXT,
	actor_id     TEXT,
	seq          INTEGER,          -- of the event; null when not about one
	finding_id   INTEGER UNIQUE,   -- ledger_findings.id of a tamper alert
	tenant_id    TEXT,
	status       TEXT NOT NULL CHECK (status IN ('open', 'investigating', 'resolved', 'false_positive')),
	notes        TEXT,
	suppressed   INTEGER NOT NULL DEFAULT 0, -- later alerts throttled into this one
	triggered_at INTEGER NOT NULL,
	notified_at  INTEGER,
	updated_at   INTEGER
) STRICT;
CREATE UNIQUE INDEX alerts_rule_event ON alerts (rule_id, seq) WHERE rule_id IS NOT NULL AND seq IS NOT NULL;
CREATE INDEX alerts_ws ON alerts (ws, id);
CREATE INDEX alerts_ws_type ON alerts (ws, rule_type, id);

-- The outbox: one row per alert and channel until delivered or given up.
CREATE TABLE alert_deliveries (
	id              INTEGER PRIMARY KEY,
	alert_id        TEXT NOT NULL REFERENCES alerts(id),
	channel         TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER,        -- null once delivered or given up
	last_error      TEXT,
	delivered_at    INTEGER,
	UNIQUE (alert_id, channel)
) STRICT;
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- Throttling: the last notified alert of each rule (or built-in type) and
-- subject. rule_key is the rule id, or "tamper" for the built-in alerts.
CREATE TABLE alert_throttle (
	ws           INTEGER NOT NULL,
	rule_key     TEXT NOT NULL,
	subject      TEXT NOT NULL,
	alert_id     TEXT NOT NULL,
	notified_at  INTEGER NOT NULL, -- the notified alert's triggered_at
	PRIMARY KEY (ws, rule_key, subject)
) STRICT, WITHOUT ROWID;
