package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
	"github.com/vigilhq/vigil/bench/workload"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/geoip"
	"github.com/vigilhq/vigil/sqlite"
)

// benchRules are the ten rules of the "ten rules enabled" phase: every
// type, the stateful ones (which query the store per event) included,
// each matching the bench's events.
var benchRules = []struct{ typ, cond string }{
	{vigil.RuleOffHours, `{"action_pattern":"patient_record.*","timezone":"America/Los_Angeles","start_hour":20,"end_hour":6}`},
	{vigil.RuleOffHours, `{"action_pattern":"*","timezone":"Europe/Berlin","start_hour":22,"end_hour":5,"days":["sat","sun"]}`},
	{vigil.RuleNewCountry, `{"action_pattern":"patient_record.*"}`},
	{vigil.RuleNewCountry, `{"lookback":"30d"}`},
	{vigil.RuleHighVolume, `{"by":"session","count":"patients","threshold":500,"window":"1h"}`},
	{vigil.RuleHighVolume, `{"by":"actor","count":"records","threshold":1000,"window":"15m","destructive_patterns":["*.deleted","*.exported"]}`},
	{vigil.RuleRepeatedFailure, `{"threshold":5,"window":"10m"}`},
	{vigil.RuleWatchlist, `{"patients":["pt_7","pt_42","pt_4242"]}`},
	{vigil.RuleWatchlist, `{"actors":["dr_3"]}`},
	{vigil.RuleWatchlist, `{"patients":["vip_1"],"action_pattern":"*.exported"}`},
}

// benchAlerts measures batch ingest with the alert evaluator following
// the log, once with no rules and once with ten, in the same run, and
// reports the ratio. The evaluator runs in both phases as vigil serve
// runs it (woken by every commit), so the difference is the rules'.
func benchAlerts(ctx context.Context, out io.Writer, c benchConfig) error {
	geoPath := filepath.Join(c.dir, "bench-geo.mmdb")
	addrs, err := writeBenchGeo(geoPath, 20_000)
	if err != nil {
		return err
	}
	geo, err := geoip.Open(geoPath)
	if err != nil {
		return err
	}
	enrich := func(e *vigil.Event) {
		if ip, err := netip.ParseAddr(e.IPAddress); err == nil {
			l := geo.Lookup(ip)
			e.IPCountry, e.IPCity, e.IPRegion = l.Country, l.City, l.Region
		}
	}
	body := func(size int) func(client int) (func(first int64) []byte, error) {
		return func(client int) (func(first int64) []byte, error) {
			return func(first int64) []byte {
				return alertBody(client, int(first-workload.First), size, addrs)
			}, nil
		}
	}
	// The phases run in the order none, ten, ten, none, each on a fresh
	// store, so that drift of the machine (page cache, other load) weighs
	// on both alike.
	var events [2]int64
	var elapsed [2]time.Duration
	for phase, rules := range []int{0, len(benchRules), len(benchRules), 0} {
		dir := filepath.Join(c.dir, fmt.Sprintf("alerts-%d", phase))
		var evaluated, caught, raised int64
		var catchUp time.Duration
		r, err := withServerOpts(ctx, dir, serverOpts{enrich: enrich}, func(s *benchServer) (result, error) {
			if err := createBenchRules(ctx, s.db, rules); err != nil {
				return result{}, err
			}
			ev, stop := followAlerts(ctx, s.db)
			sh := batches(c.batchConc, c.batchSize)
			sh.body = body(c.batchSize)
			r, err := runLoad(ctx, s.target(), sh, c.duration, loadOptions{})
			evaluated, _ = benchEvaluated(ctx, s.db)
			// Then the catch-up: the evaluator at full speed on an idle
			// writer, until it reaches the end of the log (at most 30 s).
			t0 := time.Now()
			for time.Since(t0) < 30*time.Second && s.db.AlertCursor(ctx, defaultWS) < r.events {
				ev.Wake()
				time.Sleep(20 * time.Millisecond)
			}
			catchUp = time.Since(t0)
			caught, raised = benchEvaluated(ctx, s.db)
			caught -= evaluated
			stop()
			return r, err
		})
		if err != nil {
			return err
		}
		k := min(rules, 1)
		events[k] += r.events
		elapsed[k] += r.elapsed
		report(out, fmt.Sprintf("server: batches of %d over HTTP, %d clients, geolocation on, %d alert rules enabled", c.batchSize, c.batchConc, rules), r)
		fmt.Fprintf(out, "  evaluator: %d of %d events evaluated during the phase; the next %d in %.1fs after it (%.0f events/s); %d alerts\n",
			evaluated, r.events, caught, catchUp.Seconds(), float64(caught)/catchUp.Seconds(), raised)
	}
	none, ten := float64(events[0])/elapsed[0].Seconds(), float64(events[1])/elapsed[1].Seconds()
	fmt.Fprintf(out, "alert cost: ingest with ten rules enabled %.0f events/s, with none %.0f events/s: %.2fx (target >= 0.9x)\n", ten, none, ten/none)
	return nil
}

// benchEvaluated reads how far the evaluator got and how many alerts it
// raised.
func benchEvaluated(ctx context.Context, db *embedded.Store) (cursor, alerts int64) {
	page, err := db.Alerts(ctx, vigil.AlertQuery{Workspace: defaultWS, Limit: 1})
	if err == nil {
		alerts = page.Total
	}
	return db.AlertCursor(ctx, defaultWS), alerts
}

// benchGeoIP times geolocation lookups one by one in a database of
// networks networks and prints p50 and p99.
func benchGeoIP(out io.Writer, dir string, networks, n int) error {
	path := filepath.Join(dir, "bench-geo-lookup.mmdb")
	addrs, err := writeBenchGeo(path, networks)
	if err != nil {
		return err
	}
	db, err := geoip.Open(path)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(7, 8))
	parsed := make([]netip.Addr, len(addrs))
	for i, a := range addrs { // and warm the caches, as a running server's are
		parsed[i] = netip.MustParseAddr(a)
		db.Lookup(parsed[i])
	}
	lat := make([]time.Duration, n)
	for i := range lat {
		a := parsed[rng.IntN(len(parsed))]
		t0 := time.Now()
		db.Lookup(a)
		lat[i] = time.Since(t0)
	}
	slices.Sort(lat)
	t0 := time.Now()
	for range 1000 {
		_ = time.Since(t0)
	}
	clock := time.Since(t0) / 1000
	fmt.Fprintf(out, "geolocation lookup, %d networks (IPv4 and IPv6), %d random lookups timed one by one\n", networks, n)
	fmt.Fprintf(out, "  p50 %s, p99 %s, p99.9 %s (each includes a clock reading of ~%s) (target p99 <= 5us)\n",
		lat[n/2], lat[n*99/100], lat[n*999/1000], clock)
	return nil
}

// writeBenchGeo writes a GeoLite2-City-shaped database of n networks, a
// quarter of them IPv6, and returns one address in each.
func writeBenchGeo(path string, n int) ([]string, error) {
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", RecordSize: 28, IPVersion: 6})
	if err != nil {
		return nil, err
	}
	countries := []string{"US", "GB", "DE", "FR", "CA", "JP", "BR", "IN", "AU", "SE"}
	var addrs []string
	insert := func(a netip.Addr, bits, i int) error {
		p := netip.PrefixFrom(a, bits).Masked()
		_, network, err := net.ParseCIDR(p.String())
		if err != nil {
			return err
		}
		addrs = append(addrs, a.String())
		return w.Insert(network, mmdbtype.Map{
			"country":      mmdbtype.Map{"iso_code": mmdbtype.String(countries[i%len(countries)])},
			"city":         mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(fmt.Sprintf("City %d", i%5000))}},
			"subdivisions": mmdbtype.Slice{mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(fmt.Sprintf("Region %d", i%300))}}},
		})
	}
	v4 := n - n/4
	stride := uint32(200<<24) / uint32(v4) &^ 0xff
	for i := range v4 {
		base := 1<<24 + uint32(i)*stride
		switch base >> 24 {
		case 10, 100, 127, 169, 172, 192, 198, 203:
			continue
		}
		if err := insert(netip.AddrFrom4([4]byte{byte(base >> 24), byte(base >> 16), byte(base >> 8), 9}), 24, i); err != nil {
			return nil, err
		}
	}
	for i := range n / 4 {
		a := netip.MustParseAddr(fmt.Sprintf("2a%02x:%x:%x::1", i%256, i/256, i*7%65536))
		if err := insert(a, 48, i+3); err != nil {
			return nil, err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		return nil, err
	}
	return addrs, f.Close()
}

// alertBody is the alerts phase's batch of size events numbered from n:
// 5,000 staff in sessions of 50 events, at a time inside opening hours,
// so every rule evaluates fully and rarely fires.
func alertBody(client, n, size int, addrs []string) []byte {
	var b strings.Builder
	b.WriteString(`{"events":[`)
	for j := range size {
		if j > 0 {
			b.WriteByte(',')
		}
		n := n + j
		actor := (client*100_003 + n) % 5000
		fmt.Fprintf(&b, `{"actor_id":"dr_%d","actor_type":"physician","tenant_id":"clinic_bayview_medical","session_id":"sess_%d_%d",`+
			`"action":"patient_record.viewed","resource":"patient_record","resource_id":"rec_%d","patient_id":"pt_%d",`+
			`"purpose_of_use":"TREAT","ip_address":"%s","occurred_at":"2026-03-04T18:00:00Z"}`,
			actor, actor, n/250_000, n%100000, n%50000, addrs[(actor*13+n/100_000)%len(addrs)])
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// createBenchRules stores the first n of benchRules, enabled.
func createBenchRules(ctx context.Context, db *embedded.Store, n int) error {
	for i, br := range benchRules[:n] {
		def := vigil.AlertRule{Workspace: defaultWS, Name: fmt.Sprintf("bench %d", i), Type: br.typ,
			Conditions: json.RawMessage(br.cond), Enabled: true, Throttle: time.Hour}
		compiled, err := alert.Compile(def)
		if err != nil {
			return err
		}
		def.Conditions, _ = json.Marshal(compiled.Conditions())
		if _, err := db.CreateRule(ctx, def); err != nil {
			return err
		}
	}
	return nil
}

// followAlerts runs the alert evaluator over db as vigil serve runs it,
// woken by every commit, until stop is called (which waits for it).
func followAlerts(ctx context.Context, db *embedded.Store) (ev *sqlite.AlertEvaluator, stop func()) {
	ev = db.AlertEvaluator(sqlite.AlertOptions{})
	db.OnCommit(ev.Committed)
	evCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); ev.Run(evCtx, time.Second, 0, 0) }()
	return ev, func() { cancel(); <-done }
}
