package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/vigilhq/vigil/api"
)

// The sender reads durable records in spool order, posts them in batches
// of up to BatchLimit with up to cfg.inFlight batches at once, and
// advances the acknowledged offset over the longest run of batches, from
// the start, that the server has answered for. Nothing is forgotten
// before the server's answer: a batch that fails is retried, with
// backoff, for as long as the client runs.

const batchPath = "/api/v1/events/batch"

// maxSenderBackoff bounds the wait between attempts to deliver a batch.
const maxSenderBackoff = 30 * time.Second

// record is one spooled event on its way to the server.
type record struct {
	payload  []byte
	done     bool // stored, or set aside as refused: not to be sent again
	rejected bool
}

func rejectedIn(b *batch) int64 {
	var n int64
	for _, r := range b.recs {
		if r.rejected {
			n++
		}
	}
	return n
}

// batch is a run of records in the spool, up to end.
type batch struct {
	end      int64
	recs     []*record
	answered bool
}

func (s *spool) sender() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-s.stop; cancel() }()
	r := newSegReader(s.dir)
	slots := make(chan struct{}, s.cfg.inFlight)
	var workers sync.WaitGroup
	defer func() {
		cancel()
		workers.Wait() // an unanswered batch stays spooled for the next start
		r.close()
	}()
	s.mu.Lock()
	pos := s.acked
	s.mu.Unlock()
	for {
		s.mu.Lock()
		durable := s.durable
		s.mu.Unlock()
		if pos >= durable {
			select {
			case <-s.ready:
				continue
			case <-s.stop:
				return
			}
		}
		select {
		case slots <- struct{}{}:
		case <-s.stop:
			return
		}
		b := s.readBatch(r, pos, durable)
		pos = b.end
		s.ackMu.Lock()
		s.inflight = append(s.inflight, b)
		s.ackMu.Unlock()
		if len(b.recs) == 0 { // only damaged records, skipped
			<-slots
			s.answered(b)
			continue
		}
		workers.Add(1)
		go func() {
			defer workers.Done()
			defer func() { <-slots }()
			s.deliver(ctx, b)
		}()
	}
}

// readBatch reads up to BatchLimit records from pos, not past durable.
// A damaged record (only disk corruption can damage one that was durable)
// cannot be resynchronised past, as records have no markers: the rest of
// its segment is skipped and logged, and never sent.
func (s *spool) readBatch(r *segReader, pos, durable int64) *batch {
	b := &batch{}
	for len(b.recs) < BatchLimit && pos < durable {
		base, end := s.segmentAt(pos, durable)
		if pos < base {
			pos = base
			continue
		}
		err := r.reset(base, pos, end)
		for err == nil && len(b.recs) < BatchLimit && pos < end {
			var p []byte
			if p, err = r.next(); err == nil {
				pos += recordHeader + int64(len(p))
				b.recs = append(b.recs, &record{payload: p})
			}
		}
		if err != nil {
			s.c.log.Error("vigil client: spool: skipping damaged records; they are not sent",
				"segment", segName(base), "at", pos-base, "bytes", end-pos, "err", err)
			s.mu.Lock()
			s.skipped += end - pos
			s.mu.Unlock()
			r.close()
			pos = end
		}
	}
	b.end = pos
	return b
}

// segmentAt returns the base of the segment holding pos and the offset
// its readable part ends at.
func (s *spool) segmentAt(pos, durable int64) (base, end int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].base > pos }) - 1
	if i < 0 {
		i = 0
	}
	if i == len(s.segs)-1 {
		return s.segs[i].base, durable
	}
	return s.segs[i].base, s.segs[i+1].base
}

// deliver sends a batch until the server answers for every record in it,
// or the spool stops.
func (s *spool) deliver(ctx context.Context, b *batch) {
	bo := RetryPolicy{Initial: s.c.retry.Initial, Max: maxSenderBackoff}
	for n := 1; ; n++ {
		a, err := s.post(ctx, b.recs)
		if err == nil {
			s.mu.Lock()
			s.lastErr = nil
			s.sent += int64(len(b.recs)) - rejectedIn(b)
			s.mu.Unlock()
			s.answered(b)
			return
		}
		if ctx.Err() != nil {
			return
		}
		wait := bo.backoff(n)
		if a.hasRetryAfter {
			wait = a.retryAfter
		}
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
		s.c.log.Warn("vigil client: spool: delivery failed; will retry", "events", len(b.recs), "in", wait, "err", err)
		if sleepCtx(ctx, wait) != nil {
			return
		}
	}
}

// post sends the records not yet done in one batch request. When the
// server refuses the batch's content (400, 409, 413, 422), it sets aside
// the events the answer names (a 422 or 409 names each by index), or else
// splits the batch in halves until the bad events are alone, so that one
// bad event never holds back the others. Any other failure is returned
// for deliver to retry.
func (s *spool) post(ctx context.Context, recs []*record) (answer, error) {
	var todo []*record
	for _, r := range recs {
		if !r.done {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return answer{}, nil
	}
	var body bytes.Buffer
	body.WriteString(`{"events":[`)
	for i, r := range todo {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(r.payload)
	}
	body.WriteString(`]}`)
	a, err := s.c.attempt(ctx, "POST", batchPath, nil, body.Bytes())
	if err == nil {
		var bs api.BatchStored
		if err := json.Unmarshal(a.body, &bs); err != nil || len(bs.Events) != len(todo) {
			return answer{}, fmt.Errorf("client: the server answered a batch of %d events with %d results (%v)", len(todo), len(bs.Events), err)
		}
		for _, r := range todo {
			r.done = true
		}
		return answer{}, nil
	}
	e, ok := errors.AsType[*Error](err)
	if !ok || !refusesContent(e) {
		return a, err
	}
	if len(todo) == 1 {
		return answer{}, s.reject(todo[0], e)
	}
	if bad := namedIndexes(e, len(todo)); len(bad) > 0 {
		for _, i := range bad {
			if err := s.reject(todo[i], e); err != nil {
				return answer{}, err
			}
		}
		return s.post(ctx, todo)
	}
	half := len(todo) / 2
	if a, err := s.post(ctx, todo[:half]); err != nil {
		return a, err
	}
	return s.post(ctx, todo[half:])
}

// answered marks a batch answered and moves the acknowledged offset over
// every answered batch at the front, then removes segments wholly behind
// it.
func (s *spool) answered(b *batch) {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	b.answered = true
	off := int64(-1)
	for len(s.inflight) > 0 && s.inflight[0].answered {
		off = s.inflight[0].end
		s.inflight = s.inflight[1:]
	}
	if off < 0 {
		return
	}
	if err := s.cursor.write(off); err != nil {
		// The events are delivered; a stale cursor only sends them again
		// after a restart, as duplicates the server recognises.
		s.c.log.Error("vigil client: spool: writing the cursor failed", "err", err)
	}
	s.mu.Lock()
	s.acked = off
	gone := s.dropAcked()
	caughtUp := s.acked == s.durable
	s.notify()
	s.mu.Unlock()
	s.remove(gone)
	if caughtUp {
		// Everything is delivered: let the flusher start a new segment
		// and so free the last one (rollIdle).
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// dropAcked takes the segments wholly behind the acknowledged offset out
// of the spool's list and returns them for remove. Called with mu held.
func (s *spool) dropAcked() []segment {
	var gone []segment
	for len(s.segs) > 1 && s.segs[1].base <= s.acked {
		gone = append(gone, s.segs[0])
		s.disk -= s.segs[0].size
		s.segs = s.segs[1:]
	}
	return gone
}

// remove deletes the files of delivered segments. A failure only leaves a
// file whose events a later start sends again, as duplicates.
func (s *spool) remove(gone []segment) {
	for _, g := range gone {
		if err := os.Remove(segPath(s.dir, g.base)); err != nil {
			s.c.log.Error("vigil client: spool: removing a delivered segment failed", "err", err)
		}
	}
}
