package vigil

// Limits on what one request may carry. They bound the work and storage a
// single request can cause; every limit is reported by name when exceeded,
// and every message that states one is built from these constants.
const (
	MaxIDLength        = 255       // identifiers: ids, actions, types, codes, tenants, channels
	MaxTextLength      = 1024      // names, user agents, sources, query values
	MaxMetadataKeys    = 50        // top-level keys of metadata
	MaxMetadataBytes   = 64 << 10  // canonical size of metadata
	MaxTargets         = 100       // targets per event
	MaxJSONDepth       = 32        // nesting of any JSON value
	DefaultBatchLimit  = 100       // events per batch request
	DefaultQueryLimit  = 25        // events per page
	MaxQueryLimit      = 100       // events per page
	MaxEventBytes      = 256 << 10 // encoded size of one event
	MaxRequestBytes    = 64 << 10  // body of a key, report or export request
	MaxWorkspaceLength = 64        // a workspace's name
)

// The time rule: every time a client gives, in any form and on any route,
// lies in the years MinYear to MaxYear (UTC), carries an offset of at most
// MaxOffsetMinutes either way and at most MaxFractionDigits fractional
// digits. Stores keep times as int64 nanoseconds since 1970, which end in
// April 2262: bounding client times well inside that keeps every stored
// time, and every bound derived from one (the end of a year a search
// names), exact. See docs/decisions.md.
const (
	MinYear           = 1970
	MaxYear           = 2200
	MaxOffsetMinutes  = 14 * 60 // ±14:00, the widest offset of any time zone, and FHIR's
	MaxFractionDigits = 9       // nanoseconds, what every store keeps
)
