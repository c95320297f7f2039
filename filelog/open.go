package filelog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/vigilhq/vigil/internal/private"
)

var segmentFile = regexp.MustCompile(`^[0-9]{20}\.seg$`)

// load opens and reads every segment, creating the first of an empty log.
func (l *Log) load() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("filelog: %w", err)
	}
	var nums []int
	for _, e := range entries {
		if segmentFile.MatchString(e.Name()) {
			n, err := strconv.Atoi(e.Name()[:20])
			if err != nil {
				return fmt.Errorf("filelog: segment %s: %w", e.Name(), err)
			}
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for i, n := range nums {
		// Nothing removes a segment: a missing one is lost records.
		if n != i {
			return fmt.Errorf("filelog: %s: segment %s is missing (found %s)", l.dir, segmentName(i), segmentName(n))
		}
	}
	if len(nums) == 0 {
		if l.readOnly {
			return nil
		}
		return l.createSegment(0)
	}
	for i := range nums {
		if err := l.loadSegment(i, i == len(nums)-1); err != nil {
			return err
		}
	}
	return nil
}

// createSegment creates segment n with its header, durably: the file's
// bytes, then its name in the directory.
func (l *Log) createSegment(n int) (err error) {
	path := filepath.Join(l.dir, segmentName(n))
	w, err := private.Create(path)
	if err != nil {
		return fmt.Errorf("filelog: creating a segment: %w", err)
	}
	defer func() {
		if err != nil {
			w.Close()
			os.Remove(path)
		}
	}()
	if _, err = w.WriteAt([]byte(magic), 0); err != nil {
		return fmt.Errorf("filelog: writing a segment's header: %w", err)
	}
	if err = datasync(w); err != nil {
		return fmt.Errorf("filelog: flushing a new segment: %w", err)
	}
	if err = syncDir(l.dir); err != nil {
		return fmt.Errorf("filelog: flushing the directory after creating a segment: %w", err)
	}
	r, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("filelog: %w", err)
	}
	if l.w != nil {
		l.w.Close()
	}
	l.mu.Lock()
	l.segs = append(l.segs, r)
	l.bytes += headerSize
	l.mu.Unlock()
	l.w, l.size = w, headerSize
	return nil
}

// corrupt is the error of damage Open does not repair.
func (l *Log) corrupt(seg int, off int64, format string, args ...any) error {
	return fmt.Errorf("filelog: %s at offset %d: %s: the log is damaged where records were acknowledged; restore it from a backup",
		filepath.Join(l.dir, segmentName(seg)), off, fmt.Sprintf(format, args...))
}

// undo is what a group being read changed in one workspace's index, to
// take back if the group turns out torn.
type undo struct {
	name  string
	w     *wsIndex
	was   wsIndex
	fresh bool
}

// loadSegment reads segment n into the index. Every group must be
// whole, except at the end of the last segment: see tornTail.
func (l *Log) loadSegment(n int, last bool) error {
	path := filepath.Join(l.dir, segmentName(n))
	if err := l.tighten(path); err != nil {
		return err
	}
	r, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("filelog: %w", err)
	}
	l.segs = append(l.segs, r)
	if last && !l.readOnly {
		if l.w, err = os.OpenFile(path, os.O_WRONLY, 0); err != nil {
			return fmt.Errorf("filelog: %w", err)
		}
	}
	fi, err := r.Stat()
	if err != nil {
		return fmt.Errorf("filelog: %w", err)
	}
	size := fi.Size()
	if size < headerSize {
		if !last {
			return l.corrupt(n, 0, "the segment is shorter than its header")
		}
		// The crash came while the segment was being created: it
		// holds no record. (Or, read beside the writer, it is being
		// created now.)
		if l.readOnly {
			l.bytes += size
			return nil
		}
		l.log.Warn("filelog: completing the header of a segment cut short", "segment", path, "bytes", size)
		if err := l.w.Truncate(0); err != nil {
			return fmt.Errorf("filelog: %w", err)
		}
		if _, err := l.w.WriteAt([]byte(magic), 0); err != nil {
			return fmt.Errorf("filelog: %w", err)
		}
		if err := datasync(l.w); err != nil {
			return fmt.Errorf("filelog: %w", err)
		}
		l.size, l.bytes = headerSize, l.bytes+headerSize
		return nil
	}
	head := make([]byte, headerSize)
	if _, err := r.ReadAt(head, 0); err != nil {
		return fmt.Errorf("filelog: %w", err)
	}
	if string(head) != magic {
		return l.corrupt(n, 0, "the file does not start as a segment of this format (%q)", head)
	}

	br := bufio.NewReaderSize(io.NewSectionReader(r, headerSize, size-headerSize), 1<<20)
	var (
		buf        []byte
		off        = headerSize
		groupStart = headerSize
		groupEnd   = int64(-1) // no group open
		undos      []undo
		group      int64 // numbers groups, to undo each workspace once
	)
	for off < size {
		damage := func(why error) error {
			if !last {
				return l.corrupt(n, off, "%v", why)
			}
			if groupEnd < 0 {
				groupStart = off
			}
			return l.tornTail(n, r, off, groupStart, size, why, undos)
		}
		hdr, _ := br.Peek(frameHeader)
		fsize, err := frameLen(hdr)
		if err != nil {
			return damage(err)
		}
		if off+fsize > size {
			return damage(errShort)
		}
		if int64(cap(buf)) < fsize {
			buf = make([]byte, fsize)
		}
		buf = buf[:fsize]
		if _, err := io.ReadFull(br, buf); err != nil {
			return fmt.Errorf("filelog: reading %s: %w", path, err)
		}
		f, err := decodeFrame(buf)
		if err != nil {
			return damage(err)
		}
		if groupEnd < 0 {
			if f.inGroup != 0 {
				return damage(fmt.Errorf("a group starts with its frame at %d", f.inGroup))
			}
			groupStart, groupEnd = off, off+int64(f.groupLen)
			group++
		} else if int64(f.inGroup) != off-groupStart || int64(f.groupLen) != groupEnd-groupStart {
			return damage(fmt.Errorf("the record does not continue its group"))
		}

		name := string(f.ws)
		w, ok := l.ws[name]
		if !ok {
			w = &wsIndex{loaded: group}
			l.ws[name] = w
			undos = append(undos, undo{name: name, w: w, fresh: true})
		} else if w.loaded != group {
			undos = append(undos, undo{name: name, w: w, was: *w})
			w.loaded = group
		}
		if f.seq != w.head || (f.seq > 0 && f.prev != w.last) {
			// A whole record with the right checksum in the wrong
			// place is no torn write: refuse it.
			return l.corrupt(n, off, "record %d of workspace %q follows %d records (chained to %d/%d, the last is at %d/%d)",
				f.seq, name, w.head, f.prev.seg(), f.prev.off(), w.last.seg(), w.last.off())
		}
		w.add(f.seq, at(n, off))
		off += f.size
		if off == groupEnd {
			groupEnd, undos = -1, undos[:0] // whole: nothing to take back
		}
	}
	if groupEnd >= 0 {
		if !last {
			return l.corrupt(n, groupStart, "the segment ends inside a group")
		}
		return l.tornTail(n, r, off, groupStart, size, errShort, undos)
	}
	l.bytes += size
	if last {
		l.size = size
	}
	return nil
}

// tornTail handles damage found at offset bad of the last segment, in
// the group starting at groupStart. A crash while a group was being
// written (before its flush, so before it was acknowledged) leaves any
// mixture of its bytes, zeros and nothing from groupStart on, and no
// later group, since the next Append starts only after the flush. So if
// no whole record of another group follows, the tail from groupStart
// is that group, and it is cut; otherwise acknowledged records follow
// the damage, and Open refuses.
func (l *Log) tornTail(n int, r *os.File, bad, groupStart, size int64, why error, undos []undo) error {
	rest := make([]byte, max(0, size-bad-1))
	if len(rest) > 0 {
		if _, err := r.ReadAt(rest, bad+1); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("filelog: %w", err)
		}
	}
	for q := 0; q+frameHeader <= len(rest); q++ {
		f, err := decodeFrame(rest[q:])
		if err != nil {
			continue
		}
		if start := bad + 1 + int64(q) - int64(f.inGroup); start != groupStart {
			return l.corrupt(n, bad, "%v, and a whole record of a later group follows at offset %d", why, bad+1+int64(q))
		}
	}
	for i := len(undos) - 1; i >= 0; i-- {
		u := undos[i]
		if u.fresh {
			delete(l.ws, u.name)
		} else {
			*u.w = u.was
		}
	}
	if l.readOnly {
		// Beside the writer, the tail is the group being written: the
		// log ends before it.
		l.bytes += groupStart
		return nil
	}
	path := filepath.Join(l.dir, segmentName(n))
	l.log.Warn("filelog: cut a torn tail: the group a crash interrupted, never acknowledged",
		"segment", path, "offset", groupStart, "bytes", size-groupStart, "damage_at", bad, "damage", why.Error())
	if err := l.w.Truncate(groupStart); err != nil {
		return fmt.Errorf("filelog: cutting the torn tail of %s: %w", path, err)
	}
	if err := datasync(l.w); err != nil {
		return fmt.Errorf("filelog: cutting the torn tail of %s: %w", path, err)
	}
	l.bytes += groupStart
	l.size = groupStart
	return nil
}
