package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/vigilhq/vigil/api"
)

// send ships spooled events to the server in batches until the spool
// closes, and advances the acknowledged offset only after the server
// answered for a batch. Network errors and 429/503 back off and retry for
// ever: a spooled event is never given up.
func (s *spool) send() {
	defer close(s.done)
	backoff := time.Duration(0)
	for {
		recs, ends, err := s.pendingRecords(BatchLimit)
		if err != nil {
			s.c.log.Error("spool: reading records", "err", err)
		}
		if len(recs) == 0 || err != nil {
			if !s.wait(time.Second) {
				return
			}
			continue
		}
		err = s.deliver(recs, ends)
		if err == nil {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 30*time.Second)
		s.c.log.Warn("spool: delivery failed; will retry", "err", err, "in", backoff)
		if !s.wait(backoff) {
			return
		}
	}
}

// deliver sends one batch. A batch the server refuses as invalid (4xx
// other than 401/403/408/429) is sent again event by event, so one bad
// event cannot hold back the others; an event refused on its own is moved
// to spool.rejected and logged, never silently dropped.
func (s *spool) deliver(recs []json.RawMessage, ends []int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := s.post(ctx, recs)
	if err == nil {
		return s.acknowledge(ends[len(ends)-1])
	}
	if !permanent(err) {
		return err
	}
	for i, r := range recs {
		err := s.post(ctx, recs[i:i+1])
		if err != nil && !permanent(err) {
			return err
		}
		if err != nil {
			if rerr := s.reject(r, err); rerr != nil {
				return rerr
			}
		}
		if err := s.acknowledge(ends[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *spool) post(ctx context.Context, recs []json.RawMessage) error {
	var body bytes.Buffer
	body.WriteString(`{"events":[`)
	for i, r := range recs {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(r)
	}
	body.WriteString(`]}`)
	var bs api.BatchStored
	return s.c.do(ctx, "POST", "/api/v1/events/batch", nil, body.Bytes(), &bs)
}

// permanent reports whether the server refused the content itself: a
// retry cannot help. Bad credentials are not permanent: an operator can
// fix the key and the spool must still hold the events then.
func permanent(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case e.Status == 401, e.Status == 403, e.Status == 408, e.Retryable():
		return false
	}
	return e.Status >= 400 && e.Status < 500
}

func (s *spool) acknowledge(off int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setAcked(off)
}

func (s *spool) reject(rec json.RawMessage, cause error) error {
	f, err := os.OpenFile(filepath.Join(s.cfg.dir, spoolRejected), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	line, _ := json.Marshal(map[string]any{"event": rec, "error": cause.Error(), "at": time.Now().UTC()})
	if _, err := f.Write(append(line, '\n')); err != nil {
		return err
	}
	s.c.log.Error("spool: the server refused an event; kept in "+spoolRejected, "err", cause)
	return f.Sync()
}

// Flush waits until every event spooled before the call was acknowledged
// by the server. Without a spool it returns at once.
func (c *Client) Flush(ctx context.Context) error {
	if c.spool == nil {
		return nil
	}
	return c.spool.flush(ctx)
}

// Close drains the spool (as Flush) and stops the sender. Events not
// delivered when ctx ends stay in the spool for the next start.
func (c *Client) Close(ctx context.Context) error {
	if c.spool == nil {
		return nil
	}
	ferr := c.spool.flush(ctx)
	return errors.Join(ferr, c.spool.close())
}
