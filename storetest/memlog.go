package storetest

import (
	"context"
	"sync"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// MemoryLog is the reference implementation of vigil.LogStorage, in
// memory: what the seam means, with none of a backend's machinery. It
// passes RunLogStorage; tests of the engine use it where what they check
// is the engine and not durability. Reopen returns the same records, as
// if the storage had been closed and opened again.
type MemoryLog struct {
	mu     sync.RWMutex
	closed bool
	logs   map[string][]vigil.LogRecord
	// FailAppend, when set, is returned by Append instead of storing
	// (a storage failure, for tests of what the engine does then).
	FailAppend error
}

// NewMemoryLog returns an empty log.
func NewMemoryLog() *MemoryLog { return &MemoryLog{logs: map[string][]vigil.LogRecord{}} }

// Reopen returns a storage over the same records, open.
func (m *MemoryLog) Reopen() *MemoryLog {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return &MemoryLog{logs: m.logs}
}

// Heads implements vigil.LogStorage.
func (m *MemoryLog) Heads(ctx context.Context) (map[string]int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[string]int64{}
	for ws, recs := range m.logs {
		if len(recs) > 0 {
			out[ws] = int64(len(recs))
		}
	}
	return out, nil
}

// Append implements vigil.LogStorage.
func (m *MemoryLog) Append(ctx context.Context, records []vigil.LogRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return vigil.Errorf(vigil.EUNAVAILABLE, "the log is closed")
	}
	if m.FailAppend != nil {
		return m.FailAppend
	}
	next := map[string]int64{}
	for _, r := range records {
		n, ok := next[r.Workspace]
		if !ok {
			n = int64(len(m.logs[r.Workspace]))
		}
		if r.Sequence != n {
			return vigil.Errorf(vigil.ECONFLICT, "record %d of %s does not continue its log at %d", r.Sequence, r.Workspace, n)
		}
		next[r.Workspace] = n + 1
	}
	for _, r := range records {
		r.Leaf = append([]byte(nil), r.Leaf...)
		r.Hashes = append([]vigil.Hash(nil), r.Hashes...)
		m.logs[r.Workspace] = append(m.logs[r.Workspace], r)
	}
	return nil
}

// Read implements vigil.LogStorage.
func (m *MemoryLog) Read(ctx context.Context, workspace string, from int64, limit int) ([]vigil.LogRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	recs := m.logs[workspace]
	if from < 0 || from >= int64(len(recs)) || limit <= 0 {
		return nil, nil
	}
	to := min(int64(len(recs)), from+int64(limit))
	return append([]vigil.LogRecord(nil), recs[from:to]...), nil
}

// ReadHashes implements vigil.LogStorage.
func (m *MemoryLog) ReadHashes(ctx context.Context, workspace string, indexes []int64) ([]vigil.Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	recs := m.logs[workspace]
	out := make([]vigil.Hash, len(indexes))
	for i, idx := range indexes {
		level, k := tlog.SplitStoredHashIndex(idx)
		seq := (k+1)<<level - 1
		if seq >= int64(len(recs)) || level >= len(recs[seq].Hashes) {
			return nil, vigil.Errorf(vigil.ENOTFOUND, "no stored hash at %d in %s", idx, workspace)
		}
		out[i] = recs[seq].Hashes[level]
	}
	return out, nil
}

// Close implements vigil.LogStorage.
func (m *MemoryLog) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
