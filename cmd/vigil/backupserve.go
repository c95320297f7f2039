package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vigilhq/vigil/backup"
)

// backupFlags are serve's continuous backup flags.
type backupFlags struct {
	to       string
	key      string
	interval time.Duration
	every    int64
}

func registerBackupFlags(fs *flag.FlagSet) *backupFlags {
	f := &backupFlags{}
	fs.StringVar(&f.to, "backup-to", "", "back up continuously to this directory or s3://bucket/prefix (S3 credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION; endpoint from VIGIL_S3_ENDPOINT)")
	fs.StringVar(&f.key, "backup-key", "", backupKeyUsage)
	fs.DurationVar(&f.interval, "backup-interval", 5*time.Minute, "with --backup-to: the longest time between two backups")
	fs.Int64Var(&f.every, "backup-every", 100000, "with --backup-to: back up as soon as this many events were acknowledged since the last backup (0: on the interval only)")
	return f
}

// backups runs backup generations from inside the server, on its own
// goroutine: from the server's own log, its state (snapshotted on a
// connection of its own) and its checkpoints. A failure is logged and
// counted, and retried; ingest never waits for a backup.
type backups struct {
	d      *dataDir
	store  backup.Store
	key    *backup.Key
	files  func() ([]string, error)
	flags  *backupFlags
	logger *slog.Logger

	pending atomic.Int64 // events acknowledged since the last backup began
	wakeup  chan struct{}
	wg      sync.WaitGroup

	failures    atomic.Int64
	lastSuccess atomic.Int64 // unix nanoseconds
	mu          sync.Mutex
	backedUp    map[string]int64 // events of each workspace the last generation holds
}

// startBackups starts continuous backups when --backup-to is set; the
// returned value is nil otherwise (its methods then do nothing).
func startBackups(ctx context.Context, env *Env, f *backupFlags, d *dataDir, witness string, reg *prometheus.Registry, logger *slog.Logger) (*backups, error) {
	if f.to == "" {
		return nil, nil
	}
	if f.interval <= 0 {
		return nil, errors.New("--backup-interval must be positive")
	}
	key, err := loadBackupKey(env, d.path, f.key)
	if err != nil {
		return nil, err
	}
	store, err := backup.Open(ctx, f.to, backup.StoreOptions{})
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(d.path, ".backup-tmp")
	b := &backups{d: d, store: store, key: key, flags: f, logger: logger, wakeup: make(chan struct{}, 1), backedUp: map[string]int64{},
		files: func() ([]string, error) {
			if err := os.MkdirAll(tmp, 0o700); err != nil {
				return nil, err
			}
			return backupFiles(d.path, witness, tmp)
		}}
	if lock := store.Lock(); lock.Mode == "" {
		logger.Warn("backup objects are not locked", "to", store.String(), "why", lock.Missing)
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_backup_failures_total",
			Help: "Backups (--backup-to) that failed; each is retried."}, func() float64 { return float64(b.failures.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_backup_last_success_timestamp_seconds",
			Help: "When the last backup generation that succeeded began (Unix seconds); 0 before the first."}, func() float64 {
			return float64(b.lastSuccess.Load()) / 1e9
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_backup_lag_events",
			Help: "Events in the log that the last backup generation that succeeded does not hold."}, b.lag),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	b.wg.Add(1)
	go b.run(ctx)
	logger.Info("backing up continuously", "to", store.String(), "interval", f.interval.String(), "every_events", f.every)
	return b, nil
}

// committed counts acknowledged events, waking the backup loop past
// --backup-every. It never blocks.
func (b *backups) committed(n int) {
	if b == nil || b.flags.every <= 0 {
		return
	}
	if b.pending.Add(int64(n)) >= b.flags.every {
		select {
		case b.wakeup <- struct{}{}:
		default:
		}
	}
}

func (b *backups) wait() {
	if b != nil {
		b.wg.Wait()
	}
}

// retryAfter is how soon a failed backup is tried again (at most the
// interval).
const retryAfter = 30 * time.Second

func (b *backups) run(ctx context.Context) {
	defer b.wg.Done()
	next := b.flags.interval
	for {
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-b.wakeup:
			t.Stop()
		}
		if b.once(ctx) {
			next = b.flags.interval
		} else {
			next = min(retryAfter, b.flags.interval)
		}
	}
}

// idleGeneration is how often a generation is written when no event
// came since the last: the state (keys, users, reports) may still have
// changed, but every generation is kept for years under Object Lock.
const idleGeneration = 24 * time.Hour

// once writes one generation and reports whether it succeeded.
func (b *backups) once(ctx context.Context) bool {
	b.pending.Store(0)
	start := time.Now()
	if last := b.lastSuccess.Load(); last != 0 && b.lag() == 0 && start.Sub(time.Unix(0, last)) < idleGeneration {
		return true
	}
	src := backup.Source{Log: b.d.log, Checkpoints: b.d.db, State: awaitedState{b.d}, StateName: dbFile,
		SigningKey: b.d.signingKey, Key: b.key}
	files, err := b.files()
	var rep *backup.Report
	if err == nil {
		src.Files = files
		rep, err = backup.Backup(ctx, src, b.store, backup.Options{TempDir: filepath.Join(b.d.path, ".backup-tmp"), Now: func() time.Time { return start }})
	}
	if err != nil {
		if ctx.Err() != nil {
			return true // shutting down
		}
		b.failures.Add(1)
		b.logger.Error("backup failed; retrying", "to", b.store.String(), "err", err.Error(), "retry_in", min(retryAfter, b.flags.interval).String())
		return false
	}
	b.mu.Lock()
	for _, w := range rep.Workspaces {
		b.backedUp[w.Name] = w.To
	}
	b.mu.Unlock()
	b.lastSuccess.Store(start.UnixNano())
	b.logger.Info("backed up", "to", rep.Store, "generation", rep.Generation, "events", rep.Events, "objects", rep.Objects,
		"bytes", rep.Bytes, "elapsed", rep.Elapsed.String())
	return true
}

// lag is how many events of the log the last generation does not hold.
func (b *backups) lag() float64 {
	heads, err := b.d.log.Heads(context.Background())
	if err != nil {
		return -1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	for ws, h := range heads {
		n += max(0, h-b.backedUp[ws])
	}
	return float64(n)
}

// awaitedState snapshots the server's state after its projection has
// applied every event acknowledged before the backup began, so that a
// generation holds every one of them.
type awaitedState struct{ d *dataDir }

func (s awaitedState) Snapshot(ctx context.Context, path string) error {
	names, err := s.d.db.Workspaces(ctx)
	if err != nil {
		return err
	}
	for _, ws := range names {
		if err := s.d.db.Engine.Await(ctx, ws); err != nil {
			return err
		}
	}
	return s.d.db.Snapshot(ctx, path)
}

func (s awaitedState) Cursors(ctx context.Context) (map[string]int64, error) {
	return s.d.db.Cursors(ctx)
}
