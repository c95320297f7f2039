package geoip

import "sync/atomic"

// cacheBits sizes the decoded-record cache of each file: 2^14 slots of one
// pointer each (128 KiB). An audit trail sees a few thousand distinct
// networks (staff sites, VPN exits, patient portals), and many networks share
// one record, so this holds a deployment's working set; a bigger database
// only means more misses, never more memory.
const cacheBits = 14

// recordCache maps a record's offset in the data section to its decoded
// Location. It is direct-mapped and lock-free: a slot holds an immutable
// entry, published with an atomic store, and a colliding record simply
// replaces it. Readers on every core share it without contention, and a hit
// allocates nothing. Offsets identify records only within one file, which is
// why each file has its own cache and a reload starts with an empty one.
type recordCache struct {
	slots [1 << cacheBits]atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	offset uintptr
	loc    Location
}

func newRecordCache() *recordCache { return new(recordCache) }

// slot spreads offsets over the table with a Fibonacci hash: record offsets
// are dense and often aligned, so their low bits alone would collide.
func slot(offset uintptr) uint64 {
	return (uint64(offset) * 0x9e3779b97f4a7c15) >> (64 - cacheBits)
}

func (c *recordCache) get(offset uintptr) (Location, bool) {
	e := c.slots[slot(offset)].Load()
	if e == nil || e.offset != offset {
		return Location{}, false
	}
	return e.loc, true
}

func (c *recordCache) put(offset uintptr, loc Location) {
	c.slots[slot(offset)].Store(&cacheEntry{offset: offset, loc: loc})
}
