package geoip

import (
	"errors"
	"fmt"
	"os"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Open reads the database files at paths into memory, verifies each one and
// returns them as one DB. Give the files in order of preference: for an
// address covered by several, the first that places it wins. Every file must
// open; a missing, truncated or corrupt one fails Open with an error naming
// it.
//
// Files are read whole with os.ReadFile rather than memory-mapped. A mapped
// reader must be closed to release its mapping, and closing it while a
// lookup that loaded the old DB is still running would fault; in-memory
// readers need no close, so the garbage collector retires an old DB once the
// last lookup using it returns and Reloader needs no reference counting. An
// updater rewriting a file in place can also no longer fault a running server
// (a mapping would see the half-written bytes). The price is the files'
// size in heap, twice over during a reload (about 60 MB for GeoLite2-City,
// 130 MB for dbip-city-lite).
func Open(paths ...string) (*DB, error) {
	if len(paths) == 0 {
		return nil, errors.New("geoip: no database file given")
	}
	db := &DB{files: make([]*file, 0, len(paths))}
	for _, p := range paths {
		f, err := openFile(p)
		if err != nil {
			return nil, err
		}
		db.files = append(db.files, f)
	}
	for _, f := range db.files {
		if f.src.IPVersion == 4 {
			db.v4 = append(db.v4, f)
		}
	}
	for _, f := range db.files {
		if f.src.IPVersion == 6 {
			db.v4 = append(db.v4, f)
			db.v6 = append(db.v6, f)
		}
	}
	return db, nil
}

func openFile(path string) (*file, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, fmt.Errorf("geoip: %s is not a readable MaxMind DB file: %w", path, err)
	}
	if err := check(r, len(data)); err != nil {
		return nil, fmt.Errorf("geoip: %s is corrupt: %w", path, err)
	}
	md := r.Metadata
	return &file{
		src: Source{
			Path:      path,
			Type:      md.DatabaseType,
			IPVersion: int(md.IPVersion),
			Built:     md.BuildTime().UTC(),
		},
		reader: r,
		cache:  newRecordCache(),
	}, nil
}

// check reads the whole file the way lookups will, once, at open: it walks
// every network of the search tree and decodes each distinct record with the
// lookup's decoder. A file damaged in transit or cut short is then refused
// by Open, and a reload keeps the old DB, instead of failing lookups one by
// one afterwards; and a verified file cannot fail a lookup.
//
// It does not use the library's Reader.Verify, which materialises every
// field of every record (0.73 s against this check's 0.17 s on the benchmark
// fixture of 15 MB and 100k records, and a city database has more: seconds
// of CPU at each start and reload) and insists on a metadata description
// that the MaxMind DB specification leaves optional.
// The walk is bounded. It follows the IPv6 aliases of the IPv4 subtree
// (::ffff:0:0/96, 2001::/32 and 2002::/16 in files of MaxMind's writers) and
// counts empty networks, so that every path it takes ends in a counted
// network; a tree of n nodes has n+1 ends, and the aliases visit the IPv4
// part at most three more times. A damaged tree whose pointers lead back
// into itself, which would multiply the paths without end, is refused once
// it exceeds 4(n+1) networks, rather than followed for ever.
// Records already decoded are remembered in a bitmap over the file (an
// eighth of its size, allocated once) rather than in a map that would grow
// and rehash through a city database's hundreds of thousands of records.
func check(r *maxminddb.Reader, size int) error {
	if v := r.Metadata.IPVersion; v != 4 && v != 6 {
		return fmt.Errorf("ip_version %d is neither 4 nor 6", v)
	}
	maxNetworks := 4 * (r.Metadata.NodeCount + 1)
	var networks uint
	seen := make([]uint64, size/64+1)
	for res := range r.Networks(maxminddb.IncludeAliasedNetworks(), maxminddb.IncludeNetworksWithoutData()) {
		if err := res.Err(); err != nil {
			return err
		}
		if networks++; networks > maxNetworks {
			return fmt.Errorf("the search tree has more than %d networks: its nodes loop", maxNetworks)
		}
		if !res.Found() {
			continue
		}
		off := res.Offset()
		if off >= uintptr(size) {
			return fmt.Errorf("the record of %s is past the end of the file", res.Prefix())
		}
		word, bit := off/64, uint64(1)<<(off%64)
		if seen[word]&bit != 0 {
			continue
		}
		seen[word] |= bit
		var rec record
		if err := res.Decode(&rec); err != nil {
			return fmt.Errorf("the record of %s: %w", res.Prefix(), err)
		}
	}
	return nil
}
