package geoip

import (
	"math/rand/v2"
	"sync/atomic"
)

// cacheBits sizes the decoded-record cache of each file: 2^14 slots of one
// pointer each (128 KiB). An audit trail sees a few thousand distinct
// networks (staff sites, VPN exits, patient portals), and many networks share
// one record, so this holds a deployment's working set; a bigger database
// only means more misses, never more memory.
const cacheBits = 14

// recordCache maps a record's offset in the file to its decoded Location.
// It is lock-free: a slot holds an immutable entry published with an atomic
// store, so readers on every core share it without contention and a hit
// allocates nothing. It is two-way set-associative (a record may sit in
// either slot of its pair) so that two hot records whose offsets collide do
// not evict each other on every lookup. Offsets identify records only within
// one file, which is why each file has its own cache and a reload starts
// with an empty one.
type recordCache struct {
	slots [1 << cacheBits]atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	offset uintptr
	loc    Location
}

func newRecordCache() *recordCache { return new(recordCache) }

// set returns the first slot of offset's pair. A Fibonacci hash spreads
// offsets over the table: they are dense and often aligned, so their low
// bits alone would collide.
func set(offset uintptr) uint64 {
	return (uint64(offset) * 0x9e3779b97f4a7c15) >> (64 - cacheBits) &^ 1
}

func (c *recordCache) get(offset uintptr) (Location, bool) {
	s := set(offset)
	for _, e := range [2]*cacheEntry{c.slots[s].Load(), c.slots[s+1].Load()} {
		if e != nil && e.offset == offset {
			return e.loc, true
		}
	}
	return Location{}, false
}

// put fills an empty slot of the pair, or else evicts one at random: cheap,
// lock-free, and no worse than least-recently-used for a hot set that fits.
func (c *recordCache) put(offset uintptr, loc Location) {
	s := set(offset)
	switch {
	case c.slots[s].Load() == nil:
	case c.slots[s+1].Load() == nil:
		s++
	default:
		s += uint64(rand.Uint32() & 1)
	}
	c.slots[s].Store(&cacheEntry{offset: offset, loc: loc})
}
