package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/vigilhq/vigil/internal/private"
)

// rejectedFile keeps the events the server refused.
const rejectedFile = "rejected.jsonl"

// SpoolOption configures WithSpool.
type SpoolOption func(*spoolConfig)

type spoolConfig struct {
	maxBytes     int64
	segmentBytes int64
	inFlight     int
}

// SpoolMaxBytes bounds the spool's size on disk (default 256 MiB): past
// it, Track returns ErrSpoolFull rather than record an event it cannot
// keep. Acknowledged events are removed a segment at a time, so up to one
// segment of them may still count.
func SpoolMaxBytes(n int64) SpoolOption { return func(c *spoolConfig) { c.maxBytes = n } }

// SpoolSegmentBytes sets the size at which the spool starts a new
// segment file (default an eighth of the maximum, at most 8 MiB).
func SpoolSegmentBytes(n int64) SpoolOption { return func(c *spoolConfig) { c.segmentBytes = n } }

// SpoolInFlight sets how many batches the sender keeps in flight at once
// (default 4): the server commits concurrent batches together, so a few in
// flight deliver a backlog several times faster than one at a time. With
// more than one, the server may store a later batch before an earlier
// one; OccurredAt, which Track fills, keeps the true order. Use 1 to keep
// the server's order the spool's.
func SpoolInFlight(n int) SpoolOption { return func(c *spoolConfig) { c.inFlight = n } }

// WithSpool makes recording durable locally before it is remote: Track
// returns once the event is appended and fsync'd to a write-ahead spool in
// dir (concurrent Track calls share one fsync), and a background sender
// delivers spooled events in batches of up to BatchLimit, forgetting them
// only once the server acknowledged them. Delivery is at least once (a
// crash between the server's acknowledgement and the spool's record of it
// sends some events again) and the events' idempotency keys make it
// exactly once on the server. A client opened on the same dir after a
// crash or an outage delivers what is left. Only one client at a time may
// use a dir.
//
// Events the server refuses (400, 413, 422: invalid; 409: an idempotency
// key it holds for other content; no retry can help) are set aside in
// dir/rejected.jsonl with the server's answer and logged,
// never silently dropped; every other failure is retried for as long as
// the client runs. Files in dir: LOCK, cursor, *.seg, rejected.jsonl.
func WithSpool(dir string, opts ...SpoolOption) Option {
	return func(c *Client) error {
		if dir == "" {
			return errors.New("client: WithSpool: empty directory")
		}
		cfg := spoolConfig{maxBytes: 256 << 20, inFlight: 4}
		for _, o := range opts {
			o(&cfg)
		}
		if cfg.maxBytes <= 0 || cfg.inFlight <= 0 || cfg.segmentBytes < 0 {
			return errors.New("client: WithSpool: sizes and counts must be positive")
		}
		if cfg.segmentBytes == 0 {
			cfg.segmentBytes = max(min(cfg.maxBytes/8, 8<<20), 1)
		}
		c.spoolDir, c.spoolCfg = dir, cfg
		return nil
	}
}

// spool is the write-ahead spool: an appender side (spoolcommit.go) and
// a sender side (sender.go) over a list of segment files.
type spool struct {
	c      *Client
	dir    string
	cfg    spoolConfig
	lock   *os.File
	cursor *cursor // owned by the acknowledging code, under ackMu

	mu       sync.Mutex
	pending  []byte        // records appended since the flusher last took them
	cur      *group        // the group pending belongs to
	inWrite  *group        // the group the flusher is writing, if any
	writing  int64         // bytes the flusher is writing now
	durable  int64         // logical offset up to which segments are written and fsync'd
	acked    int64         // logical offset up to which the server acknowledged
	disk     int64         // bytes in segment files
	segs     []segment     // in order; the last is the one written to
	failed   error         // a failed fsync: durability is unknown, so no more appends
	closing  bool          // Close started: no more appends
	changed  chan struct{} // closed and replaced whenever acked or failed changes
	lastErr  error         // the last delivery failure, until a delivery succeeds
	rejected int64         // events set aside this run
	skipped  int64         // bytes of damaged records skipped this run
	spooled  int64         // events made durable this run
	sent     int64         // events the server acknowledged this run
	fsyncs   int64         // segment fsyncs this run

	active *os.File // the last segment; only the flusher touches it

	ackMu    sync.Mutex
	inflight []*batch // batches sent and not yet all acknowledged, in spool order

	kick  chan struct{} // wakes the flusher
	ready chan struct{} // wakes the sender: more is durable
	stop  chan struct{}
	wg    sync.WaitGroup
}

// openSpool opens (creating, or recovering after a crash) the spool in
// dir and starts its flusher and sender.
func openSpool(c *Client, dir string, cfg spoolConfig) (*spool, error) {
	if err := privateSpool(c, dir); err != nil {
		return nil, fmt.Errorf("client: spool: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &spool{c: c, dir: dir, cfg: cfg, lock: lock, changed: make(chan struct{}),
		cur: newGroup(), kick: make(chan struct{}, 1), ready: make(chan struct{}, 1), stop: make(chan struct{})}
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("client: spool %s: %w", dir, err)
	}
	s.wg.Add(2)
	go s.flusher()
	go s.sender()
	return s, nil
}

// privateSpool creates the spool directory private (0700), or makes it
// and the spool's files private (0700, 0600) when they were left open to
// other users: the spool holds events that name patients.
func privateSpool(c *Client, dir string) error {
	was, err := private.Dir(dir)
	if err != nil {
		return err
	}
	if was != 0 {
		c.log.Warn("vigil client: spool: made the directory private: it was open to other users", "dir", dir, "was", fmt.Sprintf("%04o", was))
	}
	paths := []string{filepath.Join(dir, "LOCK"), filepath.Join(dir, "cursor"), filepath.Join(dir, rejectedFile)}
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	for _, seg := range segs {
		paths = append(paths, segPath(dir, seg.base))
	}
	for _, p := range paths {
		was, err := private.Tighten(p)
		if err != nil {
			return err
		}
		if was != 0 {
			c.log.Warn("vigil client: spool: made a file private: it was open to other users", "file", filepath.Base(p), "was", fmt.Sprintf("%04o", was))
		}
	}
	return nil
}

// recover reads the cursor, removes segments the server acknowledged,
// cuts a torn tail off the last segment and opens it for appending.
// Only the last segment can have a torn tail: a segment is complete and
// fsync'd before the next one is created.
func (s *spool) recover() error {
	var acked int64
	var err error
	if s.cursor, acked, err = openCursor(filepath.Join(s.dir, "cursor")); err != nil {
		return err
	}
	segs, err := listSegments(s.dir)
	if err != nil {
		return err
	}
	for len(segs) > 1 && segs[1].base <= acked {
		if err := os.Remove(segPath(s.dir, segs[0].base)); err != nil {
			return err
		}
		segs = segs[1:]
	}
	if len(segs) == 0 {
		segs = []segment{{base: max(acked, 0)}}
		if err := s.createSegment(segs[0].base); err != nil {
			return err
		}
	} else {
		last := &segs[len(segs)-1]
		path := segPath(s.dir, last.base)
		valid, err := validLength(path)
		if err != nil {
			return err
		}
		if valid < last.size {
			s.c.log.Warn("vigil client: spool: cutting off a torn or damaged tail left by a crash; it was never acknowledged to Track",
				"segment", filepath.Base(path), "at", valid, "bytes", last.size-valid)
			if err := truncateSync(path, valid); err != nil {
				return err
			}
			last.size = valid
		}
		if s.active, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return err
		}
	}
	last := segs[len(segs)-1]
	s.segs = segs
	s.durable = last.base + last.size
	s.acked = min(max(acked, segs[0].base), s.durable)
	for _, g := range segs {
		s.disk += g.size
	}
	return nil
}

// createSegment creates an empty segment, durable in the directory, and
// makes it the active one.
func (s *spool) createSegment(base int64) error {
	f, err := os.OpenFile(segPath(s.dir, base), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	if s.active != nil {
		s.active.Close()
	}
	s.active = f
	return nil
}

func truncateSync(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// notify wakes everyone waiting on changed. Called with mu held.
func (s *spool) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// close drains (until ctx ends), stops the goroutines and closes files.
func (s *spool) close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	ferr := s.flush(ctx)
	close(s.stop)
	s.wg.Wait()
	return errors.Join(ferr, s.closeFiles())
}

func (s *spool) closeFiles() error {
	var errs []error
	if s.active != nil {
		errs = append(errs, s.active.Close())
	}
	if s.cursor != nil {
		errs = append(errs, s.cursor.close())
	}
	errs = append(errs, s.lock.Close()) // releases the flock
	return errors.Join(errs...)
}

// SpoolStats describes a client's spool. Counts are since New.
type SpoolStats struct {
	PendingBytes int64 // spooled and not yet acknowledged by the server
	DiskBytes    int64 // in segment files, counted against SpoolMaxBytes
	Segments     int
	Spooled      int64 // events made durable in the spool
	Fsyncs       int64 // fsyncs that made them so: Spooled/Fsyncs is the group commit's gain
	Delivered    int64 // events the server acknowledged (stored, or duplicates of stored ones)
	Rejected     int64 // events the server refused, set aside in rejected.jsonl
	SkippedBytes int64 // damaged records skipped (never sent)
	LastError    error // the last delivery failure, nil once a delivery succeeds
}

// SpoolStats reports the spool's state; the zero value without a spool.
func (c *Client) SpoolStats() SpoolStats {
	s := c.spool
	if s == nil {
		return SpoolStats{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return SpoolStats{
		PendingBytes: s.durable + s.writing + int64(len(s.pending)) - s.acked,
		DiskBytes:    s.disk, Segments: len(s.segs), Spooled: s.spooled, Fsyncs: s.fsyncs, Delivered: s.sent,
		Rejected: s.rejected, SkippedBytes: s.skipped, LastError: s.lastErr,
	}
}
