// Command peers measures Vigil's write path in-process beside other
// tamper-evident logs, in one run, on the same disk, with the same events
// (bench/workload): single events submitted from 1, 64 and 256 goroutines,
// each call returning once its event is durable, to
//
//   - vigil: the product's store (sqlite.DB.Append: one fsync'd
//     transaction per group commit, with the Merkle ledger and the query
//     and search indexes);
//   - immudb: its embedded store (embedded/store) with its default
//     durability, Synced: every commit waits for the fsync of its value
//     and transaction logs (grouped every SyncFrequency, 20 ms);
//   - tessera: its POSIX driver (storage/posix), batches of 256 entries
//     or 10 ms; an Add's future resolves once the batch's entry bundles,
//     tiles and tree state are written (each file O_SYNC, renamed into
//     place, its directory fsync'd).
//
// It prints events/s and p50/p99 latency per system and writer count,
// and Vigil's ratio to each peer. It is a module of its own so the peers'
// dependencies stay out of the product's.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

// run parses args, measures and prints.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	fs.SetOutput(errOut)
	dir := fs.String("dir", "", "work directory on the disk to measure (default a temporary one, removed after)")
	duration := fs.Duration("duration", 5*time.Second, "how long each system is measured at each writer count")
	writersFlag := fs.String("writers", "1,64,256", "comma-separated numbers of goroutines submitting single events")
	only := fs.String("systems", "vigil,immudb,tessera", "comma-separated systems to measure: "+strings.Join(systemNames(), ","))
	rounds := fs.Int("rounds", 1, "times the whole comparison is repeated (the order of the systems alternates)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var writers []int
	for _, f := range strings.Split(*writersFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("-writers: %q is not a positive integer", f)
		}
		writers = append(writers, n)
	}
	var chosen []system
	for _, name := range strings.Split(*only, ",") {
		i := slices.IndexFunc(systems, func(s system) bool { return s.name == strings.TrimSpace(name) })
		if i < 0 {
			return fmt.Errorf("-systems: no system %q (systems: %s)", name, strings.Join(systemNames(), ","))
		}
		chosen = append(chosen, systems[i])
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "vigil-peers-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	fmt.Fprintf(out, "peers: %s, %d CPUs, GOMAXPROCS %d, %s, %s per system and writer count, in %s\n",
		runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339), *duration, *dir)
	for _, s := range chosen {
		fmt.Fprintf(out, "  %-8s %s\n", s.name, s.durability)
	}
	for round := range *rounds {
		order := slices.Clone(chosen)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, n := range writers {
			fmt.Fprintf(out, "%d %s, single events, round %d\n", n, plural(n, "writer", "writers"), round+1)
			rates := map[string]float64{}
			for _, s := range order {
				path := filepath.Join(*dir, fmt.Sprintf("%s-%d-%d", s.name, n, round))
				r, err := measure(ctx, s, path, n, *duration)
				if err != nil {
					return fmt.Errorf("%s, %d %s: %w", s.name, n, plural(n, "writer", "writers"), err)
				}
				os.RemoveAll(path)
				fmt.Fprintf(out, "  %-8s %8.0f events/s, p50 %s, p99 %s, %d events, %d errors\n",
					s.name, r.rate(), round3(r.percentile(0.50)), round3(r.percentile(0.99)), r.events, r.errors)
				rates[s.name] = r.rate()
			}
			if v, ok := rates["vigil"]; ok {
				for _, s := range chosen {
					if p := rates[s.name]; s.name != "vigil" && p > 0 {
						fmt.Fprintf(out, "  vigil/%s %.2fx\n", s.name, v/p)
					}
				}
			}
		}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// round3 keeps three significant digits or so.
func round3(d time.Duration) time.Duration {
	switch {
	case d > 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(100 * time.Nanosecond)
	}
}
