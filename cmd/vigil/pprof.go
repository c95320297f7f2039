package main

import (
	"fmt"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/http/pprof"
	"net/netip"
	"time"
)

// checkLoopback refuses a --pprof address that is not on the loopback
// interface: profiles and traces show the process's memory and code
// paths, and the profiler has no authentication.
func checkLoopback(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof %q: %v (want a loopback host:port such as 127.0.0.1:6060)", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		what := "all interfaces"
		if host != "" {
			what = host
		}
		return fmt.Errorf("--pprof %q would listen on %s: the profiler has no authentication, so it listens only on a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT)", addr, what)
	}
	return nil
}

// startPprof serves net/http/pprof's handlers on a listener of their own
// at addr, apart from the API, and returns the function that stops it.
func startPprof(addr string, logger *slog.Logger) (stop func(), err error) {
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %v", err)
	}
	// No write timeout: a CPU profile or trace streams for as long as asked.
	hs := &nethttp.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	logger.Info("profiler listening", "addr", ln.Addr().String())
	return func() { hs.Close() }, nil
}
