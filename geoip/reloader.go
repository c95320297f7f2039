package geoip

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Reloader holds the current DB of a set of files and replaces it when they
// change: on Reload (which the command wires to SIGHUP) or when Watch sees a
// file's size, modification time or identity change. Lookups read the
// current DB through an atomic pointer and never wait for a reload; a lookup
// that started on the old DB finishes on it (see Open for why the old DB
// needs no closing).
type Reloader struct {
	paths []string
	log   *slog.Logger
	db    atomic.Pointer[DB]

	mu     sync.Mutex    // serialises reloads; guards the fields below
	loaded []os.FileInfo // the files as they were when the current DB was read
	failed []os.FileInfo // the files as they were when the last reload failed
}

// NewReloader opens paths (see Open) and returns a Reloader serving them.
// logger receives Watch's reports; nil discards them.
func NewReloader(logger *slog.Logger, paths ...string) (*Reloader, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{paths: append([]string(nil), paths...), log: logger}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// DB returns the current DB.
func (r *Reloader) DB() *DB { return r.db.Load() }

// Lookup places ip with the current DB (see DB.Lookup).
func (r *Reloader) Lookup(ip netip.Addr) Location { return r.db.Load().Lookup(ip) }

// Reload reopens the files and swaps the new DB in. If any file fails to
// open, the current DB stays in service and the error is returned.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked()
}

func (r *Reloader) reloadLocked() error {
	// Stamps are taken before reading, so a file that changes while it is
	// read differs from its stamp and is read again by the next Watch tick.
	stamps := stampFiles(r.paths)
	db, err := Open(r.paths...)
	if err != nil {
		r.failed = stamps
		return err
	}
	r.db.Store(db)
	r.loaded, r.failed = stamps, nil
	return nil
}

// Watch polls the files every interval and reloads when one has changed,
// until ctx is done. Polling rather than file-system notification keeps it
// portable and dependency-free, and it sees the usual ways databases are
// updated: replaced by rename, or rewritten in place. A failed reload is
// logged and not retried until the files change again, so a bad download
// costs one warning, not one per tick, and its fix is picked up. Run it in
// its own goroutine; interval must be positive.
func (r *Reloader) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.poll()
	}
}

func (r *Reloader) poll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := stampFiles(r.paths)
	if sameStamps(now, r.loaded) || sameStamps(now, r.failed) {
		return
	}
	if err := r.reloadLocked(); err != nil {
		r.log.Warn("geoip: reload failed; keeping the previous database", "err", err)
		return
	}
	for _, s := range r.db.Load().Sources() {
		r.log.Info("geoip: database reloaded", "path", s.Path, "type", s.Type, "built", s.Built)
	}
}

// stampFiles records what Watch compares to notice that a file changed: its
// size, modification time and identity (device and inode where the platform
// has them, via os.SameFile), which catches a replacement of equal size and
// copied modification time. A file that cannot be stat'ed has a nil entry.
func stampFiles(paths []string) []os.FileInfo {
	out := make([]os.FileInfo, len(paths))
	for i, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			out[i] = fi
		}
	}
	return out
}

func sameStamps(a, b []os.FileInfo) bool {
	if a == nil || b == nil || len(a) != len(b) {
		return false
	}
	for i, x := range a {
		y := b[i]
		if x == nil || y == nil {
			if x != y {
				return false
			}
			continue
		}
		if x.Size() != y.Size() || !x.ModTime().Equal(y.ModTime()) || !os.SameFile(x, y) {
			return false
		}
	}
	return true
}
