package geoip_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/geoip"
)

// benchNetworks is the size of the benchmark database: 100k IPv4 /24s and
// 25k IPv6 /48s, a tree as deep as a real city database's if smaller.
const benchNetworks = 100_000

// benchFixture is a built benchmark database and an address in each of its
// networks, shuffled, one in five IPv6.
type benchFixture struct {
	data  []byte
	addrs []netip.Addr
}

var benchFixtures sync.Map // records count → *benchFixture

// loadBenchFixture builds (once per process) a GeoLite2-shaped database
// whose networks cycle through the given number of distinct records.
func loadBenchFixture(b *testing.B, records int) *benchFixture {
	b.Helper()
	if f, ok := benchFixtures.Load(records); ok {
		return f.(*benchFixture)
	}
	countries := []string{"GB", "US", "DE", "FR", "JP", "BR", "IN", "AU", "CA", "SE"}
	rec := func(i int) place {
		j := i % records
		return place{country: countries[j%len(countries)], region: fmt.Sprintf("Region %d", j%500),
			regionCode: fmt.Sprintf("R%d", j%500), city: fmt.Sprintf("City %d", j)}
	}
	var places []place
	var addrs []netip.Addr
	// IPv4 /24s spread evenly over 1.0.0.0–223.255.255.255, skipping the
	// blocks that hold non-global space (Lookup would not reach the tree).
	stride := uint32(223<<24) / benchNetworks &^ 0xff
	for i := range benchNetworks {
		base := 1<<24 + uint32(i)*stride
		switch base >> 24 {
		case 10, 100, 127, 169, 172, 192:
			continue
		}
		p := rec(i)
		a := netip.AddrFrom4([4]byte{byte(base >> 24), byte(base >> 16), byte(base >> 8), 7})
		p.cidr = netip.PrefixFrom(a, 24).Masked().String()
		places = append(places, p)
		addrs = append(addrs, a)
	}
	for i := range benchNetworks / 4 {
		p := rec(i + 7)
		a := netip.MustParseAddr(fmt.Sprintf("2a%02x:%x:%x::1", i%256, i/256, i*7%65536))
		p.cidr = netip.PrefixFrom(a, 48).Masked().String()
		places = append(places, p)
		addrs = append(addrs, a)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	f := &benchFixture{data: buildMMDB(b, geoLite2, 6, places), addrs: addrs}
	benchFixtures.Store(records, f)
	return f
}

// open writes the fixture to a file and opens it.
func (f *benchFixture) open(b *testing.B) *geoip.DB {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.mmdb")
	if err := os.WriteFile(path, f.data, 0o644); err != nil {
		b.Fatal(err)
	}
	return MustOpenDB(b, path)
}

// The workloads. "hot" asks again and again for 1,000 addresses, an audit
// trail's working set (staff sites, VPN exits): their search-tree paths stay
// in the CPU caches and their records in the record cache. "spread" asks for
// every network in turn, so the walk down the tree misses the CPU caches at
// most levels, while its 1,000 distinct records stay cached. "cold" also
// gives each network its own record, far more than the record cache holds,
// so most lookups also decode their record: the worst case.
var benchWorkloads = []struct {
	name           string
	records, addrs int
}{
	{"hot", 1_000, 1_000},
	{"spread", 1_000, 0},
	{"cold", benchNetworks, 0},
}

// addrs returns the first n addresses of the fixture, or all of them if n
// is 0.
func (f *benchFixture) addrsN(n int) []netip.Addr {
	if n == 0 || n > len(f.addrs) {
		return f.addrs
	}
	return f.addrs[:n]
}

// BenchmarkLookup is the cost of one Lookup, on one core and on all.
func BenchmarkLookup(b *testing.B) {
	for _, w := range benchWorkloads {
		f := loadBenchFixture(b, w.records)
		db, addrs := f.open(b), f.addrsN(w.addrs)
		for _, a := range addrs { // warm the caches, as a running server has
			db.Lookup(a)
		}
		b.Run(w.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if db.Lookup(addrs[i]).IsZero() {
					b.Fatal("benchmark address not found")
				}
				if i++; i == len(addrs) {
					i = 0
				}
			}
		})
		b.Run(w.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(len(addrs))
				for pb.Next() {
					db.Lookup(addrs[i])
					if i++; i == len(addrs) {
						i = 0
					}
				}
			})
		})
	}
}

// lookupsPerRun is how many lookups BenchmarkLookupLatency times one by one
// in each of its iterations.
const lookupsPerRun = 100_000

// BenchmarkLookupLatency times lookups one by one and reports the latency
// distribution (p50-ns, p99-ns, p99.9-ns, max-ns) over every lookup of the
// run, and clock-ns, the cost of the clock readings included in each sample.
// One op is lookupsPerRun lookups, so ns/op is of no interest here; run it
// with -benchtime=10x.
func BenchmarkLookupLatency(b *testing.B) {
	for _, w := range benchWorkloads {
		f := loadBenchFixture(b, w.records)
		db, addrs := f.open(b), f.addrsN(w.addrs)
		for _, a := range addrs {
			db.Lookup(a)
		}
		b.Run(w.name, func(b *testing.B) {
			var samples []time.Duration
			run := make([]time.Duration, lookupsPerRun) // no allocation while timing
			for b.Loop() {
				for i := range run {
					a := addrs[i%len(addrs)]
					t0 := time.Now()
					db.Lookup(a)
					run[i] = time.Since(t0)
				}
				samples = append(samples, run...)
			}
			slices.Sort(samples)
			q := func(p float64) float64 { return float64(samples[int(p*float64(len(samples)-1))]) }
			b.ReportMetric(q(0.50), "p50-ns")
			b.ReportMetric(q(0.99), "p99-ns")
			b.ReportMetric(q(0.999), "p99.9-ns")
			b.ReportMetric(q(1), "max-ns")
			b.ReportMetric(clockCost(), "clock-ns")
		})
	}
}

// clockCost is the median time of a sample that times nothing.
func clockCost() float64 {
	d := make([]time.Duration, 10_000)
	for i := range d {
		t0 := time.Now()
		d[i] = time.Since(t0)
	}
	slices.Sort(d)
	return float64(d[len(d)/2])
}

// BenchmarkOpen is the cost of reading and verifying a file, which a reload
// pays off the request path.
func BenchmarkOpen(b *testing.B) {
	f := loadBenchFixture(b, benchNetworks)
	path := filepath.Join(b.TempDir(), "bench.mmdb")
	if err := os.WriteFile(path, f.data, 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		MustOpenDB(b, path)
	}
	b.ReportMetric(float64(len(f.data))/1e6, "file-MB")
}
