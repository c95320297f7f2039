package filelog

import (
	"context"
	"fmt"
	"math/bits"

	"github.com/vigilhq/vigil"
)

// tail is a workspace's end while a group is being encoded.
type tail struct {
	head int64
	last pos
}

// Append writes the records as one group: checked against the heads
// (ECONFLICT, nothing written), encoded into one buffer, written with one
// write at the end of the last segment and flushed with one fdatasync.
// Readers see the group only after the flush. A failed write is cut off
// again and leaves the log usable; a failed flush leaves the file's state
// unknown (the kernel may have dropped the pages it could not write), so
// the log refuses every later Append until it is reopened, and Open's
// reading decides what survived: all of the group or none of it.
func (l *Log) Append(ctx context.Context, records []vigil.LogRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(records) == 0 {
		return nil
	}
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if l.closed {
		return errClosed()
	}
	if l.readOnly {
		return vigil.Errorf(vigil.EUNAVAILABLE, "the event log was opened read-only, beside the process that writes it")
	}
	if l.failed != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "the event log failed to flush a write and must be reopened", Err: l.failed}
	}

	// Check the whole call before encoding any of it. Only Append
	// changes the index, under writeMu, so it is read here without mu.
	tails := make(map[string]tail, 1)
	total := 0
	for i := range records {
		r := &records[i]
		if r.Workspace == "" {
			return vigil.Errorf(vigil.EINVALID, "record %d has no workspace", i)
		}
		t, ok := tails[r.Workspace]
		if !ok {
			if w := l.ws[r.Workspace]; w != nil {
				t = tail{w.head, w.last}
			}
		}
		if r.Sequence != t.head {
			return vigil.Errorf(vigil.ECONFLICT, "record %d: the log of workspace %q continues at sequence %d, not %d", i, r.Workspace, t.head, r.Sequence)
		}
		// The hashes a leaf completes: its own, and one per complete
		// subtree it ends, which ReadHashes finds at Hashes[level].
		if want := 1 + bits.TrailingZeros64(uint64(r.Sequence)+1); len(r.Hashes) != want {
			return vigil.Errorf(vigil.EINVALID, "record %d (%s/%d) has %d tree hashes, want %d", i, r.Workspace, r.Sequence, len(r.Hashes), want)
		}
		n := encodedSize(r)
		if n-frameHeader > maxPayload {
			return vigil.Errorf(vigil.ETOOLARGE, "record %d (%s/%d) is %d bytes, more than the log's %d", i, r.Workspace, r.Sequence, n, maxPayload)
		}
		if total += n; total > maxGroup {
			return vigil.Errorf(vigil.ETOOLARGE, "the records of one Append exceed the log's %d bytes", maxGroup)
		}
		t.head++
		tails[r.Workspace] = t
	}

	if l.size >= l.opts.SegmentBytes && l.size > headerSize {
		if err := l.createSegment(len(l.segs)); err != nil {
			return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "the event log could not start a new segment", Err: err}
		}
	}

	// Encode, chaining each record to its workspace's previous one.
	seg, start := len(l.segs)-1, l.size
	if cap(l.buf) < total || cap(l.buf) > 4*total+(4<<20) {
		l.buf = make([]byte, 0, total) // grown to fit, or shrunk after a huge group
	}
	buf := l.buf[:0]
	starts := make([]int, len(records))
	places := make([]pos, len(records))
	clear(tails)
	for i := range records {
		r := &records[i]
		t, ok := tails[r.Workspace]
		if !ok {
			if w := l.ws[r.Workspace]; w != nil {
				t = tail{w.head, w.last}
			}
		}
		starts[i], places[i] = len(buf), at(seg, start+int64(len(buf)))
		buf = appendFrame(buf, r, uint32(len(buf)), t.last)
		tails[r.Workspace] = tail{t.head + 1, places[i]}
	}
	sealGroup(buf, starts)
	l.buf = buf

	if _, err := l.w.WriteAt(buf, start); err != nil {
		// Nothing was acknowledged: take back what reached the file,
		// so the log goes on (a disk that was full may have room again).
		if terr := l.w.Truncate(start); terr != nil {
			l.failed = fmt.Errorf("%w; cutting it off again: %w", err, terr)
		}
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "the event log could not write", Err: err}
	}
	if err := datasync(l.w); err != nil {
		l.failed = err
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "the event log could not flush a write", Err: err}
	}

	// Durable: publish.
	l.mu.Lock()
	for i := range records {
		r := &records[i]
		w := l.ws[r.Workspace]
		if w == nil {
			w = &wsIndex{}
			l.ws[r.Workspace] = w
		}
		w.add(r.Sequence, places[i])
	}
	l.size += int64(len(buf))
	l.bytes += int64(len(buf))
	l.mu.Unlock()
	return nil
}
