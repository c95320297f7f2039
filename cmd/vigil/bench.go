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
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
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
	queryEvents, queryProbes int
	exportEvents             int
	reportShare              float64
	besideJob                string
	skip                     string
	cpuProfile               string
	soak                     soakConfig
}

// runBench measures the real server over HTTP on loopback and, in the same
// process, raw SQLite inserts with the same durability as the baseline.
// It prints events/s, p50/p99 latency, peak RSS and the ratios.
func runBench(ctx context.Context, env *Env, args []string) error {
	var c benchConfig
	fs := newFlags(env, "bench")
	fs.StringVar(&c.dir, "dir", "", "work directory (default a temporary one, removed after)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of each ingest phase")
	fs.IntVar(&c.concurrency, "concurrency", 256, "concurrent clients sending single events")
	fs.IntVar(&c.batchConc, "batch-concurrency", 16, "concurrent clients sending batches")
	fs.IntVar(&c.batchSize, "batch-size", 100, "events per batch request")
	fs.IntVar(&c.queryEvents, "query-events", 1_000_000, "events stored before the query and proof phases")
	fs.IntVar(&c.queryProbes, "query-probes", 2000, "queries (and proofs) measured")
	fs.Float64Var(&c.reportShare, "report-share", 0.25, "the share of a core a report beside ingest may take, as --report-share of vigil serve")
	fs.StringVar(&c.besideJob, "beside-job", "report", "the job looping beside ingest in the reportload phase: report (report 1 over the whole year) or export (CSV of the whole log)")
	fs.IntVar(&c.exportEvents, "export-events", 1_000_000, "events exported in each format (at most --query-events)")
	fs.StringVar(&c.skip, "skip", "", "comma-separated phases to skip: baseline,single,batch,noledger,alerts,geoip,query,verify,reports,export,reportload")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.DurationVar(&c.soak.duration, "soak", 0, "instead of the phases, a soak run this long at a fraction of peak ingest")
	fs.Float64Var(&c.soak.fraction, "soak-fraction", 0.8, "soak: the fraction of the measured peak to hold")
	fs.DurationVar(&c.soak.sample, "soak-sample", 10*time.Second, "soak: sampling interval")
	fs.DurationVar(&c.soak.peakFor, "soak-peak", 10*time.Second, "soak: how long the peak is measured first")
	if err := parse(env, fs, args); err != nil {
		return err
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
	skip := map[string]bool{}
	for _, s := range strings.Split(c.skip, ",") {
		skip[strings.TrimSpace(s)] = true
	}
	out := env.Stdout
	fmt.Fprintf(out, "vigil bench: %s, %d CPUs, GOMAXPROCS %d, %s\n", runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))

	var baseSingle, baseBatch float64
	if !skip["baseline"] {
		r, err := baselineInserts(ctx, filepath.Join(c.dir, "baseline-1.db"), c.duration, 1)
		if err != nil {
			return err
		}
		report(out, "baseline: raw SQLite, 1 row per transaction", r)
		baseSingle = r.rate()
		r, err = baselineInserts(ctx, filepath.Join(c.dir, "baseline-100.db"), c.duration, c.batchSize)
		if err != nil {
			return err
		}
		report(out, fmt.Sprintf("baseline: raw SQLite, %d rows per transaction", c.batchSize), r)
		baseBatch = r.rate()
	}
	ratio := func(name string, r result) {
		if baseBatch > 0 {
			fmt.Fprintf(out, "  ratio to raw SQLite batched baseline: %.2fx", r.rate()/baseBatch)
			if baseSingle > 0 {
				fmt.Fprintf(out, "  (to 1-row-per-transaction baseline: %.1fx)", r.rate()/baseSingle)
			}
			fmt.Fprintln(out)
		}
	}
	var withLedger, withoutLedger result
	if !skip["single"] {
		r, err := withServer(ctx, filepath.Join(c.dir, "single"), false, func(s *benchServer) (result, error) {
			return s.loadSingle(ctx, c.concurrency, c.duration)
		})
		if err != nil {
			return err
		}
		report(out, fmt.Sprintf("server: single events over HTTP, %d clients", c.concurrency), r)
		ratio("single", r)
	}
	if !skip["batch"] {
		r, err := withServer(ctx, filepath.Join(c.dir, "batch"), false, func(s *benchServer) (result, error) {
			return s.loadBatch(ctx, c.batchConc, c.batchSize, c.duration)
		})
		if err != nil {
			return err
		}
		withLedger = r
		report(out, fmt.Sprintf("server: batches of %d over HTTP, %d clients", c.batchSize, c.batchConc), r)
		ratio("batch", r)
	}
	if !skip["noledger"] && !skip["batch"] {
		r, err := withServer(ctx, filepath.Join(c.dir, "noledger"), true, func(s *benchServer) (result, error) {
			return s.loadBatch(ctx, c.batchConc, c.batchSize, c.duration)
		})
		if err != nil {
			return err
		}
		withoutLedger = r
		report(out, "server without the ledger (measurement only): same batches", r)
		fmt.Fprintf(out, "  ledger cost: ingest with the ledger is %.2fx ingest without it\n", withLedger.rate()/withoutLedger.rate())
	}
	if !skip["alerts"] {
		if err := benchAlerts(ctx, out, c); err != nil {
			return err
		}
	}
	if !skip["geoip"] {
		if err := benchGeoIP(out, c.dir); err != nil {
			return err
		}
	}
	if !skip["query"] || !skip["verify"] || !skip["reports"] || !skip["export"] || !skip["reportload"] {
		if err := benchQueries(ctx, out, c, skip); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "peak RSS of the whole run: %.0f MB\n", peakRSSMB())
	return nil
}

// result is one measured phase.
type result struct {
	events    int64
	elapsed   time.Duration
	latencies []time.Duration // per request
	errors    int64
	rssMB     float64
}

func (r result) rate() float64 { return float64(r.events) / r.elapsed.Seconds() }

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
	fmt.Fprintf(w, ", RSS %.0f MB\n", currentRSSMB())
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
	db      *sqlite.DB
	url     string
	ingest  string
	auditor string
	client  *nethttp.Client
}

func withServer(ctx context.Context, dir string, skipLedger bool, f func(*benchServer) (result, error)) (result, error) {
	return withServerOpts(ctx, dir, serverOpts{skipLedger: skipLedger}, f)
}

// serverOpts vary the bench server's store.
type serverOpts struct {
	skipLedger bool
	enrich     func(*vigil.Event) // geolocation
}

func withServerOpts(ctx context.Context, dir string, o serverOpts, f func(*benchServer) (result, error)) (result, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return result{}, err
	}
	skey, vkey, err := ledger.GenerateKey("bench.vigil")
	if err != nil {
		return result{}, err
	}
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, dbFile), LogName: "bench.vigil", SigningKey: skey,
		CheckpointInterval: time.Second, WitnessPath: filepath.Join(dir, witnessFile), SkipLedger: o.skipLedger, Enrich: o.enrich, Index: fhir.Terms})
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	if _, err := db.EnsureWorkspace(ctx, defaultWS); err != nil {
		return result{}, err
	}
	s := &benchServer{db: db}
	if _, s.ingest, err = vigil.CreateKey(ctx, db, defaultWS, vigil.RoleIngest, "", "bench", time.Now()); err != nil {
		return result{}, err
	}
	if _, s.auditor, err = vigil.CreateKey(ctx, db, defaultWS, vigil.RoleAuditor, "", "bench", time.Now()); err != nil {
		return result{}, err
	}
	srv := vhttp.NewServer(vhttp.Config{Store: db, VerifierKey: vkey})
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

// peakRSSMB and currentRSSMB read the process's memory from /proc.
func peakRSSMB() float64    { return procStatusMB("VmHWM:") }
func currentRSSMB() float64 { return procStatusMB("VmRSS:") }

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
