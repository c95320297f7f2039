package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/console"
	"github.com/vigilhq/vigil/engine"
	vhttp "github.com/vigilhq/vigil/http"
	vreport "github.com/vigilhq/vigil/report"
	"github.com/vigilhq/vigil/sqlite"
)

type serveConfig struct {
	kekFile                                       string
	data, addr, logName, trustedProxies, logLevel string
	witness                                       string
	geoipFiles, publicURL                         string
	pprofAddr                                     string
	tlsCert, tlsKey                               string
	checkpointInterval, verifyPause               time.Duration
	demandInterval                                time.Duration
	batchLimit, queueSize, verifyRate             int
	maxLag                                        int64
	readWait                                      time.Duration
	reportWorkers                                 int
	reportRetention, reportFileLifetime           time.Duration
	reportShare                                   float64
	keyRate                                       float64
	keyBurst                                      int
	timeouts                                      serverTimeouts
}

// serverTimeouts bound how long a client may hold a connection: slow
// clients (slowloris, trickled bodies) are cut off instead of holding
// goroutines and file descriptors.
type serverTimeouts struct {
	readHeader, read, write, idle time.Duration
}

func runServe(ctx context.Context, env *Env, args []string) error {
	var c serveConfig
	fs := newFlags(env, "serve")
	fs.StringVar(&c.data, "data", "./vigil-data", "data directory")
	fs.StringVar(&c.witness, "witness-file", "", witnessUsage)
	fs.StringVar(&c.kekFile, "kek-file", "", kekUsage)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.logName, "log-name", defaultLog, "ledger name in checkpoints, used when the signing key is created")
	fs.DurationVar(&c.checkpointInterval, "checkpoint-interval", time.Second, "least time between two checkpoints")
	fs.DurationVar(&c.demandInterval, "checkpoint-demand-interval", sqlite.DefaultDemandInterval, "least time between two checkpoints signed because a reader needed one covering every acknowledged event")
	fs.IntVar(&c.batchLimit, "batch-limit", vigil.DefaultBatchLimit, "events per batch request")
	fs.IntVar(&c.queueSize, "queue-size", engine.DefaultQueueSize, "ingest requests waiting for the sequencer; beyond it, 503")
	fs.Int64Var(&c.maxLag, "max-projection-lag", engine.DefaultMaxLag, "events the query indexes may be behind the log before ingest answers 503 with Retry-After")
	fs.DurationVar(&c.readWait, "read-wait", engine.DefaultReadWait, "how long a read waits for the query indexes to reach every event acknowledged before it; past it, 503")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For, -Host and -Proto are believed")
	fs.StringVar(&c.publicURL, "public-url", "", "the URL clients reach the server at (https://vigil.example.org), which download links start with; default: the request's scheme and Host")
	fs.IntVar(&c.verifyRate, "verify-rate", 20000, "background verifier: events re-hashed per second (0 disables)")
	fs.DurationVar(&c.verifyPause, "verify-pause", time.Minute, "background verifier: pause between passes")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate file (with --tls-key): serve HTTPS")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS private key file")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.geoipFiles, "geoip", "", "comma-separated MaxMind-format MMDB files (GeoIP2/GeoLite2-City or DB-IP lite city) for IP geolocation; reloaded on SIGHUP and when they change")
	fs.Float64Var(&c.keyRate, "key-rate", 10000, "requests per second allowed to each API key (0: unlimited); past it, 429")
	fs.IntVar(&c.keyBurst, "key-burst", 20000, "requests an API key may send at once above its rate")
	fs.DurationVar(&c.timeouts.readHeader, "read-header-timeout", 5*time.Second, "time a client has to send the request headers")
	fs.DurationVar(&c.timeouts.read, "read-timeout", 30*time.Second, "time a client has to send the whole request")
	fs.DurationVar(&c.timeouts.write, "write-timeout", 120*time.Second, "time to write the response")
	fs.DurationVar(&c.timeouts.idle, "idle-timeout", 120*time.Second, "time an idle keep-alive connection is kept")
	fs.StringVar(&c.pprofAddr, "pprof", "", "serve Go's profiler (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060, on a listener of its own (default off)")
	af := registerAlertFlags(fs)
	cf := registerConsoleFlags(fs)
	anf := registerAnchorFlags(fs)
	sf := registerStreamFlags(fs)
	bf := registerBackupFlags(fs)
	pf := registerPHIFlags(fs)
	fs.IntVar(&c.reportWorkers, "report-workers", 1, "reports and exports generated at once, in the background")
	fs.Float64Var(&c.reportShare, "report-share", 0.25, "the share of one core each report or export may take, so ingest keeps its pace (1: unpaced)")
	c.reportRetention, c.reportFileLifetime = vreport.DefaultRetention, vreport.DefaultFileLifetime
	fs.Var(daysFlag{&c.reportRetention}, "report-retention", "how long the record of each report and export (parameters, checkpoint, file hash, who asked, when) is kept; at least six years (2192d)")
	fs.Var(daysFlag{&c.reportFileLifetime}, "report-file-lifetime", "how long a generated file is kept; a download after it regenerates the file at its checkpoint")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	channels, err := af.channels(env)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	if err := vreport.CheckRetention(c.reportRetention, c.reportFileLifetime); err != nil {
		return fmt.Errorf("--report-retention %s, --report-file-lifetime %s: %v", daysFlag{&c.reportRetention}, daysFlag{&c.reportFileLifetime}, err)
	}
	proxies, err := parsePrefixes(c.trustedProxies)
	if err != nil {
		return err
	}
	publicURL := ""
	if c.publicURL != "" {
		if publicURL, err = vhttp.ParsePublicURL(c.publicURL); err != nil {
			return fmt.Errorf("--public-url %q: %v", c.publicURL, err)
		}
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if err := checkLoopback(c.pprofAddr); err != nil {
		return err
	}

	registry := prometheus.NewRegistry()
	guard, err := pf.guard(registry, logger)
	if err != nil {
		return err
	}
	enrich, err := startGeoIP(ctx, c.geoipFiles, logger)
	if err != nil {
		return err
	}
	d, err := openData(ctx, c.data, dataOptions{logName: c.logName, checkpointInterval: c.checkpointInterval,
		demandInterval: c.demandInterval, queueSize: c.queueSize, maxLag: c.maxLag, readWait: c.readWait, logger: logger, enrich: enrich, witness: c.witness, kekFile: c.kekFile,
		phiGuard: guard})
	if err != nil {
		return err
	}
	defer d.close()
	if d.fresh {
		_, secret, err := vigil.CreateKey(ctx, d.db, defaultWS, vigil.RoleAdmin, "", "initial admin", time.Now())
		if err != nil {
			return err
		}
		// Shown once, here, and never again: only its hash is stored.
		fmt.Fprintf(env.Stderr, "Created workspace %q. Admin key (shown once, store it now):\n%s\n", defaultWS, secret)
	}

	reports, linkSecret, stopReports, err := startReports(d, c.reportWorkers, c.reportShare, c.reportRetention, c.reportFileLifetime, logger)
	if err != nil {
		return err
	}
	defer stopReports() // before the store closes: deferred calls run last first
	anchors, err := anf.anchorer(d, logger)
	if err != nil {
		return err
	}
	consoleKey, tokens, err := viewerTokens(d)
	if err != nil {
		return err
	}
	srv := vhttp.NewServer(vhttp.Config{Store: d.db, Logger: logger, Registry: registry, VerifierKey: d.verifierKey, Anchors: anchors,
		TrustedProxies: proxies, BatchLimit: c.batchLimit, KeyRate: c.keyRate, KeyBurst: c.keyBurst,
		AlertChannels: channelNames(channels), AlertThrottle: af.throttle, Reports: reports, DownloadSecret: linkSecret,
		PublicURL:    publicURL,
		ViewerTokens: tokens})
	var handler nethttp.Handler = srv
	if cf.enabled {
		cons, err := newConsole(d, cf, consoleKey, tokens, reports, proxies, c.tlsCert != "", channelNames(channels), af.throttle, logger)
		if err != nil {
			return err
		}
		handler = console.Mount(srv, cons)
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	hs := &nethttp.Server{
		Handler:           handler,
		ReadHeaderTimeout: c.timeouts.readHeader,
		ReadTimeout:       c.timeouts.read,
		WriteTimeout:      c.timeouts.write,
		IdleTimeout:       c.timeouts.idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	bgCtx, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	alerts, err := startAlerts(bgCtx, d.db, channels, af, logger, srv.Registry())
	if err != nil {
		return err
	}
	streams, err := startStreams(bgCtx, env, sf, d, srv.Registry(), logger)
	if err != nil {
		return err
	}
	backups, err := startBackups(bgCtx, env, bf, d, c.witness, srv.Registry(), logger)
	if err != nil {
		return err
	}
	d.db.OnCommit(func(n int) { srv.ObserveCommit(n); alerts.committed(n); streams.committed(); backups.committed(n) })
	anchorsDone := make(chan struct{})
	go func() { runAnchors(bgCtx, anchors, anf.interval); close(anchorsDone) }()
	if c.verifyRate > 0 {
		go d.db.RunVerifier(bgCtx, c.verifyRate, c.verifyPause, func(ws string, breaks []vigil.Break) {
			for _, b := range breaks {
				logger.Error("ledger tamper detected", "workspace", ws, "type", b.Type, "sequence", b.Sequence, "event_id", b.EventID, "detail", b.Detail)
			}
			alerts.wake() // the finding is stored: raise its alert now
		})
	}
	if c.pprofAddr != "" {
		stopPprof, err := startPprof(c.pprofAddr, logger)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	errc := make(chan error, 1)
	go func() {
		if c.tlsCert != "" {
			errc <- hs.ServeTLS(ln, c.tlsCert, c.tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	logger.Info("serving", "addr", ln.Addr().String(), "data", c.data, "tls", c.tlsCert != "")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish (their commits are
	// answered), then close the store, which commits what is queued.
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		logger.Warn("shutdown", "err", err)
	}
	stopBackground()
	<-anchorsDone
	streams.wait()
	backups.wait()
	alerts.stop()
	stopReports()
	if err := d.close(); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is not a CIDR or address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}
