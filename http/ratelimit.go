package http

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyLimiter gives every API key its own token bucket, so one runaway
// client (or a leaked key) cannot take the whole service: past its rate a
// key gets 429 with Retry-After while other keys go on. Buckets exist only
// for keys that authenticated, so the map is bounded by the keys issued;
// idle buckets are dropped.
type keyLimiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	now     func() time.Time
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

// idleBucket is how long an unused bucket is kept; a full bucket forgotten
// is the same as a full bucket kept.
const idleBucket = 10 * time.Minute

func newKeyLimiter(perSecond float64, burst int, now func() time.Time) *keyLimiter {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(perSecond))
	}
	return &keyLimiter{limit: rate.Limit(perSecond), burst: burst, now: now, buckets: map[string]*bucket{}}
}

// allow takes one token from the key's bucket. When there is none it
// reports how long until there will be.
func (l *keyLimiter) allow(keyID string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > idleBucket {
		for id, b := range l.buckets {
			if now.Sub(b.used) > idleBucket {
				delete(l.buckets, id)
			}
		}
		l.swept = now
	}
	b := l.buckets[keyID]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[keyID] = b
	}
	b.used = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
