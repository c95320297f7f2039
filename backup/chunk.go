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
// record's canonical leaf as a uvarint length and its bytes. The tree
// hashes are not stored: restore recomputes them from the leaves, which is
// how it proves the tree.
type chunkHeader struct {
	Format    string `json:"format"`
	Workspace string `json:"workspace"`
	First     int64  `json:"first"`
	Count     int64  `json:"count"`
}

const chunkFormat = "vigil-backup-chunk/1"

// maxLeaf bounds a leaf read back, far above any event the API accepts.
const maxLeaf = 16 << 20

func writeChunk(w io.Writer, workspace string, first int64, leaves [][]byte) error {
	h, err := json.Marshal(chunkHeader{Format: chunkFormat, Workspace: workspace, First: first, Count: int64(len(leaves))})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(h)
	bw.WriteByte('\n')
	var n [binary.MaxVarintLen64]byte
	for _, l := range leaves {
		bw.Write(n[:binary.PutUvarint(n[:], uint64(len(l)))])
		bw.Write(l)
	}
	return bw.Flush()
}

// readChunk reads a chunk's plaintext and checks it holds what the
// manifest says.
func readChunk(r io.Reader, workspace string, c Chunk) ([][]byte, error) {
	br := bufio.NewReader(r)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	var h chunkHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, fmt.Errorf("the header does not parse: %w", err)
	}
	if h.Format != chunkFormat || h.Workspace != workspace || h.First != c.First || h.Count != c.Count {
		return nil, fmt.Errorf("it holds %s events [%d, %d) of %q, the manifest says [%d, %d) of %q",
			h.Format, h.First, h.First+h.Count, h.Workspace, c.First, c.First+c.Count, workspace)
	}
	leaves := make([][]byte, 0, h.Count)
	for range h.Count {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", c.First+int64(len(leaves)), noEOF(err))
		}
		if n > maxLeaf {
			return nil, fmt.Errorf("record %d: a leaf of %d bytes", c.First+int64(len(leaves)), n)
		}
		l := make([]byte, n)
		if _, err := io.ReadFull(br, l); err != nil {
			return nil, fmt.Errorf("record %d: %w", c.First+int64(len(leaves)), noEOF(err))
		}
		leaves = append(leaves, l)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, errors.New("bytes after the last record")
		}
		return nil, err
	}
	return leaves, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
