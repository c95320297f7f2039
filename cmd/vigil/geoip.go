package main

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/geoip"
)

// startGeoIP loads the MMDB files and returns the enrichment the store
// applies at ingest, or nil (and says so) when none are configured. The
// files are reloaded on SIGHUP and when they change on disk; a failed
// reload keeps the previous database.
func startGeoIP(ctx context.Context, files string, logger *slog.Logger) (func(*vigil.Event), error) {
	var paths []string
	for _, p := range strings.Split(files, ",") {
		if p = strings.TrimSpace(p); p != "" {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		logger.Info("IP geolocation is off: no --geoip database")
		return nil, nil
	}
	r, err := geoip.NewReloader(logger, paths...)
	if err != nil {
		return nil, err
	}
	logger.Info("IP geolocation is on", "files", len(paths))
	go r.Watch(ctx, 30*time.Second)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := r.Reload(); err != nil {
					logger.Error("reloading the geolocation database failed; keeping the previous one", "err", err)
				} else {
					logger.Info("geolocation database reloaded")
				}
			}
		}
	}()
	return func(e *vigil.Event) {
		addr, err := netip.ParseAddr(e.IPAddress)
		if err != nil {
			return
		}
		loc := r.Lookup(addr)
		e.IPCountry, e.IPCity, e.IPRegion = loc.Country, loc.City, loc.Region
	}, nil
}
