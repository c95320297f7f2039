package filelog

import (
	"encoding/binary"
	"errors"
	"hash/crc32"

	"github.com/vigilhq/vigil"
)

// magic opens every segment: the format's name and version, so a file
// that is not a segment of this format is refused instead of read as one.
const magic = "VIGILOG1"

// headerSize is the size of a segment's header, magic.
const headerSize = int64(len(magic))

// A record is one frame:
//
//	uint32 length of the payload (little endian)
//	uint32 CRC-32C of the length's four bytes and the payload
//	payload:
//	  uint32 the frame's offset from the start of its group
//	  uint32 the length of the group (all its frames)
//	  uint64 the position of the workspace's previous record (0 for sequence 0)
//	  uvarint sequence
//	  uvarint flags (bit 0: the event's address is the connection's;
//	          bit 1: a sealed payload follows the hashes)
//	  uvarint length, workspace
//	  uvarint length, leaf
//	  uvarint count, hashes (32 bytes each)
//	  uvarint length, sealed payload (only with flag bit 1: a sealed event)
//
// One Append is one group, written with one write: the group fields let
// Open tell the group a crash interrupted (every damaged byte lies in the
// last group, which was never acknowledged) from damage to acknowledged
// records (a good record of a later group follows it). The previous
// record's position chains each workspace's records backwards, so a read
// steps from an indexed record to the one it wants without scanning the
// records of other workspaces in between.
const (
	frameHeader  = 8
	fixedPayload = 16
	// maxPayload bounds one record, so that a damaged length is not
	// taken for a record of gigabytes. An event is at most a few hundred
	// KiB (vigil.MaxEventBytes and its targets); this leaves room.
	maxPayload = 64 << 20
	// maxGroup bounds one Append, as the group fields are 32 bits.
	maxGroup = 1 << 30
)

// The record's flags.
const (
	flagIPFromConnection = 1 << iota
	flagSealed
	knownFlags = flagIPFromConnection | flagSealed
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errShort is a frame cut by the end of the data: a torn write, or more
// data is needed.
var errShort = errors.New("the record is cut short")

// errBadFrame is a frame whose checksum or structure is wrong.
var errBadFrame = errors.New("the record's checksum or structure is wrong")

// pos is a record's place: its segment's number and its offset in it.
type pos uint64

func at(seg int, off int64) pos { return pos(uint64(seg)<<40 | uint64(off)) }
func (p pos) seg() int          { return int(p >> 40) }
func (p pos) off() int64        { return int64(p & (1<<40 - 1)) }

// frame is a decoded record; its byte slices point into the buffer it
// was decoded from.
type frame struct {
	size     int64 // of the whole frame
	inGroup  uint32
	groupLen uint32
	prev     pos
	seq      int64
	ws       []byte
	leaf     []byte
	hashes   []byte
	sealed   []byte
	flags    uint64
}

// encodedSize is the size of a record's frame.
func encodedSize(r *vigil.LogRecord) int {
	n := frameHeader + fixedPayload + binary.MaxVarintLen64*5
	return n + len(r.Workspace) + len(r.Leaf) + 32*len(r.Hashes) + len(r.Sealed)
}

// appendFrame appends a record's frame to buf with the group fields and
// the checksum left to sealGroup.
func appendFrame(buf []byte, r *vigil.LogRecord, inGroup uint32, prev pos) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, frameHeader)...)
	buf = binary.LittleEndian.AppendUint32(buf, inGroup)
	buf = binary.LittleEndian.AppendUint32(buf, 0)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(prev))
	buf = binary.AppendUvarint(buf, uint64(r.Sequence))
	var flags uint64
	if r.IPFromConnection {
		flags |= flagIPFromConnection
	}
	if r.Sealed != nil {
		flags |= flagSealed
	}
	buf = binary.AppendUvarint(buf, flags)
	buf = binary.AppendUvarint(buf, uint64(len(r.Workspace)))
	buf = append(buf, r.Workspace...)
	buf = binary.AppendUvarint(buf, uint64(len(r.Leaf)))
	buf = append(buf, r.Leaf...)
	buf = binary.AppendUvarint(buf, uint64(len(r.Hashes)))
	for _, h := range r.Hashes {
		buf = append(buf, h[:]...)
	}
	if r.Sealed != nil {
		buf = binary.AppendUvarint(buf, uint64(len(r.Sealed)))
		buf = append(buf, r.Sealed...)
	}
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(buf)-start-frameHeader))
	return buf
}

// sealGroup writes the group's length into each of its frames, which
// start at the given offsets of group, and their checksums.
func sealGroup(group []byte, starts []int) {
	for _, s := range starts {
		n := binary.LittleEndian.Uint32(group[s:])
		binary.LittleEndian.PutUint32(group[s+frameHeader+4:], uint32(len(group)))
		c := crc32.Update(crc32.Checksum(group[s:s+4], castagnoli), castagnoli, group[s+frameHeader:s+frameHeader+int(n)])
		binary.LittleEndian.PutUint32(group[s+4:], c)
	}
}

// frameLen reads the length of the frame at the start of b: errShort
// when b holds less than its header, errBadFrame when the length cannot
// be a record's.
func frameLen(b []byte) (int64, error) {
	if len(b) < frameHeader {
		return 0, errShort
	}
	n := binary.LittleEndian.Uint32(b)
	if n < fixedPayload+4 || n > maxPayload {
		return 0, errBadFrame
	}
	return frameHeader + int64(n), nil
}

// decodeFrame decodes the frame at the start of b.
func decodeFrame(b []byte) (frame, error) {
	size, err := frameLen(b)
	if err != nil {
		return frame{}, err
	}
	if int64(len(b)) < size {
		return frame{}, errShort
	}
	b = b[:size]
	if crc32.Update(crc32.Checksum(b[:4], castagnoli), castagnoli, b[frameHeader:]) != binary.LittleEndian.Uint32(b[4:]) {
		return frame{}, errBadFrame
	}
	p := b[frameHeader:]
	f := frame{
		size:     size,
		inGroup:  binary.LittleEndian.Uint32(p),
		groupLen: binary.LittleEndian.Uint32(p[4:]),
		prev:     pos(binary.LittleEndian.Uint64(p[8:])),
	}
	p = p[fixedPayload:]
	seq, p, ok := uvarint(p)
	if !ok || seq > 1<<62 {
		return frame{}, errBadFrame
	}
	f.seq = int64(seq)
	if f.flags, p, ok = uvarint(p); !ok || f.flags&^knownFlags != 0 {
		return frame{}, errBadFrame
	}
	if f.ws, p, ok = bytesField(p, 1); !ok || len(f.ws) == 0 {
		return frame{}, errBadFrame
	}
	if f.leaf, p, ok = bytesField(p, 1); !ok {
		return frame{}, errBadFrame
	}
	if f.hashes, p, ok = bytesField(p, 32); !ok || len(f.hashes) == 0 {
		return frame{}, errBadFrame
	}
	if f.flags&flagSealed != 0 {
		if f.sealed, p, ok = bytesField(p, 1); !ok || len(f.sealed) == 0 {
			return frame{}, errBadFrame
		}
	}
	if len(p) != 0 {
		return frame{}, errBadFrame
	}
	if int64(f.inGroup)+size > int64(f.groupLen) {
		return frame{}, errBadFrame
	}
	return f, nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

// bytesField reads a count and count*unit bytes.
func bytesField(b []byte, unit uint64) ([]byte, []byte, bool) {
	n, b, ok := uvarint(b)
	if !ok || n > uint64(len(b))/unit {
		return nil, nil, false
	}
	return b[:n*unit], b[n*unit:], true
}

// record copies a frame out as a LogRecord.
func (f *frame) record() vigil.LogRecord {
	r := vigil.LogRecord{Workspace: string(f.ws), Sequence: f.seq, Leaf: append([]byte(nil), f.leaf...),
		IPFromConnection: f.flags&flagIPFromConnection != 0}
	if f.flags&flagSealed != 0 {
		r.Sealed = append([]byte(nil), f.sealed...)
	}
	r.Hashes = make([]vigil.Hash, len(f.hashes)/32)
	for i := range r.Hashes {
		copy(r.Hashes[i][:], f.hashes[32*i:])
	}
	return r
}

// hash returns the frame's hash of the given level.
func (f *frame) hash(level int) (vigil.Hash, bool) {
	var h vigil.Hash
	if level < 0 || level >= len(f.hashes)/32 {
		return h, false
	}
	copy(h[:], f.hashes[32*level:])
	return h, true
}
