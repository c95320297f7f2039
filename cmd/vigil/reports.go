package main

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vigilhq/vigil/internal/private"
	vreport "github.com/vigilhq/vigil/report"
)

// The data directory's report files.
const (
	reportsDir    = "reports"        // generated reports and exports
	reportsSecret = "reports.secret" // signs download links, mode 0600
)

// startReports builds the report service of a data directory and runs its
// workers until stop is called; stop returns once they have stopped, so
// the store can be closed after it.
func startReports(d *dataDir, workers int, share float64, retention, fileLifetime time.Duration, logger *slog.Logger) (svc *vreport.Service, secret []byte, stop func(), err error) {
	secret, err = loadOrCreateSecret(filepath.Join(d.path, reportsSecret))
	if err != nil {
		return nil, nil, nil, err
	}
	svc, err = vreport.New(vreport.Config{Store: d.db, Source: d.db, Dir: filepath.Join(d.path, reportsDir),
		VerifierKey: d.verifierKey, Workers: workers, Share: share, Retention: retention, FileLifetime: fileLifetime, Logger: logger,
		OffHours: vreport.RuleOffHours(d.db)})
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(ctx); err != nil {
			logger.Error("report workers stopped", "err", err)
		}
	}()
	return svc, secret, func() { cancel(); <-done }, nil
}

// loadOrCreateSecret reads a 32-byte secret, creating it (mode 0600) on
// first use.
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, errors.New(path + ": too short to be a secret")
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	rand.Read(b)
	f, err := private.Create(path)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return b, f.Close()
}
