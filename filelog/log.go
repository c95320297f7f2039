// Package filelog is the embedded backend of the engine's storage seam,
// vigil.LogStorage: the records of every workspace appended to one
// sequence of segment files, each Append one write and one fdatasync, so
// that the acknowledgement of a group of events costs one flush whatever
// the number of workspaces in it. The format, the rule for a torn tail
// and the lock are described in docs/filelog.md.
package filelog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/internal/private"
)

// Options configure a log. The zero value is the default.
type Options struct {
	// SegmentBytes is the size past which the next Append starts a new
	// segment file (default 64 MiB). A group is never split, so a
	// segment may exceed it by one group.
	SegmentBytes int64
	// Logger receives what Open repairs (a torn tail cut, modes
	// tightened). Nil discards it.
	Logger *slog.Logger
}

// ErrLocked is wrapped by the error of Open when another process (a
// running server) holds the log.
var ErrLocked = errors.New("the log is locked")

// DefaultSegmentBytes is the default of Options.SegmentBytes.
const DefaultSegmentBytes = 64 << 20

// maxSegment bounds Options.SegmentBytes so that an offset, and a
// segment's one group over it, fit the 40 bits a position gives them.
const maxSegment = 1 << 38

// Log is a segment log in one directory. It implements vigil.LogStorage.
type Log struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File
	// readOnly is a log opened by OpenReadOnly: no lock, no repair, no
	// Append.
	readOnly bool

	// writeMu serializes Append and Close: the engine appends from one
	// goroutine, but the log does not rely on it.
	writeMu sync.Mutex
	w       *os.File // the last segment, for writing
	size    int64    // of the last segment, as far as acknowledged
	buf     []byte   // the group being encoded, reused
	failed  error    // set when a flush failed: the log refuses appends

	// mu guards what readers see: it is held only to publish a group
	// after its flush and to copy the index, never during I/O.
	mu     sync.RWMutex
	segs   []*os.File // every segment, for reading, by number
	ws     map[string]*wsIndex
	bytes  int64 // of every segment
	closed bool
}

var _ vigil.LogStorage = (*Log)(nil)

// segmentName is the file name of segment n.
func segmentName(n int) string { return fmt.Sprintf("%020d.seg", n) }

// Open opens the log in dir, creating it (0700) if it is missing. It
// takes the directory's lock, reads every segment to rebuild the heads
// and the index, and cuts a torn tail off the last segment (the group a
// crash interrupted, which was never acknowledged); any other damage
// fails Open with an error naming the segment and the offset.
func Open(dir string, opts Options) (*Log, error) {
	if opts.SegmentBytes < 0 || opts.SegmentBytes > maxSegment {
		return nil, fmt.Errorf("filelog: SegmentBytes must be between 0 (the default) and %d", int64(maxSegment))
	}
	if opts.SegmentBytes == 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	l := &Log{dir: dir, opts: opts, log: opts.Logger, ws: map[string]*wsIndex{}}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if was, err := private.Dir(dir); err != nil {
		return nil, fmt.Errorf("filelog: %w", err)
	} else if was != 0 {
		l.log.Warn("filelog: the log's directory was open to other users; made private", "dir", dir, "mode", fmt.Sprintf("%04o", was))
	}
	if err := l.takeLock(); err != nil {
		return nil, err
	}
	if err := l.load(); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

// OpenReadOnly opens the log in dir for reading beside the process that
// holds it (a running server): it takes no lock, changes nothing (no
// mode tightened, no torn tail cut, no first segment created), and sees
// the whole groups written when it read the segments, never a group
// being written. It does not follow later appends: its heads are those
// of the moment it opened. Append fails on it.
//
// A group it sees may have been written and not yet flushed by the
// server, so not yet acknowledged: a reader that must see only
// acknowledged records reads no further than something the server
// derived from them (a signed checkpoint, the projection's cursors).
func OpenReadOnly(dir string) (*Log, error) {
	l := &Log{dir: dir, opts: Options{SegmentBytes: DefaultSegmentBytes}, log: slog.New(slog.DiscardHandler),
		ws: map[string]*wsIndex{}, readOnly: true}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("filelog: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("filelog: %s is not a directory", dir)
	}
	if err := l.load(); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

func (l *Log) takeLock() error {
	path := filepath.Join(l.dir, "LOCK")
	if err := l.tighten(path); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, private.FileMode)
	if err != nil {
		return fmt.Errorf("filelog: %w", err)
	}
	if err := lock(f, l.dir); err != nil {
		f.Close()
		return err
	}
	l.lock = f
	return nil
}

// tighten makes a file private, logging when it was not.
func (l *Log) tighten(path string) error {
	if l.readOnly {
		return nil
	}
	was, err := private.Tighten(path)
	if err != nil {
		return fmt.Errorf("filelog: %w", err)
	}
	if was != 0 {
		l.log.Warn("filelog: a file of the log was open to other users; made private", "file", path, "mode", fmt.Sprintf("%04o", was))
	}
	return nil
}

// release closes every file and the lock.
func (l *Log) release() error {
	var errs []error
	if l.w != nil {
		errs = append(errs, l.w.Close())
	}
	for _, f := range l.segs {
		errs = append(errs, f.Close())
	}
	if l.lock != nil {
		errs = append(errs, l.lock.Close())
	}
	return errors.Join(errs...)
}

// Close releases the log and its lock. Append, Read and ReadHashes fail
// after it.
func (l *Log) Close() error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.release()
}

// errClosed is the error of every call after Close.
func errClosed() error { return vigil.Errorf(vigil.EUNAVAILABLE, "the event log is closed") }

// Heads returns the size of every workspace's log.
func (l *Log) Heads(ctx context.Context) (map[string]int64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, errClosed()
	}
	out := make(map[string]int64, len(l.ws))
	for name, w := range l.ws {
		out[name] = w.head
	}
	return out, nil
}

// Stats are figures of a log for metrics.
type Stats struct {
	Bytes      int64 // of every segment
	Segments   int
	Workspaces int
	Records    int64
	Marks      int // entries of the sparse index
}

// Stats returns the log's figures.
func (l *Log) Stats() Stats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s := Stats{Bytes: l.bytes, Segments: len(l.segs), Workspaces: len(l.ws)}
	for _, w := range l.ws {
		s.Records += w.head
		s.Marks += len(w.marks) + 1
	}
	return s
}
