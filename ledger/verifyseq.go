package ledger

import (
	"fmt"
	"sort"

	"github.com/vigilhq/vigil"
)

// seqRange is the sequences [from, to).
type seqRange struct{ from, to int64 }

// maxPending bounds the skipped ranges the verifier remembers: beyond it
// the oldest are reported missing at once, so memory stays bounded.
const maxPending = 1024

// sequence places an event by its sequence. Breaks about a line carry its
// place (the sequence it should have) and the id of the event found there. A sequence ahead of the one
// expected skips some, which are missing unless they turn up later (then
// they were reordered); one behind that was not skipped is a repeat.
func (v *verifier) sequence(e *vigil.Event, place int64) {
	s := e.Sequence
	switch {
	case s < v.h.From || s >= v.h.To:
		v.add(vigil.Break{Type: vigil.BreakModified, EventID: e.ID, Sequence: place,
			Detail: fmt.Sprintf("sequence %d is outside the bundle's range [%d, %d)", s, v.h.From, v.h.To)})
		v.next++ // it takes a place; which one is unknown
	case s == v.next:
		v.next++
	case s > v.next:
		v.pending = append(v.pending, seqRange{v.next, s})
		v.next = s + 1
		if len(v.pending) > maxPending {
			v.missing(v.pending[0])
			v.pending = v.pending[1:]
		}
	case v.takePending(s):
		v.add(vigil.Break{Type: vigil.BreakReordered, EventID: e.ID, Sequence: place,
			Detail: fmt.Sprintf("event %d found at place %d, after later events", s, place)})
	default:
		v.add(vigil.Break{Type: vigil.BreakReordered, EventID: e.ID, Sequence: place,
			Detail: fmt.Sprintf("event %d appears again at place %d", s, place)})
	}
}

// takePending removes s from the skipped ranges, reporting whether it was
// there.
func (v *verifier) takePending(s int64) bool {
	i := sort.Search(len(v.pending), func(i int) bool { return v.pending[i].to > s })
	if i == len(v.pending) || v.pending[i].from > s {
		return false
	}
	r := v.pending[i]
	switch {
	case r.from == s && r.to == s+1:
		v.pending = append(v.pending[:i], v.pending[i+1:]...)
	case r.from == s:
		v.pending[i].from++
	case r.to == s+1:
		v.pending[i].to--
	default:
		v.pending = append(v.pending[:i+1], v.pending[i:]...)
		v.pending[i].to = s
		v.pending[i+1].from = s + 1
	}
	return true
}

func (v *verifier) missing(r seqRange) {
	detail := fmt.Sprintf("no event with sequence %d", r.from)
	if r.to-r.from > 1 {
		detail = fmt.Sprintf("no events with sequences %d to %d", r.from, r.to-1)
	}
	v.add(vigil.Break{Type: vigil.BreakMissing, Sequence: r.from, Detail: detail})
}

// end runs after the last line: it reports what never turned up, and
// checks the root of the whole tree when the range was not all of it.
func (v *verifier) end(extraLines int) {
	for _, r := range v.pending {
		v.missing(r)
	}
	v.pending = nil
	if v.next < v.h.To {
		if v.rep.EventsChecked < v.h.Evs && !v.served {
			v.add(vigil.Break{Type: vigil.BreakTruncated, Sequence: v.next,
				Detail: fmt.Sprintf("the bundle ends after %d of its %d events: sequences %d to %d are absent", v.rep.EventsChecked, v.h.Evs, v.next, v.h.To-1)})
		} else {
			v.missing(seqRange{v.next, v.h.To})
		}
	}
	if extraLines > 0 {
		detail := fmt.Sprintf("%d lines after the last of the %d events the header counts", extraLines, v.h.Evs)
		if v.served {
			detail = fmt.Sprintf("%d events beyond the %d of the range", extraLines, v.h.Evs)
		}
		v.add(vigil.Break{Type: vigil.BreakModified, Sequence: -1, Detail: detail})
	}
	if v.frontier.Size() == v.h.To && v.h.To < v.h.TreeSize && !v.rootless {
		for _, s := range v.right {
			v.frontier.AppendSubtree(s.Level, s.Hash)
		}
		v.atSize()
	}
	v.rep.Valid = len(v.rep.Breaks) == 0 && v.rep.BreaksOmitted == 0
}
