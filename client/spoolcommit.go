package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigilhq/vigil/api"
)

// Group commit. Appenders copy their framed records into a shared pending
// buffer and wait; one flusher goroutine takes everything pending, writes
// it with one write and makes it durable with one fsync, then wakes every
// appender of that group. While it fsyncs, the next group gathers, so the
// number of fsyncs per second stays at what the disk can do while events
// per fsync grow with the number of concurrent callers.

// group is the set of appends that share one write and one fsync.
type group struct {
	done   chan struct{} // closed when err and end are set
	err    error
	end    int64 // the durable offset after the group (whether or not it failed)
	events int64
}

func newGroup() *group { return &group{done: make(chan struct{})} }

// append spools events and returns once they are durable, or with the
// reason they are not. All of them or none are spooled.
func (s *spool) append(ctx context.Context, ins []api.EventInput) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var recs []byte
	for _, in := range ins {
		p, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("client: encoding the event: %w", err)
		}
		recs = appendRecord(recs, p)
	}
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		return ErrClosed
	case s.failed != nil:
		s.mu.Unlock()
		return fmt.Errorf("client: the spool failed earlier and takes no more events until the client is reopened: %w", s.failed)
	case int64(len(recs)) > s.cfg.maxBytes:
		s.mu.Unlock()
		return fmt.Errorf("%w (%d bytes of events, more than the whole spool holds)", ErrSpoolFull, len(recs))
	case s.disk+s.writing+int64(len(s.pending))+int64(len(recs)) > s.cfg.maxBytes:
		used := s.disk + s.writing + int64(len(s.pending))
		s.mu.Unlock()
		return fmt.Errorf("%w (%d of %d bytes in use; the server has not acknowledged them yet)", ErrSpoolFull, used, s.cfg.maxBytes)
	}
	s.pending = append(s.pending, recs...)
	g := s.cur
	g.events += int64(len(ins))
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default: // the flusher is already due to run
	}
	select {
	case <-g.done:
		return g.err
	case <-ctx.Done():
		// The records are written or about to be: they may well be
		// delivered. The caller must treat the event as not recorded
		// (at least once allows a record of an access that then did not
		// happen; it never allows the reverse).
		return fmt.Errorf("client: gave up waiting for the spool's fsync (the event may still be delivered): %w", ctx.Err())
	}
}

// flusher writes and fsyncs pending groups until the spool stops; it
// writes what is pending before it returns, so no appender waits for
// ever.
func (s *spool) flusher() {
	defer s.wg.Done()
	for {
		select {
		case <-s.kick:
		case <-s.stop:
			s.flushPending()
			return
		}
		s.flushPending()
		s.rollIdle()
	}
}

// rollIdle starts a new segment when everything is delivered and the
// active segment is full, so that the delivered one can be removed: an
// idle spool shrinks to an empty segment instead of keeping up to a
// segment of delivered events. Only the flusher starts segments.
func (s *spool) rollIdle() {
	s.mu.Lock()
	last := s.segs[len(s.segs)-1]
	idle := len(s.pending) == 0 && s.failed == nil && s.acked == s.durable && last.size >= s.cfg.segmentBytes
	base := s.durable
	s.mu.Unlock()
	if !idle {
		return
	}
	if err := s.createSegment(base); err != nil {
		s.c.log.Error("vigil client: spool: starting a segment failed", "err", err)
		return
	}
	s.mu.Lock()
	s.segs = append(s.segs, segment{base: base})
	gone := s.dropAcked()
	s.mu.Unlock()
	s.remove(gone)
}

// flushPending writes and fsyncs one group.
func (s *spool) flushPending() {
	s.mu.Lock()
	buf, g := s.pending, s.cur
	if len(buf) == 0 {
		s.mu.Unlock()
		return
	}
	s.pending, s.cur, s.inWrite = nil, newGroup(), g
	s.writing = int64(len(buf))
	failed := s.failed
	s.mu.Unlock()

	err := failed
	if err == nil {
		err = s.write(buf)
	}

	s.mu.Lock()
	s.writing, s.inWrite = 0, nil
	if err == nil {
		s.fsyncs++
		s.spooled += g.events
		s.durable += int64(len(buf))
		s.disk += int64(len(buf))
		s.segs[len(s.segs)-1].size += int64(len(buf))
	}
	g.err, g.end = err, s.durable
	s.mu.Unlock()
	close(g.done)
	if err == nil {
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
}

// write appends buf to the active segment, starting a new segment first
// when the active one is full, and fsyncs it. A failed write is undone
// (the group's appenders get the error and the spool goes on); a failed
// fsync is not retried: after one, Linux may have dropped the dirty pages
// and a second fsync would succeed without them, so the spool stops
// taking events.
func (s *spool) write(buf []byte) error {
	s.mu.Lock()
	last := s.segs[len(s.segs)-1]
	durable := s.durable
	s.mu.Unlock()
	if last.size >= s.cfg.segmentBytes {
		if err := s.createSegment(durable); err != nil {
			return fmt.Errorf("client: spool: starting a segment: %w", err)
		}
		s.mu.Lock()
		s.segs = append(s.segs, segment{base: durable})
		s.mu.Unlock()
		last = segment{base: durable}
	}
	if _, err := s.active.Write(buf); err != nil {
		if terr := s.active.Truncate(last.size); terr != nil {
			err = fmt.Errorf("client: spool write: %w; undoing it: %w", err, terr)
			s.fail(err)
			return err
		}
		return fmt.Errorf("client: spool write: %w", err)
	}
	if err := datasync(s.active); err != nil {
		err = fmt.Errorf("client: spool fsync: %w", err)
		s.fail(err)
		return err
	}
	return nil
}

func (s *spool) fail(err error) {
	s.mu.Lock()
	if s.failed == nil {
		s.failed = err
		s.notify()
	}
	s.mu.Unlock()
	s.c.log.Error("vigil client: the spool failed; Track refuses events until the client is reopened", "err", err)
}
