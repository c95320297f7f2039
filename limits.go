package vigil

// Limits on what one event may carry. They bound the work and storage a
// single request can cause; every limit is reported by name when exceeded.
const (
	MaxIDLength       = 255       // ids, actions, types, keys
	MaxTextLength     = 1024      // names, user agents, sources
	MaxMetadataKeys   = 50        // top-level keys of metadata
	MaxMetadataBytes  = 64 << 10  // encoded size of metadata
	MaxTargets        = 100       // targets per event
	MaxJSONDepth      = 32        // nesting of any JSON value
	DefaultBatchLimit = 100       // events per batch request
	DefaultQueryLimit = 25        // events per page
	MaxQueryLimit     = 100       // events per page
	MaxEventBytes     = 256 << 10 // encoded size of one event
)
