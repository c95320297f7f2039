package main

import (
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil/bench/workload"
)

// The load generator must not be what limits the server. Before an ingest
// phase, the same load (same clients, same bodies, same client code) is
// sent for a short time to a server that reads each request and answers
// 201 at once: the rate it reaches is the generator's ceiling on this
// machine, and the process's CPU time per request there bounds what the
// generator costs (it includes the trivial server's share, so the true
// cost is lower). Each phase then prints both beside its own figures.

// ceiling is the load generator's measured ceiling for one shape.
type ceiling struct {
	r      result
	perReq time.Duration // CPU per request, client and trivial server together
}

// ceilings measures each shape once per run, on first use.
type ceilings struct {
	d    time.Duration
	off  bool
	seen map[string]ceiling
}

func (cs *ceilings) of(ctx context.Context, sh loadShape) (ceiling, error) {
	key := sh.String()
	if c, ok := cs.seen[key]; ok {
		return c, nil
	}
	r, err := trivialLoad(ctx, sh, cs.d)
	if err != nil {
		return ceiling{}, err
	}
	c := ceiling{r: r}
	if r.requests > 0 {
		c.perReq = r.cpu / time.Duration(r.requests)
	}
	if cs.seen == nil {
		cs.seen = map[string]ceiling{}
	}
	cs.seen[key] = c
	return c, nil
}

// show prints the ceiling for sh beside phase r and how much of r's CPU
// the generator can have taken at most.
func (cs *ceilings) show(ctx context.Context, out io.Writer, sh loadShape, r result) error {
	if cs.off {
		return nil
	}
	c, err := cs.of(ctx, sh)
	if err != nil {
		return err
	}
	times := 0.0
	if r.rate() > 0 {
		times = c.r.rate() / r.rate()
	}
	share := 0.0
	if r.cpu > 0 {
		share = 100 * float64(r.requests) * float64(c.perReq) / float64(r.cpu)
	}
	fmt.Fprintf(out, "  load generator: ceiling %.0f events/s (%.0f requests/s) against a handler answering 201 at once = %.1fx this phase; "+
		"%s CPU per request (generator and trivial server together) = at most %.0f%% of this phase's CPU\n",
		c.r.rate(), c.r.requestRate(), times, c.perReq.Round(100*time.Nanosecond), share)
	return nil
}

// trivialLoad sends sh for d to a server that drains each body and
// answers 201 with a short JSON body.
func trivialLoad(ctx context.Context, sh loadShape, d time.Duration) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	answer := []byte(`{"id":"0190b5a0-0000-7000-8000-000000000000","status":"stored"}`)
	hs := &nethttp.Server{ReadHeaderTimeout: 5 * time.Second, Handler: nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(nethttp.StatusCreated)
		w.Write(answer)
	})}
	go hs.Serve(ln)
	defer hs.Close()
	next := &atomic.Int64{}
	next.Store(workload.First)
	return runLoad(ctx, target{addr: ln.Addr().String(), key: "trivial", next: next}, sh, d, loadOptions{})
}
