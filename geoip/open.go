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
	if err := verify(r); err != nil {
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

// verify walks the whole search tree and decodes every record it points to,
// once, at open. The record decoder trusts the data section's structure (the
// library asks custom decoders to verify first), and a file damaged in
// transit should be refused by a reload, which then keeps the old DB, rather
// than fail lookups one by one afterwards.
//
// The verifier also insists on a metadata description, which the MaxMind DB
// specification leaves optional; a file without one (a third-party build) is
// given a placeholder on this private reader so that it is judged on its
// tree and data alone. Nothing here reads the description.
func verify(r *maxminddb.Reader) error {
	if len(r.Metadata.Description) == 0 {
		r.Metadata.Description = map[string]string{"en": "(none)"}
	}
	return r.Verify()
}
