package filelog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// window is how much of a segment one read brings in: a workspace's
// previous record is usually close before the one read, so a walk back
// along the chain reads mostly from memory.
const window = 256 << 10

// reader walks one workspace's chain of records, reading segments with
// ReadAt into a window. It holds no lock: the index view and the segment
// list were copied under the log's lock, and the bytes they lead to were
// flushed before they were published and never change.
type reader struct {
	l    *Log
	name string
	v    view
	segs []*os.File

	win    []byte
	winSeg int
	winOff int64

	// The walk's place: the record of sequence seq is at p.
	seq   int64
	p     pos
	valid bool
}

// newReader returns a reader of workspace name, or nil if it has no
// record.
func (l *Log) newReader(name string) (*reader, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, errClosed()
	}
	w := l.ws[name]
	if w == nil {
		return nil, nil
	}
	return &reader{l: l, name: name, v: view{w.head, w.last, w.marks}, segs: l.segs, winSeg: -1}, nil
}

// frameAt decodes the frame at p; its slices are valid until the next
// call. walking says the walk goes on back from it, so a window of what
// precedes it is worth reading; otherwise only the frame is read.
func (r *reader) frameAt(p pos, walking bool) (frame, error) {
	seg, off := p.seg(), p.off()
	if seg >= len(r.segs) {
		return frame{}, r.damaged(p, errors.New("the index names a segment the log does not have"))
	}
	if seg == r.winSeg && off >= r.winOff && off < r.winOff+int64(len(r.win)) {
		f, err := decodeFrame(r.win[off-r.winOff:])
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, errShort) {
			return frame{}, r.damaged(p, err)
		}
	}
	// Read a window ending a little after the frame's start, for the
	// walk goes backwards; a frame longer than that is read whole.
	lo, size := max(headerSize, off+4096-window), window
	if !walking {
		lo, size = off, 4096
	}
	if cap(r.win) < window {
		r.win = make([]byte, window)
	}
	r.win = r.win[:size]
	n, err := r.segs[seg].ReadAt(r.win, lo)
	if err != nil && !errors.Is(err, io.EOF) {
		r.winSeg = -1
		return frame{}, r.failed(err)
	}
	r.win, r.winSeg, r.winOff = r.win[:n], seg, lo
	if off-lo >= int64(n) {
		return frame{}, r.damaged(p, errShort)
	}
	b := r.win[off-lo:]
	fsize, err := frameLen(b)
	if err != nil {
		return frame{}, r.damaged(p, err)
	}
	if int64(len(b)) < fsize {
		big := make([]byte, fsize)
		if _, err := r.segs[seg].ReadAt(big, off); err != nil {
			return frame{}, r.damaged(p, err)
		}
		b = big
	}
	f, err := decodeFrame(b)
	if err != nil {
		return frame{}, r.damaged(p, err)
	}
	return f, nil
}

func (r *reader) failed(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return errClosed()
	}
	return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "the event log could not be read", Err: err}
}

func (r *reader) damaged(p pos, err error) error {
	if errors.Is(err, os.ErrClosed) {
		return errClosed()
	}
	return &vigil.Error{Code: vigil.EINTERNAL, Message: "the event log is damaged",
		Err: fmt.Errorf("%s at offset %d: %w", filepath.Join(r.l.dir, segmentName(p.seg())), p.off(), err)}
}

// seek returns the frame of sequence seq, which must be below the head.
// Successive seeks to decreasing sequences continue one walk.
func (r *reader) seek(seq int64) (frame, error) {
	mseq, mp := r.v.locate(seq)
	if !r.valid || r.seq < seq || r.seq > mseq {
		r.seq, r.p, r.valid = mseq, mp, true
	}
	for {
		f, err := r.frameAt(r.p, r.seq != seq)
		if err != nil {
			r.valid = false
			return frame{}, err
		}
		if f.seq != r.seq || string(f.ws) != r.name {
			r.valid = false
			return frame{}, r.damaged(r.p, fmt.Errorf("the record is %s/%d where %s/%d was expected", f.ws, f.seq, r.name, r.seq))
		}
		if r.seq == seq {
			return f, nil
		}
		r.seq, r.p = r.seq-1, f.prev
	}
}

// Read returns up to limit records of a workspace from sequence from on.
func (l *Log) Read(ctx context.Context, workspace string, from int64, limit int) ([]vigil.LogRecord, error) {
	if from < 0 {
		return nil, vigil.Errorf(vigil.EINVALID, "a read starts at sequence %d, below 0", from)
	}
	r, err := l.newReader(workspace)
	if err != nil || r == nil || limit <= 0 || from >= r.v.head {
		return nil, err
	}
	n := r.v.head - from
	if int64(limit) < n {
		n = int64(limit)
	}
	out := make([]vigil.LogRecord, n)
	for i := n - 1; i >= 0; i-- {
		if i%markEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		f, err := r.seek(from + i)
		if err != nil {
			return nil, err
		}
		out[i] = f.record()
	}
	return out, nil
}

// ReadHashes returns the stored tree hashes at the given indexes: hash
// (level l, index k) is Hashes[l] of the record of sequence
// ((k+1)<<l)-1, the leaf that completed it.
func (l *Log) ReadHashes(ctx context.Context, workspace string, indexes []int64) ([]vigil.Hash, error) {
	r, err := l.newReader(workspace)
	if err != nil {
		return nil, err
	}
	type want struct {
		i     int
		seq   int64
		level int
	}
	wants := make([]want, len(indexes))
	for i, idx := range indexes {
		if idx < 0 {
			return nil, vigil.Errorf(vigil.ENOTFOUND, "no tree hash at index %d", idx)
		}
		level, k := tlog.SplitStoredHashIndex(idx)
		seq := ((k + 1) << level) - 1
		if r == nil || level > 62 || k >= 1<<(62-level) || seq >= r.v.head {
			return nil, vigil.Errorf(vigil.ENOTFOUND, "workspace %q has no tree hash at index %d", workspace, idx)
		}
		wants[i] = want{i, seq, level}
	}
	// Highest sequence first, so that hashes near each other share one
	// walk back.
	sort.Slice(wants, func(a, b int) bool { return wants[a].seq > wants[b].seq })
	out := make([]vigil.Hash, len(indexes))
	for n, w := range wants {
		if n%markEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		f, err := r.seek(w.seq)
		if err != nil {
			return nil, err
		}
		h, ok := f.hash(w.level)
		if !ok {
			return nil, r.damaged(r.p, fmt.Errorf("record %d holds no hash of level %d", w.seq, w.level))
		}
		out[w.i] = h
	}
	return out, nil
}
