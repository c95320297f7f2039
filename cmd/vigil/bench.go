package main

import (
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/bench/workload"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/fhir"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

type benchConfig struct {
	dir                      string
	duration                 time.Duration
	concurrency, batchConc   int
	batchSize                int
	clients                  []int // single-event phases
	baselineRows             []int
	batchBaseline            int
	ceilingFor               time.Duration
	geoNetworks, geoLookups  int
	queryEvents, queryProbes int
	exportEvents             int
	reportShare              float64
	besideJob                string
	skip                     string
	cpuProfile               string
	soak                     soakConfig
	sustain                  sustainConfig
	moonshot                 moonshotConfig
}

// benchPhases are the phases --skip names, in the order they run.
const benchPhases = "baseline,ceiling,single,batch,sustain,moonshot,alerts,geoip,query,verify,reports,export,reportload"

// runBench measures the real server over HTTP on loopback and, in the same
// process, raw SQLite inserts of the same rows with the same durability.
// Every ingest phase prints events/s, p50/p99 latency, the process's CPU,
// its peak RSS, the ratio to the matching baseline and the load
// generator's own ceiling (bench_ceiling.go).
func runBench(ctx context.Context, env *Env, args []string) error {
	var c benchConfig
	fs := newFlags(env, "bench")
	fs.StringVar(&c.dir, "dir", "", "work directory (default a temporary one, removed after)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of each ingest phase")
	fs.Func("clients", "comma-separated client counts of the single-event phases (default 1,64,256)", intList(&c.clients))
	fs.IntVar(&c.concurrency, "concurrency", 256, "soak: concurrent clients sending single events")
	fs.IntVar(&c.batchConc, "batch-concurrency", 32, "concurrent clients sending batches")
	fs.IntVar(&c.batchSize, "batch-size", 100, "events per batch request")
	fs.Func("baseline-rows", "comma-separated rows per transaction of the raw SQLite baselines (default 1,256,1000); a single-event phase of N clients is compared with the baseline of N rows", intList(&c.baselineRows))
	fs.IntVar(&c.batchBaseline, "batch-baseline", 1000, "rows per transaction of the baseline the batch phases are compared with")
	fs.DurationVar(&c.ceilingFor, "ceiling-duration", 2*time.Second, "how long the load generator's ceiling is measured for each load shape")
	fs.IntVar(&c.geoNetworks, "geoip-networks", 100_000, "geoip: networks in the generated database")
	fs.IntVar(&c.geoLookups, "geoip-lookups", 1_000_000, "geoip: lookups timed")
	fs.IntVar(&c.queryEvents, "query-events", 1_000_000, "events stored before the query and proof phases")
	fs.IntVar(&c.queryProbes, "query-probes", 2000, "queries (and proofs) measured")
	fs.Float64Var(&c.reportShare, "report-share", 0.25, "the share of a core a report beside ingest may take, as --report-share of vigil serve")
	fs.StringVar(&c.besideJob, "beside-job", "report", "the job looping beside ingest in the reportload phase: report (report 1 over the whole year) or export (CSV of the whole log)")
	fs.IntVar(&c.exportEvents, "export-events", 1_000_000, "events exported in each format (at most --query-events)")
	fs.StringVar(&c.skip, "skip", "", "comma-separated phases to skip: "+benchPhases)
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.DurationVar(&c.sustain.duration, "sustain", 60*time.Second, "sustain: how long 80% of the measured batch peak is held before projection catch-up is measured")
	fs.Float64Var(&c.sustain.fraction, "sustain-fraction", 0.8, "sustain: the fraction of the measured peak to hold")
	fs.BoolVar(&c.sustain.rules, "sustain-rules", false, "sustain: enable the ten alert rules of the alerts phase, so alert evaluation is one of the projections followed")
	fs.Func("moonshot-batches", "moonshot: comma-separated batch sizes tried (default 100,1000)", intList(&c.moonshot.batches))
	fs.Func("moonshot-clients", "moonshot: comma-separated client counts tried with each batch size (default 4,16,64)", intList(&c.moonshot.clients))
	fs.DurationVar(&c.soak.duration, "soak", 0, "instead of the phases, a soak run this long at a fraction of peak ingest")
	fs.Float64Var(&c.soak.fraction, "soak-fraction", 0.8, "soak: the fraction of the measured peak to hold")
	fs.DurationVar(&c.soak.sample, "soak-sample", 10*time.Second, "soak: sampling interval")
	fs.DurationVar(&c.soak.peakFor, "soak-peak", 10*time.Second, "soak: how long the peak is measured first")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	c.clients = orDefault(c.clients, 1, 64, 256)
	c.baselineRows = orDefault(c.baselineRows, 1, 256, 1000)
	c.moonshot.batches = orDefault(c.moonshot.batches, 100, 1000)
	c.moonshot.clients = orDefault(c.moonshot.clients, 4, 16, 64)
	skip := map[string]bool{}
	for _, s := range strings.Split(c.skip, ",") {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(strings.Split(benchPhases, ","), s) {
			return fmt.Errorf("--skip: no phase %q (phases: %s)", s, benchPhases)
		}
		skip[strings.TrimSpace(s)] = true
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if c.dir == "" {
		dir, err := os.MkdirTemp("", "vigil-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.dir = dir
	}
	if c.soak.duration > 0 {
		return runSoak(ctx, env.Stdout, c)
	}
	out := env.Stdout
	fmt.Fprintf(out, "vigil bench: %s, %d CPUs, GOMAXPROCS %d, %s\n", runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(out, "event shape: actor dr_<client%%%d>, %s on a %s with its own resource_id, one of %d patients, a session per client, tenant, outcome, address, metadata {n, reason}\n",
		workload.Actors, workload.Action, workload.Resource, workload.Patients)
	cs := &ceilings{d: c.ceilingFor, off: skip["ceiling"]}

	baseline := map[int]float64{} // rows per transaction → rows/s
	if !skip["baseline"] {
		for _, rows := range c.baselineRows {
			writers := c.batchConc
			if slices.Contains(c.clients, rows) {
				writers = rows
			}
			r, err := baselineInserts(ctx, filepath.Join(c.dir, fmt.Sprintf("baseline-%d.db", rows)), c.duration, rows, writers)
			if err != nil {
				return err
			}
			report(out, fmt.Sprintf("baseline: raw SQLite, %d %s per transaction (the store's events table and indexes, WAL, synchronous=FULL; rows from %d %s)",
				rows, plural(rows, "row", "rows"), writers, plural(writers, "writer", "writers")), r)
			baseline[rows] = r.rate()
		}
	}
	ratio := func(r result, rows int) {
		if b := baseline[rows]; b > 0 {
			fmt.Fprintf(out, "  ratio to raw SQLite at %d %s per transaction: %.2fx\n", rows, plural(rows, "row", "rows"), r.rate()/b)
		}
	}
	// phase runs one ingest phase on a fresh server and prints it.
	phase := func(name, dir string, o serverOpts, sh loadShape, rows int) (result, error) {
		r, err := withServerOpts(ctx, filepath.Join(c.dir, dir), o, func(s *benchServer) (result, error) {
			return runLoad(ctx, s.target(), sh, c.duration, loadOptions{})
		})
		if err != nil {
			return r, err
		}
		report(out, name, r)
		ratio(r, rows)
		return r, cs.show(ctx, out, sh, r)
	}
	if !skip["single"] {
		for _, n := range c.clients {
			if _, err := phase(fmt.Sprintf("server: %s over HTTP", singles(n)), fmt.Sprintf("single-%d", n), serverOpts{}, singles(n), n); err != nil {
				return err
			}
		}
	}
	batch := batches(c.batchConc, c.batchSize)
	if !skip["batch"] {
		r, err := phase(fmt.Sprintf("server: %s over HTTP", batch), "batch", serverOpts{}, batch, c.batchBaseline)
		if err != nil {
			return err
		}
		_ = r
	}
	if !skip["sustain"] {
		if err := benchSustain(ctx, out, c, cs, baseline[c.batchBaseline]); err != nil {
			return err
		}
	}
	if !skip["moonshot"] {
		if err := benchMoonshot(ctx, out, c, cs); err != nil {
			return err
		}
	}
	if !skip["alerts"] {
		if err := benchAlerts(ctx, out, c); err != nil {
			return err
		}
	}
	if !skip["geoip"] {
		if err := benchGeoIP(out, c.dir, c.geoNetworks, c.geoLookups); err != nil {
			return err
		}
	}
	if !skip["query"] || !skip["verify"] || !skip["reports"] || !skip["export"] || !skip["reportload"] {
		if err := benchQueries(ctx, out, c, skip); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "peak RSS of the whole run: %.0f MB\n", maxRSSMB())
	return nil
}

// intList is a flag.Func setter of a comma-separated list of positive
// integers.
func intList(dst *[]int) func(string) error {
	return func(s string) error {
		*dst = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return fmt.Errorf("%q is not a positive integer", f)
			}
			*dst = append(*dst, n)
		}
		return nil
	}
}

func orDefault(l []int, def ...int) []int {
	if len(l) == 0 {
		return def
	}
	return l
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// result is one measured phase.
type result struct {
	events    int64
	requests  int64 // answered requests (or transactions)
	elapsed   time.Duration
	latencies []time.Duration // per request
	errors    int64
	cpu       time.Duration // the process's CPU time over the phase
	rssMB     float64       // the process's peak RSS over the phase
}

func (r result) rate() float64        { return perSecond(r.events, r.elapsed) }
func (r result) requestRate() float64 { return perSecond(r.requests, r.elapsed) }

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func (r result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	l := append([]time.Duration(nil), r.latencies...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	i := int(p * float64(len(l)-1))
	return l[i]
}

func report(w io.Writer, name string, r result) {
	fmt.Fprintf(w, "%s\n  %d events in %.1fs = %.0f events/s", name, r.events, r.elapsed.Seconds(), r.rate())
	if len(r.latencies) > 0 {
		fmt.Fprintf(w, ", p50 %s, p99 %s", round(r.percentile(0.50)), round(r.percentile(0.99)))
	}
	if r.errors > 0 {
		fmt.Fprintf(w, ", %d errors", r.errors)
	}
	if r.cpu > 0 {
		fmt.Fprintf(w, ", CPU %.2f cores", r.cpu.Seconds()/r.elapsed.Seconds())
	}
	if r.rssMB > 0 {
		fmt.Fprintf(w, ", peak RSS %.0f MB\n", r.rssMB)
	} else {
		fmt.Fprintf(w, ", RSS %.0f MB\n", currentRSSMB())
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond / 10)
	}
}

// benchServer is the real server on a loopback port over a fresh store.
type benchServer struct {
	db      *embedded.Store
	url     string
	ingest  string
	auditor string
	vkey    string // the checkpoints' verifier key
	client  *nethttp.Client
	next    atomic.Int64 // the next unused workload event number
}

// take reserves n event numbers for events written directly and
// returns the first.
func (s *benchServer) take(n int) int64 { return s.target().take(n) }

// target is the server as a load's destination.
func (s *benchServer) target() target {
	return target{addr: strings.TrimPrefix(s.url, "http://"), key: s.ingest, next: &s.next}
}

func withServer(ctx context.Context, dir string, f func(*benchServer) (result, error)) (result, error) {
	return withServerOpts(ctx, dir, serverOpts{}, f)
}

// serverOpts vary the bench server's store.
type serverOpts struct {
	enrich     func(*vigil.Event) // geolocation
	batchLimit int                // events per batch request (default vigil.DefaultBatchLimit)
}

func withServerOpts(ctx context.Context, dir string, o serverOpts, f func(*benchServer) (result, error)) (result, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return result{}, err
	}
	skey, vkey, err := ledger.GenerateKey("bench.vigil")
	if err != nil {
		return result{}, err
	}
	// Encryption at rest as vigil serve has it by default: a KEK file in
	// the data directory.
	kek, err := openKEK(dir, "")
	if err != nil {
		return result{}, err
	}
	db, err := embedded.Open(ctx, embedded.Config{SQLite: sqlite.Config{Path: filepath.Join(dir, dbFile), LogName: "bench.vigil", SigningKey: skey,
		CheckpointInterval: time.Second, WitnessPath: filepath.Join(dir, witnessFile), Index: fhir.Terms, KEK: kek}, Enrich: o.enrich})
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	if _, err := db.EnsureWorkspace(ctx, defaultWS); err != nil {
		return result{}, err
	}
	s := &benchServer{db: db, vkey: vkey}
	s.next.Store(workload.First)
	if _, s.ingest, err = vigil.CreateKey(ctx, db, defaultWS, vigil.RoleIngest, "", "bench", time.Now()); err != nil {
		return result{}, err
	}
	if _, s.auditor, err = vigil.CreateKey(ctx, db, defaultWS, vigil.RoleAuditor, "", "bench", time.Now()); err != nil {
		return result{}, err
	}
	srv := vhttp.NewServer(vhttp.Config{Store: db, VerifierKey: vkey, BatchLimit: o.batchLimit})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	hs := &nethttp.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	s.url = "http://" + ln.Addr().String()
	s.client = &nethttp.Client{Transport: &nethttp.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}, Timeout: time.Minute}
	return f(s)
}

// peakRSSMB and currentRSSMB read the process's memory from /proc:
// the peak since the last resetPeakRSS, and now. maxRSSMB is the peak of
// the whole run, which no reset touches.
func peakRSSMB() float64    { return procStatusMB("VmHWM:") }
func currentRSSMB() float64 { return procStatusMB("VmRSS:") }

func maxRSSMB() float64 { return max(runPeakMB, peakRSSMB()) }

// runPeakMB is the highest peak seen before a reset.
var runPeakMB float64

// resetPeakRSS makes VmHWM start again from the current RSS (Linux), so
// each phase's peak is its own; the run's peak is kept in runPeakMB.
func resetPeakRSS() {
	runPeakMB = max(runPeakMB, peakRSSMB())
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func procStatusMB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}
