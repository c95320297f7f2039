// Package geoip places an IP address at ingest: country, region and city,
// read from MaxMind-format (MMDB) city databases.
//
// It reads MaxMind's GeoIP2/GeoLite2-City files and DB-IP's free "lite" city
// data, both as DB-IP ships it (one file, GeoIP2-like records) and as the
// ip-location-db project repackages it (a flat record, one file per address
// family). Several files may be opened together; each lookup goes to the
// files that cover its address family (see DB.Lookup).
//
// A DB is immutable and safe for concurrent use. Reloader swaps in a new DB
// when the files change on disk without disturbing lookups under way.
package geoip

import (
	"net/netip"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Location is where a database places an address. The zero Location means
// "unknown": the address is not public, or no database has a record for it.
type Location struct {
	Country string // ISO 3166-1 alpha-2, upper case, e.g. "GB"
	City    string // English name, e.g. "London"
	Region  string // English name of the largest subdivision, e.g. "England"
}

// IsZero reports whether l is the unknown location.
func (l Location) IsZero() bool { return l == Location{} }

// DB is a set of opened database files. It is immutable and safe for
// concurrent use; the zero of *DB (nil) answers every lookup with the zero
// Location, so a server without a database needs no special case.
type DB struct {
	files []*file
	// v4 and v6 are the files consulted, in order, for each address family:
	// IPv4 goes first to IPv4-only files (the family-specific files of a split
	// distribution), then to IPv6 files, whose trees may also hold IPv4; IPv6
	// goes only to IPv6 files, as an IPv4-only file cannot hold it.
	v4, v6 []*file
}

// file is one opened database and the decoded records it has served.
type file struct {
	src    Source
	reader *maxminddb.Reader
	cache  *recordCache
}

// Source describes one file of a DB, for logs and diagnostics.
type Source struct {
	Path      string
	Type      string    // the file's database_type, e.g. "GeoLite2-City", "DBIP-City-Lite"
	IPVersion int       // 4: IPv4 only; 6: IPv6, and IPv4 if the file maps it
	Built     time.Time // the file's build_epoch
}

// Sources lists the files of db in the order they were given to Open.
func (db *DB) Sources() []Source {
	if db == nil {
		return nil
	}
	out := make([]Source, len(db.files))
	for i, f := range db.files {
		out[i] = f.src
	}
	return out
}

// Lookup places ip. Addresses that are not globally routable (private,
// loopback, link-local, unspecified, multicast and the like) answer the zero
// Location without touching a database: they say nothing about where a person
// is. An IPv4-mapped IPv6 address is looked up as the IPv4 address it maps.
//
// The files of the address's family are asked in turn; the first record that
// names a country wins, so files given earlier to Open take precedence.
func (db *DB) Lookup(ip netip.Addr) Location {
	if db == nil {
		return Location{}
	}
	ip = ip.Unmap()
	if !isGlobal(ip) {
		return Location{}
	}
	files := db.v6
	if ip.Is4() {
		files = db.v4
	}
	for _, f := range files {
		if loc := f.lookup(ip); !loc.IsZero() {
			return loc
		}
	}
	return Location{}
}

// lookup answers from the decoded-record cache when it can: records are
// shared by many networks, so once a record has been decoded, a lookup costs
// only the walk down the search tree and allocates nothing.
func (f *file) lookup(ip netip.Addr) Location {
	res := f.reader.Lookup(ip)
	// Open has decoded every record of the file with this decoder, so an
	// error here is not expected; should one occur, the address is simply
	// unknown, as enrichment must never stop an audit event being recorded.
	if res.Err() != nil || !res.Found() {
		return Location{}
	}
	off := res.Offset()
	if loc, ok := f.cache.get(off); ok {
		return loc
	}
	var rec record
	if err := res.Decode(&rec); err != nil {
		return Location{}
	}
	loc := rec.location()
	f.cache.put(off, loc)
	return loc
}
