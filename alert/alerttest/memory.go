// Package alerttest holds the reference implementation of alert.History
// over events in memory, and the conformance test every other
// implementation (the stores') runs to prove it answers the same.
package alerttest

import (
	"context"
	"sort"
	"sync"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
)

// Memory is an alert.History over events held in memory, one log per
// workspace in sequence order. It is the reference the conformance test
// compares stores with, and what tests and benchmarks of rules use.
type Memory struct {
	mu   sync.RWMutex
	logs map[string][]vigil.Event
}

// NewMemory returns a Memory holding events.
func NewMemory(events ...vigil.Event) *Memory {
	m := &Memory{logs: map[string][]vigil.Event{}}
	m.Add(events...)
	return m
}

// Add stores events. Each workspace's log is kept sorted by sequence, so
// events may come in any order; a look-up then scans only its window.
func (m *Memory) Add(events ...vigil.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range events {
		log := m.logs[e.Workspace]
		i := sort.Search(len(log), func(i int) bool { return log[i].Sequence > e.Sequence })
		log = append(log, vigil.Event{})
		copy(log[i+1:], log[i:])
		log[i] = e
		m.logs[e.Workspace] = log
	}
}

// scope yields the events of s, newest first, stopping at the first event
// older than s.Since (created_at increases with the sequence).
func (m *Memory) scope(s alert.Scope, yield func(*vigil.Event)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	log := m.logs[s.Workspace]
	end := sort.Search(len(log), func(i int) bool { return log[i].Sequence > s.Through })
	p := alert.NewPattern(s.Action)
	for i := end - 1; i >= 0; i-- {
		e := &log[i]
		if e.CreatedAt.Before(s.Since) {
			return
		}
		if s.Action == "" || p.Match(e.Action) {
			yield(e)
		}
	}
}

// Countries implements alert.History.
func (m *Memory) Countries(ctx context.Context, s alert.Scope, actorID string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	m.scope(s, func(e *vigil.Event) {
		if e.ActorID == actorID && e.IPCountry != "" && !seen[e.IPCountry] {
			seen[e.IPCountry] = true
			out = append(out, e.IPCountry)
		}
	})
	return out, nil
}

// Volume implements alert.History.
func (m *Memory) Volume(ctx context.Context, s alert.Scope, by alert.By, key string, what alert.Measure) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	type record struct{ typ, id string }
	patients := map[string]bool{}
	records := map[record]bool{}
	n := 0
	m.scope(s, func(e *vigil.Event) {
		k := e.ActorID
		if by == alert.BySession {
			k = e.SessionID
		}
		if k != key || k == "" {
			return
		}
		switch what {
		case alert.Patients:
			if e.PatientID != "" {
				patients[e.PatientID] = true
			}
		case alert.Records:
			if e.ResourceID != "" {
				records[record{e.Resource, e.ResourceID}] = true
			}
		default:
			n++
		}
	})
	return n + len(patients) + len(records), nil
}

// Failures implements alert.History.
func (m *Memory) Failures(ctx context.Context, s alert.Scope, actorID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	m.scope(s, func(e *vigil.Event) {
		if e.ActorID == actorID && e.Outcome != "" && e.Outcome != vigil.OutcomeSuccess {
			n++
		}
	})
	return n, nil
}
