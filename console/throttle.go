package console

import (
	"sync"
	"time"
)

// signInThrottle counts failed sign-ins per account and per address in a
// fixed fifteen-minute window: past the limit, further attempts are
// refused before any password is checked.
type signInThrottle struct {
	mu     sync.Mutex
	limit  int
	now    func() time.Time
	window time.Time
	fails  map[string]int
}

const (
	throttleWindow = 15 * time.Minute
	// maxThrottled bounds the memory a flood of made-up accounts can take;
	// past it new names are not counted, but addresses already are.
	maxThrottled = 100000
)

func newSignInThrottle(limit int, now func() time.Time) *signInThrottle {
	return &signInThrottle{limit: limit, now: now, fails: map[string]int{}}
}

func (t *signInThrottle) roll() {
	if now := t.now(); now.Sub(t.window) >= throttleWindow {
		t.window = now
		clear(t.fails)
	}
}

// allow reports whether the account and the address may try again.
func (t *signInThrottle) allow(account, addr string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.roll()
	return t.fails["a:"+account] < t.limit && t.fails["ip:"+addr] < 4*t.limit
}

func (t *signInThrottle) fail(account, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.roll()
	for _, k := range []string{"a:" + account, "ip:" + addr} {
		if _, ok := t.fails[k]; ok || len(t.fails) < maxThrottled {
			t.fails[k]++
		}
	}
}
