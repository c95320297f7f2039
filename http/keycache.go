package http

import (
	"sync"
	"time"

	"github.com/vigilhq/vigil"
)

// keyCache keeps recently authenticated keys so a request costs no store
// lookup. An entry lives for ttl: a key revoked through this server is
// dropped at once, one revoked on the data directory by the CLI (another
// process) stops working within ttl. Only successful lookups are kept, so
// guessing keys cannot fill it.
type keyCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	now     func() time.Time
	entries map[string]cachedKey // by hash, as a string
}

type cachedKey struct {
	key     vigil.APIKey
	expires time.Time
}

const keyCacheMax = 10000

func newKeyCache(ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{ttl: ttl, now: now, entries: map[string]cachedKey{}}
}

func (c *keyCache) get(hash []byte) (vigil.APIKey, bool) {
	if c.ttl <= 0 {
		return vigil.APIKey{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[string(hash)]
	if !ok || c.now().After(e.expires) {
		return vigil.APIKey{}, false
	}
	return e.key, true
}

func (c *keyCache) put(hash []byte, k vigil.APIKey) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= keyCacheMax {
		clear(c.entries)
	}
	c.entries[string(hash)] = cachedKey{key: k, expires: c.now().Add(c.ttl)}
}

// forget drops a key by id, after it was revoked.
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.entries {
		if e.key.ID == id {
			delete(c.entries, h)
		}
	}
}
