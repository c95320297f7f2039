package geoip_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vigilhq/vigil/geoip"
)

// How a server wires the databases: open them once, reload on SIGHUP, and
// watch the files so that a scheduled download is picked up without one.
func ExampleReloader() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	geo, err := geoip.NewReloader(logger, "/var/lib/vigil/GeoLite2-City.mmdb")
	if err != nil {
		logger.Error("geoip", "err", err)
		return
	}
	go geo.Watch(ctx, time.Minute)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			if err := geo.Reload(); err != nil {
				logger.Warn("geoip: reload failed; keeping the previous database", "err", err)
			}
		}
	}()

	// At ingest:
	where := geo.Lookup(netip.MustParseAddr("81.2.69.142"))
	_ = where.Country // "GB"
}
