package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// wsLog is the sequencer's memory of one workspace's log: its size and
// the right edge of the tree, so an append reads no hashes from storage.
type wsLog struct {
	size int64
	// edge[level] is the latest stored hash at that level, at index
	// edgeIndex[level]; tlog.StoredHashesForRecordHash reads only these.
	edge      [64]tlog.Hash
	edgeIndex [64]int64
	// lastCreated keeps created_at strictly increasing along the log even
	// if the wall clock steps back, so order in time is order in sequence.
	lastCreated time.Time
}

// loadLog reads the right edge of a log of size records and its last
// record's time.
func loadLog(ctx context.Context, log vigil.LogStorage, ws string, size int64) (*wsLog, error) {
	l := &wsLog{size: size}
	if size == 0 {
		return l, nil
	}
	var indexes []int64
	var levels []int
	for level := 0; level < 64 && size>>level > 0; level++ {
		indexes = append(indexes, tlog.StoredHashIndex(level, size>>level-1))
		levels = append(levels, level)
	}
	hashes, err := log.ReadHashes(ctx, ws, indexes)
	if err != nil {
		return nil, fmt.Errorf("engine: the right edge of %s's log: %w", ws, err)
	}
	for i, level := range levels {
		l.edge[level] = tlog.Hash(hashes[i])
		l.edgeIndex[level] = size>>level - 1
	}
	last, err := log.Read(ctx, ws, size-1, 1)
	if err != nil {
		return nil, err
	}
	if len(last) != 1 {
		return nil, fmt.Errorf("engine: %s's log has no record %d", ws, size-1)
	}
	e, err := ledger.ParseEvent(last[0].Leaf)
	if err != nil {
		return nil, fmt.Errorf("engine: %s's last record: %w", ws, err)
	}
	l.lastCreated = e.CreatedAt
	return l, nil
}

// ReadHashes serves tlog the right edge from memory. Appending a leaf
// reads only the edge, so anything else is a defect.
func (l *wsLog) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		level, k := tlog.SplitStoredHashIndex(idx)
		if l.size == 0 || l.edgeIndex[level] != k || l.size>>level <= k {
			return nil, fmt.Errorf("engine: stored hash %d is not on the right edge", idx)
		}
		out[i] = l.edge[level]
	}
	return out, nil
}

// append hashes the leaf of the next record into the edge and returns the
// stored hashes it completes.
func (l *wsLog) append(leaf []byte) ([]vigil.Hash, error) {
	hashes, err := tlog.StoredHashesForRecordHash(l.size, tlog.RecordHash(leaf), l)
	if err != nil {
		return nil, err
	}
	out := make([]vigil.Hash, len(hashes))
	for level, h := range hashes {
		l.edge[level] = h
		l.edgeIndex[level] = l.size >> level
		out[level] = vigil.Hash(h)
	}
	l.size++
	return out, nil
}
