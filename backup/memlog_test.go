package backup_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/storetest"
	"golang.org/x/mod/sumdb/tlog"
)

// memLog is the in-test vigil.LogStorage the backup tests run over until
// the segment-file backend lands: records and stored hashes in maps. It
// passes storetest.RunLogStorage (TestMemLogIsALogStorage), so the backup
// is tested against the seam's contract, not against this double's quirks.
type memLog struct {
	mu     sync.Mutex
	closed bool
	logs   map[string][]vigil.LogRecord
	hashes map[string]map[int64]vigil.Hash
}

func newMemLog() *memLog {
	return &memLog{logs: map[string][]vigil.LogRecord{}, hashes: map[string]map[int64]vigil.Hash{}}
}

func (m *memLog) Heads(ctx context.Context) (map[string]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int64{}
	for ws, recs := range m.logs {
		out[ws] = int64(len(recs))
	}
	return out, nil
}

func (m *memLog) Append(ctx context.Context, records []vigil.LogRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("memlog: closed")
	}
	next := map[string]int64{}
	for _, r := range records {
		n, ok := next[r.Workspace]
		if !ok {
			n = int64(len(m.logs[r.Workspace]))
		}
		if r.Sequence != n {
			return vigil.Errorf(vigil.ECONFLICT, "record %d of %q does not continue its log at %d", r.Sequence, r.Workspace, n)
		}
		next[r.Workspace] = n + 1
	}
	for _, r := range records {
		r.Leaf, r.Hashes = slices.Clone(r.Leaf), slices.Clone(r.Hashes)
		m.logs[r.Workspace] = append(m.logs[r.Workspace], r)
		if m.hashes[r.Workspace] == nil {
			m.hashes[r.Workspace] = map[int64]vigil.Hash{}
		}
		for l, h := range r.Hashes {
			m.hashes[r.Workspace][tlog.StoredHashIndex(0, r.Sequence)+int64(l)] = h
		}
	}
	return nil
}

func (m *memLog) Read(ctx context.Context, workspace string, from int64, limit int) ([]vigil.LogRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs := m.logs[workspace]
	if from < 0 || from > int64(len(recs)) {
		return nil, nil
	}
	end := min(int64(len(recs)), from+int64(limit))
	out := make([]vigil.LogRecord, 0, end-from)
	for _, r := range recs[from:end] {
		r.Leaf, r.Hashes = slices.Clone(r.Leaf), slices.Clone(r.Hashes)
		out = append(out, r)
	}
	return out, nil
}

func (m *memLog) ReadHashes(ctx context.Context, workspace string, indexes []int64) ([]vigil.Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]vigil.Hash, len(indexes))
	for i, idx := range indexes {
		h, ok := m.hashes[workspace][idx]
		if !ok {
			return nil, vigil.Errorf(vigil.ENOTFOUND, "no stored hash %d in %q", idx, workspace)
		}
		out[i] = h
	}
	return out, nil
}

func (m *memLog) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// reopen is the same storage after a Close, as a restart would find it.
func (m *memLog) reopen() *memLog {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &memLog{logs: m.logs, hashes: m.hashes}
}

func TestMemLogIsALogStorage(t *testing.T) {
	storetest.RunLogStorage(t, func(t *testing.T) func() vigil.LogStorage {
		var cur *memLog
		return func() vigil.LogStorage {
			if cur == nil {
				cur = newMemLog()
			} else {
				cur = cur.reopen()
			}
			return cur
		}
	})
}
