package backup

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// A chunk's plaintext: a JSON header line naming what it holds, then each
// record: a uvarint of flags (bit 0: the event's address is the
// connection's), its canonical leaf and its sealed fields (encryption at
// rest: ciphertext kept beside the leaf, not hashed), each as a uvarint
// length and the bytes. The tree hashes are not stored: restore
// recomputes them from the leaves, which is how it proves the tree.
// Format 1 held only the leaves; it is still read.
type chunkHeader struct {
	Format    string `json:"format"`
	Workspace string `json:"workspace"`
	First     int64  `json:"first"`
	Count     int64  `json:"count"`
}

// chunkRecord is what a chunk keeps of one log record.
type chunkRecord struct {
	Leaf             []byte
	Sealed           []byte
	IPFromConnection bool
}

const (
	chunkFormat   = "vigil-backup-chunk/2"
	chunkFormatV1 = "vigil-backup-chunk/1"
)

// maxLeaf bounds a leaf (or its sealed fields) read back, far above any
// event the API accepts.
const maxLeaf = 16 << 20

func writeChunk(w io.Writer, workspace string, first int64, recs []chunkRecord) error {
	h, err := json.Marshal(chunkHeader{Format: chunkFormat, Workspace: workspace, First: first, Count: int64(len(recs))})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(h)
	bw.WriteByte('\n')
	var n [binary.MaxVarintLen64]byte
	for _, r := range recs {
		var flags uint64
		if r.IPFromConnection {
			flags = 1
		}
		bw.Write(n[:binary.PutUvarint(n[:], flags)])
		for _, b := range [][]byte{r.Leaf, r.Sealed} {
			bw.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
			bw.Write(b)
		}
	}
	return bw.Flush()
}

// readChunk reads a chunk's plaintext and checks it holds what the
// manifest says.
func readChunk(r io.Reader, workspace string, c Chunk) ([]chunkRecord, error) {
	br := bufio.NewReader(r)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	var h chunkHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, fmt.Errorf("the header does not parse: %w", err)
	}
	if (h.Format != chunkFormat && h.Format != chunkFormatV1) || h.Workspace != workspace || h.First != c.First || h.Count != c.Count {
		return nil, fmt.Errorf("it holds %s events [%d, %d) of %q, the manifest says [%d, %d) of %q",
			h.Format, h.First, h.First+h.Count, h.Workspace, c.First, c.First+c.Count, workspace)
	}
	bytesOf := func(what string) ([]byte, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, noEOF(err)
		}
		if n > maxLeaf {
			return nil, fmt.Errorf("%s of %d bytes", what, n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, noEOF(err)
		}
		return b, nil
	}
	recs := make([]chunkRecord, 0, h.Count)
	for range h.Count {
		seq := c.First + int64(len(recs))
		var rec chunkRecord
		if h.Format == chunkFormat {
			flags, err := binary.ReadUvarint(br)
			if err != nil {
				return nil, fmt.Errorf("record %d: %w", seq, noEOF(err))
			}
			if flags&^1 != 0 {
				return nil, fmt.Errorf("record %d: unknown flags %#x", seq, flags)
			}
			rec.IPFromConnection = flags&1 != 0
		}
		if rec.Leaf, err = bytesOf("a leaf"); err != nil {
			return nil, fmt.Errorf("record %d: %w", seq, err)
		}
		if h.Format == chunkFormat {
			if rec.Sealed, err = bytesOf("sealed fields"); err != nil {
				return nil, fmt.Errorf("record %d: %w", seq, err)
			}
			if len(rec.Sealed) == 0 {
				rec.Sealed = nil
			}
		}
		recs = append(recs, rec)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, errors.New("bytes after the last record")
		}
		return nil, err
	}
	return recs, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
