package alert

// window is what one subject (an actor or a session) of a stateful rule
// remembers of its recent events: a first-in first-out queue of stamps in
// created_at order and, when distinct values are counted, each value's
// latest stamp. A value's older stamps stay in the queue, stale, until they
// reach its front or a compaction drops them.
//
// It keeps at most limit of the newest values (or stamps, when nothing
// distinct is counted). That loses nothing a rule asks: a rule only needs
// the count of values in its window up to limit, and since both the window
// and the kept values are the newest ones, the kept values inside the
// window number exactly min(count, limit).
type window struct {
	queue []stamp
	head  int              // queue[head:] is live
	last  map[string]int64 // value -> latest stamp; nil when counting stamps
	limit int              // 0: unbounded (new_country's countries are few)
}

type stamp struct {
	at    int64 // created_at, Unix nanoseconds
	value string
}

func newWindow(distinct bool, limit int) *window {
	w := &window{limit: limit}
	if distinct {
		w.last = map[string]int64{}
	}
	return w
}

// size is the number of values (or stamps) the window holds.
func (w *window) size() int {
	if w.last != nil {
		return len(w.last)
	}
	return len(w.queue) - w.head
}

// held is the memory the window takes, in queue slots.
func (w *window) held() int { return len(w.queue) - w.head }

// has reports whether value was seen inside the window.
func (w *window) has(value string) bool {
	_, ok := w.last[value]
	return ok
}

// expire drops what is older than since (created_at is inclusive at the
// window's start, as the History's Since is).
func (w *window) expire(since int64) {
	for w.head < len(w.queue) && w.queue[w.head].at < since {
		w.pop()
	}
	w.reclaim()
}

// pop drops the front stamp, and its value when the stamp was the
// value's latest.
func (w *window) pop() {
	s := w.queue[w.head]
	w.queue[w.head] = stamp{}
	w.head++
	if w.last != nil && w.last[s.value] == s.at {
		delete(w.last, s.value)
	}
}

// add records value (ignored when counting stamps) at the time at, which
// is not before any stamp held, then trims to the limit.
func (w *window) add(value string, at int64) {
	w.queue = append(w.queue, stamp{at: at, value: value})
	if w.last != nil {
		w.last[value] = at
	}
	for w.limit > 0 && w.size() > w.limit {
		w.dropOldest()
	}
	// Stale stamps of repeated values: compact once they outnumber the
	// live ones, so the queue stays within twice the values held (and
	// four more, so that a window of few values is not compacted on every
	// event).
	if w.last != nil && w.held() > 2*len(w.last)+4 {
		live := w.queue[:0]
		for _, s := range w.queue[w.head:] {
			if w.last[s.value] == s.at {
				live = append(live, s)
			}
		}
		clear(w.queue[len(live):])
		w.queue, w.head = live, 0
	}
	w.reclaim()
}

// dropOldest drops the value (or stamp) seen longest ago, with the stale
// stamps before it.
func (w *window) dropOldest() {
	for w.head < len(w.queue) {
		s := w.queue[w.head]
		live := w.last == nil || w.last[s.value] == s.at
		w.pop()
		if live {
			return
		}
	}
}

// reclaim moves the live part to the front once the dead prefix is most
// of the backing array, so memory follows what is held.
func (w *window) reclaim() {
	if w.head > 32 && w.head*2 > len(w.queue) {
		n := copy(w.queue, w.queue[w.head:])
		clear(w.queue[n:])
		w.queue, w.head = w.queue[:n], 0
	}
}

// values returns the distinct values held.
func (w *window) values() []string {
	out := make([]string, 0, len(w.last))
	for v := range w.last {
		out = append(out, v)
	}
	return out
}

// newest is the latest stamp held, 0 when empty.
func (w *window) newest() int64 {
	if w.head == len(w.queue) {
		return 0
	}
	return w.queue[len(w.queue)-1].at
}
