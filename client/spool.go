package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vigilhq/vigil/api"
)

// The spool is a write-ahead file of events not yet acknowledged by the
// server (spool.log) and the offset up to which they were (spool.ack).
// A record is a 4-byte big-endian length, a 4-byte CRC-32C of the payload,
// and the payload: the event's JSON as the API takes it. Records past the
// last valid one after a crash are a torn write and are cut off.
type spoolConfig struct {
	dir      string
	maxBytes int64
}

const (
	spoolLog      = "spool.log"
	spoolAck      = "spool.ack"
	spoolRejected = "spool.rejected" // events the server refused as invalid, kept for a person
	recordHeader  = 8
	compactAt     = 8 << 20 // restart the file once everything is acknowledged past this size
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type spool struct {
	c        *Client
	cfg      spoolConfig
	log, ack *os.File

	mu      sync.Mutex
	end     int64 // bytes written
	synced  int64 // bytes fsync'd
	acked   int64 // bytes acknowledged by the server
	closed  bool
	changed *sync.Cond // acked moved, or the spool closed

	syncMu sync.Mutex // one fsync at a time: concurrent appends share it
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

func openSpool(c *Client, cfg spoolConfig) (*spool, error) {
	if err := os.MkdirAll(cfg.dir, 0o700); err != nil {
		return nil, err
	}
	s := &spool{c: c, cfg: cfg, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.changed = sync.NewCond(&s.mu)
	var err error
	if s.log, err = os.OpenFile(filepath.Join(cfg.dir, spoolLog), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, err
	}
	if s.ack, err = os.OpenFile(filepath.Join(cfg.dir, spoolAck), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		s.log.Close()
		return nil, err
	}
	if err := s.recover(); err != nil {
		s.log.Close()
		s.ack.Close()
		return nil, err
	}
	go s.send()
	return s, nil
}

// recover reads the acknowledged offset and cuts a torn tail.
func (s *spool) recover() error {
	var b [12]byte
	n, err := s.ack.ReadAt(b[:], 0)
	if err != nil && err != io.EOF {
		return err
	}
	if n == 12 && crc32.Checksum(b[:8], castagnoli) == binary.BigEndian.Uint32(b[8:]) {
		s.acked = int64(binary.BigEndian.Uint64(b[:8]))
	}
	fi, err := s.log.Stat()
	if err != nil {
		return err
	}
	if s.acked > fi.Size() {
		s.acked = 0 // the ack outlived a compaction it belonged to
	}
	off := s.acked
	for off < fi.Size() {
		_, next, err := s.readRecord(off)
		if err != nil {
			break
		}
		off = next
	}
	if off < fi.Size() {
		s.c.log.Warn("spool: cutting a torn record", "at", off, "size", fi.Size())
		if err := s.log.Truncate(off); err != nil {
			return err
		}
		if err := s.log.Sync(); err != nil {
			return err
		}
	}
	s.end, s.synced = off, off
	return nil
}

func (s *spool) readRecord(off int64) ([]byte, int64, error) {
	var h [recordHeader]byte
	if _, err := s.log.ReadAt(h[:], off); err != nil {
		return nil, 0, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n == 0 || n > 16<<20 {
		return nil, 0, errors.New("spool: bad record length")
	}
	p := make([]byte, n)
	if _, err := s.log.ReadAt(p, off+recordHeader); err != nil {
		return nil, 0, err
	}
	if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(h[4:]) {
		return nil, 0, errors.New("spool: bad record checksum")
	}
	return p, off + recordHeader + int64(n), nil
}

// append writes events and returns once they are fsync'd.
func (s *spool) append(ctx context.Context, ins ...api.EventInput) error {
	var buf bytes.Buffer
	for _, in := range ins {
		p, err := json.Marshal(in)
		if err != nil {
			return err
		}
		var h [recordHeader]byte
		binary.BigEndian.PutUint32(h[:4], uint32(len(p)))
		binary.BigEndian.PutUint32(h[4:], crc32.Checksum(p, castagnoli))
		buf.Write(h[:])
		buf.Write(p)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.end-s.acked+int64(buf.Len()) > s.cfg.maxBytes {
		s.mu.Unlock()
		return ErrSpoolFull
	}
	if _, err := s.log.WriteAt(buf.Bytes(), s.end); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("client: spool write: %w", err)
	}
	s.end += int64(buf.Len())
	mine := s.end
	s.mu.Unlock()
	if err := s.syncTo(mine); err != nil {
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return ctx.Err()
}

// syncTo makes the file durable at least up to off. Appends waiting at the
// same time share one fsync: whoever holds syncMu syncs everything written
// so far, and the others find their bytes already covered.
func (s *spool) syncTo(off int64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	if s.synced >= off {
		s.mu.Unlock()
		return nil
	}
	target := s.end
	s.mu.Unlock()
	if err := s.log.Sync(); err != nil {
		return fmt.Errorf("client: spool fsync: %w", err)
	}
	s.mu.Lock()
	s.synced = max(s.synced, target)
	s.mu.Unlock()
	return nil
}

// setAcked persists the acknowledged offset, compacting when everything
// is acknowledged. Called with mu held.
func (s *spool) setAcked(off int64) error {
	if off == s.end && s.end >= compactAt {
		if err := s.log.Truncate(0); err != nil {
			return err
		}
		if err := s.log.Sync(); err != nil {
			return err
		}
		s.end, s.synced, off = 0, 0, 0
	}
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(off))
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	if _, err := s.ack.WriteAt(b[:], 0); err != nil {
		return err
	}
	if err := s.ack.Sync(); err != nil {
		return err
	}
	s.acked = off
	s.changed.Broadcast()
	return nil
}

// pendingRecords reads up to limit acknowledged-not-yet records from the
// fsync'd part of the log.
func (s *spool) pendingRecords(limit int) ([]json.RawMessage, []int64, error) {
	s.mu.Lock()
	off, end := s.acked, s.synced
	s.mu.Unlock()
	var recs []json.RawMessage
	var ends []int64
	for off < end && len(recs) < limit {
		p, next, err := s.readRecord(off)
		if err != nil {
			return nil, nil, err
		}
		recs, ends = append(recs, p), append(ends, next)
		off = next
	}
	return recs, ends, nil
}

// flush waits until everything appended before the call is acknowledged.
func (s *spool) flush(ctx context.Context) error {
	s.mu.Lock()
	target := s.end
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	stopWatch := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.changed.Broadcast()
		s.mu.Unlock()
	})
	defer stopWatch()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.acked < target && s.end >= target {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("client: %d spooled bytes not yet delivered: %w", target-s.acked, err)
		}
		s.changed.Wait()
	}
	return nil
}

func (s *spool) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.changed.Broadcast()
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	return errors.Join(s.log.Close(), s.ack.Close())
}

// wait sleeps for d, or until woken or stopped; it reports false when
// the spool is stopping.
func (s *spool) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.stop:
		return false
	case <-s.wake:
	case <-t.C:
	}
	return true
}
