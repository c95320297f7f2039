package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// figures is the line under each phase's heading:
// "  N events in Ts = R events/s, p50 X, p99 Y, CPU C cores, peak RSS M MB".
var figures = regexp.MustCompile(`^  (\d+) events in ([\d.]+)s = (\d+) events/s, p50 ([\d.]+(?:ns|µs|ms|s)), p99 ([\d.]+(?:ns|µs|ms|s))(, \d+ errors)?, CPU ([\d.]+) cores, peak RSS (\d+) MB$`)

var (
	ratioLine   = regexp.MustCompile(`^  ratio to raw SQLite at (\d+) rows? per transaction: ([\d.]+)x$`)
	ceilingLine = regexp.MustCompile(`^  load generator: ceiling (\d+) events/s \((\d+) requests/s\) against a handler answering 201 at once = ([\d.]+)x this phase; ([\d.]+(?:ns|µs|ms)) CPU per request \(generator and trivial server together\) = at most (\d+)% of this phase's CPU$`)
	catchUpLine = regexp.MustCompile(`^  catch-up: queries counted all (\d+) acknowledged events after ([\d.]+(?:ns|µs|ms|s)) \(counted (\d+); (\d+) polls\); the signed checkpoint covered them after ([\d.]+(?:ns|µs|ms|s)); alert evaluation passed them after ([\d.]+(?:ns|µs|ms|s))$`)
	bestLine    = regexp.MustCompile(`^moonshot: best (\d+) durable events/s with batches of (\d+), (\d+) clients, p99 \S+ \(target 100,000/s\)$`)
	runPeakLine = regexp.MustCompile(`^peak RSS of the whole run: (\d+) MB$`)
)

// TestBenchIngestPhases runs every ingest phase very briefly and checks
// that each printed its figures (positive rates and latencies, no
// errors), the ratio to its matching baseline, the load generator's
// ceiling, the sustain phase's catch-up and the moonshot's best.
func TestBenchIngestPhases(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"bench", "--dir", t.TempDir(), "--duration", "400ms", "--ceiling-duration", "200ms",
		"--clients", "1,4", "--baseline-rows", "1,4,40", "--batch-baseline", "40", "--batch-concurrency", "2", "--batch-size", "10",
		"--sustain", "600ms", "--moonshot-batches", "10,30", "--moonshot-clients", "2",
		"--skip", "alerts,geoip,query,verify,reports,export,reportload"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\noutput:\n%s", append(args, out.String())...)
	}
	// phase finds a heading and checks the figures under it; it returns
	// the lines after them.
	phase := func(heading string) []string {
		t.Helper()
		for i, l := range lines {
			if l != heading {
				continue
			}
			if i+1 == len(lines) {
				fail("nothing under %q", heading)
			}
			m := figures.FindStringSubmatch(lines[i+1])
			if m == nil {
				fail("under %q: %q is not the figures line", heading, lines[i+1])
			}
			if m[6] != "" {
				fail("under %q: errors: %q", heading, lines[i+1])
			}
			for _, k := range []int{1, 3, 8} {
				if n, _ := strconv.Atoi(m[k]); n <= 0 {
					fail("under %q: %q has a figure that is not positive", heading, lines[i+1])
				}
			}
			if m[4] == "0s" || m[5] == "0s" {
				fail("under %q: no latencies: %q", heading, lines[i+1])
			}
			return lines[i+2:]
		}
		fail("no phase %q", heading)
		return nil
	}
	ratio := func(after []string, rows string) {
		t.Helper()
		m := ratioLine.FindStringSubmatch(after[0])
		if m == nil || m[1] != rows {
			fail("no ratio to the %s-row baseline: %q", rows, after[0])
		}
		if x, _ := strconv.ParseFloat(m[2], 64); x <= 0 {
			fail("ratio %q", after[0])
		}
	}
	ceiling := func(line string) {
		t.Helper()
		m := ceilingLine.FindStringSubmatch(line)
		if m == nil {
			fail("no ceiling line: %q", line)
		}
		for _, k := range []int{1, 2} {
			if n, _ := strconv.Atoi(m[k]); n <= 0 {
				fail("ceiling %q", line)
			}
		}
		// The ratio may round to 0.0 on a machine loaded by other work (the
		// ceiling is measured for a fraction of a second), but it is a number.
		if _, err := strconv.ParseFloat(m[3], 64); err != nil {
			fail("ceiling %q", line)
		}
	}
	for _, h := range []string{
		"baseline: raw SQLite, 1 row per transaction (the store's events table and indexes, WAL, synchronous=FULL; rows from 1 writer)",
		"baseline: raw SQLite, 4 rows per transaction (the store's events table and indexes, WAL, synchronous=FULL; rows from 4 writers)",
		"baseline: raw SQLite, 40 rows per transaction (the store's events table and indexes, WAL, synchronous=FULL; rows from 2 writers)",
	} {
		phase(h)
	}
	after := phase("server: single events, 1 client over HTTP")
	ratio(after, "1")
	ceiling(after[1])
	after = phase("server: single events, 4 clients over HTTP")
	ratio(after, "4")
	ceiling(after[1])
	after = phase("server: batches of 10, 2 clients over HTTP")
	ratio(after, "40")
	ceiling(after[1])

	after = phase("sustain: peak of batches of 10, 2 clients over HTTP, every projection on, 0 alert rules")
	ratio(after, "40")
	var held []string
	for _, l := range lines {
		if strings.HasPrefix(l, "sustain: batches of 10, 2 clients held at ") && strings.HasSuffix(l, " events/s (80% of the peak) for 600ms") {
			held = phase(l)
		}
	}
	if held == nil {
		fail("no sustained phase")
	}
	ceiling(held[0])
	m := catchUpLine.FindStringSubmatch(held[1])
	if m == nil {
		fail("no catch-up line: %q", held[1])
	}
	if acked, _ := strconv.Atoi(m[1]); acked <= 0 || m[1] != m[3] {
		fail("catch-up: acknowledged %s, counted %s", m[1], m[3])
	}

	for _, h := range []string{"moonshot: batches of 10, 2 clients over HTTP (--batch-limit 30)", "moonshot: batches of 30, 2 clients over HTTP (--batch-limit 30)"} {
		phase(h)
	}
	found := false
	for i, l := range lines {
		if m := bestLine.FindStringSubmatch(l); m != nil {
			if n, _ := strconv.Atoi(m[1]); n <= 0 {
				fail("moonshot best %q", l)
			}
			ceiling(lines[i+1])
			found = true
		}
	}
	if !found {
		fail("no moonshot best")
	}
	if m := runPeakLine.FindStringSubmatch(lines[len(lines)-1]); m == nil || m[1] == "0" {
		fail("no peak RSS of the run")
	}
}

// TestBenchSkipRefusesUnknownPhases: a misspelt phase would silently run
// everything.
func TestBenchSkipRefusesUnknownPhases(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"bench", "--dir", t.TempDir(), "--skip", "baseline,singel"}, strings.NewReader(""), &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), `no phase "singel"`) {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// TestBenchOtherPhasesRun runs the alert, geolocation, query, proof,
// verification, report, export and report-beside-ingest phases over a
// small data set and checks that each printed its figures.
func TestBenchOtherPhasesRun(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"bench", "--dir", t.TempDir(), "--duration", "300ms", "--query-events", "3000",
		"--query-probes", "20", "--export-events", "1000", "--batch-concurrency", "2", "--batch-size", "10",
		"--geoip-networks", "5000", "--geoip-lookups", "10000", "--skip", "baseline,ceiling,single,batch,sustain,moonshot"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	o := out.String()
	for _, want := range []string{
		"server: batches of 10 over HTTP, 2 clients, geolocation on, 10 alert rules enabled\n",
		"alert cost: ingest with ten rules enabled ",
		"geolocation lookup, 5000 networks (IPv4 and IPv6), 10000 random lookups timed one by one\n  p50 ",
		"store: 3000 events appended in batches of 1000 (write path with ledger, no HTTP)\n  3000 events in ",
		"GET /api/v1/events?patient_id over 3000 events (each read recorded durably first)\n  20 events in ",
		"GET /api/v1/events?resource_id over 3000 events (each read recorded durably first)\n  20 events in ",
		"inclusion proof (store) in a tree of ",
		"full re-verification (one goroutine), valid=true\n",
		"report 2 (everyone who accessed one patient, whole log of 3000 events), CSV, 20 patients\n  mean ",
		"export of 1000 events, csv\n  1000 rows in ",
		"export of 1000 events, ndjson\n  1000 rows in ",
		"export of 1000 events, parquet\n  1000 rows in ",
		"ingest beside the query data set, batches of 10, 2 clients, no report running\n",
		"  ingest with a report running is ",
	} {
		if !strings.Contains(o, want) {
			t.Fatalf("output lacks %q:\n%s", want, o)
		}
	}
	counts := regexp.MustCompile(`(?m)^  (\d+) (?:events|rows) in ([\d.]+)s = (\d+) (?:events|rows)/s`)
	ms := counts.FindAllStringSubmatch(o, -1)
	if len(ms) < 15 {
		t.Fatalf("%d figure lines:\n%s", len(ms), o)
	}
	for _, m := range ms {
		if m[1] == "0" || m[3] == "0" {
			t.Fatalf("a phase measured nothing: %q\n%s", m[0], o)
		}
	}
	if strings.Contains(o, " errors") {
		t.Fatalf("errors:\n%s", o)
	}
}
