package alert

import "container/list"

// subjects is a stateful rule's memory: a window per subject (actor or
// session), the least recently active first, so that subjects gone quiet
// for longer than the rule's span are dropped from the front in O(1).
type subjects struct {
	span     int64 // the rule's window or lookback, nanoseconds
	distinct bool  // windows count distinct values
	limit    int   // values (or stamps) a window needs at most
	maxHeld  int   // queue slots over every window; past it the least recently active subjects go
	keys     map[string]*subject
	order    list.List // of *subject, least recently active first
	held     int
	evicted  int64
}

type subject struct {
	key  string
	win  *window
	elem *list.Element
}

func newSubjects(span int64, distinct bool, limit, maxHeld int) *subjects {
	return &subjects{span: span, distinct: distinct, limit: limit, maxHeld: maxHeld, keys: map[string]*subject{}}
}

// observe hands the window of key, expired to since, to f, which may add
// to it; the subject becomes the most recently active. Subjects quiet
// since before since (all of whose events are out of the span) are
// dropped first, and, past maxHeld, the least recently active ones.
func (s *subjects) observe(key string, since int64, f func(*window)) {
	for e := s.order.Front(); e != nil; e = s.order.Front() {
		sub := e.Value.(*subject)
		if sub.key == key || sub.win.newest() >= since {
			break
		}
		s.drop(sub)
	}
	sub := s.keys[key]
	if sub == nil {
		sub = &subject{key: key, win: newWindow(s.distinct, s.limit)}
		sub.elem = s.order.PushBack(sub)
		s.keys[key] = sub
	} else {
		s.order.MoveToBack(sub.elem)
	}
	before := sub.win.held()
	sub.win.expire(since)
	f(sub.win)
	s.held += sub.win.held() - before
	for s.held > s.maxHeld && s.order.Len() > 1 {
		s.drop(s.order.Front().Value.(*subject))
		s.evicted++
	}
}

func (s *subjects) drop(sub *subject) {
	s.held -= sub.win.held()
	s.order.Remove(sub.elem)
	delete(s.keys, sub.key)
}
