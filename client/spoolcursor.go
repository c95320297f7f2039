package client

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"time"
)

// cursor is the durable record of how far the server acknowledged the
// spool: a logical offset. It has two 32-byte slots written in turn, each
//
//	4 bytes "VGLC" | 8 bytes sequence | 8 bytes offset | 4 bytes CRC-32C of the 20 before | 8 zero bytes
//
// and the valid slot with the higher sequence wins, so a write torn by a
// crash damages only the slot being written and the other still stands.
//
// The cursor is written after every acknowledged batch but fsync'd at
// most every cursorSyncEvery (and at Close): a cursor that lags only
// makes the next start send some acknowledged events again, which the
// server answers as duplicates of their idempotency keys. A process crash
// loses nothing written (the page cache survives it); only a machine
// crash can lose the last interval's cursor writes.
type cursor struct {
	f        *os.File
	seq      uint64
	lastSync time.Time
	dirty    bool
}

const (
	cursorSlot      = 32
	cursorMagic     = "VGLC"
	cursorSyncEvery = 200 * time.Millisecond
)

// openCursor opens the cursor file, returning the offset it holds, or -1
// when it holds none (a new spool, or both slots damaged: then the spool
// sends everything it still has).
func openCursor(path string) (*cursor, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, err
	}
	var b [2 * cursorSlot]byte
	if _, err := f.ReadAt(b[:], 0); err != nil && err != io.EOF {
		f.Close()
		return nil, 0, err
	}
	c := &cursor{f: f}
	off := int64(-1)
	for i := range 2 {
		s := b[i*cursorSlot : (i+1)*cursorSlot]
		if string(s[:4]) != cursorMagic || crc32.Checksum(s[:20], castagnoli) != binary.BigEndian.Uint32(s[20:24]) {
			continue
		}
		if seq := binary.BigEndian.Uint64(s[4:12]); off < 0 || seq > c.seq {
			c.seq, off = seq, int64(binary.BigEndian.Uint64(s[12:20]))
		}
	}
	return c, off, nil
}

// write records off, fsyncing if the last fsync is older than
// cursorSyncEvery.
func (c *cursor) write(off int64) error {
	c.seq++
	var s [cursorSlot]byte
	copy(s[:4], cursorMagic)
	binary.BigEndian.PutUint64(s[4:12], c.seq)
	binary.BigEndian.PutUint64(s[12:20], uint64(off))
	binary.BigEndian.PutUint32(s[20:24], crc32.Checksum(s[:20], castagnoli))
	if _, err := c.f.WriteAt(s[:], int64(c.seq%2)*cursorSlot); err != nil {
		return err
	}
	c.dirty = true
	if time.Since(c.lastSync) >= cursorSyncEvery {
		return c.sync()
	}
	return nil
}

func (c *cursor) sync() error {
	if !c.dirty {
		return nil
	}
	if err := c.f.Sync(); err != nil {
		return err
	}
	c.dirty, c.lastSync = false, time.Now()
	return nil
}

func (c *cursor) close() error {
	return errors.Join(c.sync(), c.f.Close())
}
