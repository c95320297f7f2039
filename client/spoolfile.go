package client

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The spool's files. Events live in segments, each named by the logical
// offset of its first byte (20 decimal digits), so that offsets grow for
// ever across segments and restarts and the names sort in order. A
// segment is a sequence of records:
//
//	4 bytes  big-endian payload length
//	4 bytes  CRC-32C of the length bytes and the payload
//	n bytes  payload: the event as the API takes it (api.EventInput JSON)
//
// The CRC covers the length too, so a corrupt length is caught before it
// is trusted. A crash mid-write leaves at most a torn record at the end
// of the last segment; it fails its check and is cut off at start-up.
const (
	segSuffix    = ".seg"
	recordHeader = 8
	// maxRecord is far above the server's 256 KiB event limit; a longer
	// length can only be corruption.
	maxRecord = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errCorrupt = errors.New("corrupt record")

// appendRecord appends payload, framed, to buf.
func appendRecord(buf, payload []byte) []byte {
	var h [recordHeader]byte
	binary.BigEndian.PutUint32(h[:4], uint32(len(payload)))
	sum := crc32.Update(crc32.Checksum(h[:4], castagnoli), castagnoli, payload)
	binary.BigEndian.PutUint32(h[4:], sum)
	return append(append(buf, h[:]...), payload...)
}

// readRecord reads the next record: io.EOF at a clean end, errCorrupt
// (wrapping the cause) for a torn or damaged one.
func readRecord(r *bufio.Reader) ([]byte, error) {
	var h [recordHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w: torn header: %v", errCorrupt, err)
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n == 0 || n > maxRecord {
		return nil, fmt.Errorf("%w: length %d", errCorrupt, n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, fmt.Errorf("%w: torn payload: %v", errCorrupt, err)
	}
	if crc32.Update(crc32.Checksum(h[:4], castagnoli), castagnoli, p) != binary.BigEndian.Uint32(h[4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	return p, nil
}

// segment is one segment file: its first logical offset and its size.
type segment struct {
	base, size int64
}

func segName(base int64) string { return fmt.Sprintf("%020d%s", base, segSuffix) }

func segPath(dir string, base int64) string { return filepath.Join(dir, segName(base)) }

// listSegments returns the segments in dir, in order.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		base, err := strconv.ParseInt(name, 10, 64)
		if err != nil || base < 0 {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		segs = append(segs, segment{base: base, size: info.Size()})
	}
	slices.SortFunc(segs, func(a, b segment) int { return cmp.Compare(a.base, b.base) })
	return segs, nil
}

// validLength returns the length of the run of valid records at the
// start of a segment file.
func validLength(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var n int64
	for {
		p, err := readRecord(r)
		if err == io.EOF || errors.Is(err, errCorrupt) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		n += recordHeader + int64(len(p))
	}
}

// segReader reads records of one segment, never past a limit it is given:
// bytes past the durable offset may be mid-write, and a buffered reader
// must not see them.
type segReader struct {
	dir  string
	base int64 // the open segment's, or -1
	f    *os.File
	br   *bufio.Reader
}

func newSegReader(dir string) *segReader {
	return &segReader{dir: dir, base: -1, br: bufio.NewReaderSize(nil, 256<<10)}
}

// reset positions the reader at logical offset pos of the segment at
// base, to read up to logical offset limit.
func (r *segReader) reset(base, pos, limit int64) error {
	if r.base != base {
		r.close()
		f, err := os.Open(segPath(r.dir, base))
		if err != nil {
			return err
		}
		r.f, r.base = f, base
	}
	r.br.Reset(io.NewSectionReader(r.f, pos-base, limit-pos))
	return nil
}

func (r *segReader) next() ([]byte, error) { return readRecord(r.br) }

func (r *segReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f, r.base = nil, -1
	}
}
