// Package alert turns alert rule definitions into compiled rules and
// evaluates them against events, as they arrive ("in motion") and over
// stored events ("at rest").
//
// The package opens no files and sends nothing. A rule evaluated alone
// (Rule.Evaluate) asks what it needs to know about earlier events of a
// History; an [Evaluator] keeps that knowledge in memory instead, per
// actor and session, bounded by the rules' windows, for a follower of the
// log to feed batches of events in sequence order, and rebuilds it from
// the log when the follower starts. What happens to an alert (storing,
// throttling, notifying) is the caller's.
//
// # Rule types and their conditions
//
// Each rule type has its own conditions object, decoded strictly: unknown
// or repeated fields are errors, and every error names its field as
// "conditions.<field>". The shapes are those of [OffHours], [NewCountry],
// [HighVolume], [RepeatedFailure], [Watchlist] and [TamperConditions];
// docs/alerts.md describes them for administrators.
//
// Action patterns use '*' as the only special character: it matches any
// run of characters (including none), everything else is literal and
// case-sensitive; the pattern must match the whole action. This is the
// event query filter's syntax, so a pattern can be tried out with
// GET /api/v1/events?action=... before it is put in a rule.
//
// # Time
//
// off_hours judges the event's occurred_at (the time of the access, which
// is what opening hours are about; a batch sent in the morning of accesses
// made at night must still alert). Windows and lookbacks (high_volume,
// repeated_failure, new_country) are measured on created_at, the server's
// time: the reporting client cannot stretch or squeeze them by its clock,
// and since created_at increases strictly along the sequence a window is a
// contiguous range of sequence numbers, so evaluation as events arrive and
// a later scan over stored events see the same history and give the same
// answer.
//
// # Alerts
//
// An alert carries ids only (actor, session, patient, event), never names
// or metadata: notifications leave the system and must not carry PHI.
// Evaluate leaves Alert.ID empty for the store to assign. At most one
// alert exists per (rule id, event sequence): the caller enforces that with
// a unique key, which makes re-evaluation after a crash and overlapping
// scans harmless.
package alert
