package http

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilhq/vigil"
)

// authenticate checks the bearer key and the route's roles. Failures are
// counted per source address; past the limit the source gets 429 without
// a store lookup, so keys cannot be guessed at speed.
func (s *Server) authenticate(roles []vigil.Role, h handlerFunc) http.Handler {
	return s.authenticateWith(roles, h, s.writeError)
}

// authenticateWith is authenticate with the error writer of the route's
// protocol (the FHIR routes answer OperationOutcome resources).
func (s *Server) authenticateWith(roles []vigil.Role, h handlerFunc, writeError func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src := s.remoteAddr(r)
		if !s.limits.allow(src) {
			writeError(w, r, vigil.Errorf(vigil.ERATELIMITED, "too many failed authentications from this address"))
			return
		}
		key, err := s.keyFor(r)
		if err != nil {
			if vigil.ErrorCode(err) == vigil.EUNAUTHORIZED {
				s.limits.fail(src)
			}
			writeError(w, r, err)
			return
		}
		if ok, wait := s.rates.allow(key.ID); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, r, vigil.Errorf(vigil.ERATELIMITED, "this API key exceeded its rate of %g requests per second", s.cfg.KeyRate))
			return
		}
		if !slices.Contains(roles, key.Role) {
			writeError(w, r, vigil.Errorf(vigil.EFORBIDDEN, "the %s role may not %s %s", key.Role, r.Method, r.URL.Path))
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			s.integrityHeader(w, key.Workspace)
		}
		if err := h(w, r, key); err != nil {
			writeError(w, r, err)
		}
	})
}

func (s *Server) keyFor(r *http.Request) (vigil.APIKey, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return vigil.APIKey{}, vigil.Errorf(vigil.EUNAUTHORIZED, "missing Authorization: Bearer <key>")
	}
	scheme, secret, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return vigil.APIKey{}, vigil.Errorf(vigil.EUNAUTHORIZED, "the Authorization header must be Bearer <key>")
	}
	secret = strings.TrimSpace(secret)
	if !vigil.LooksLikeKey(secret) {
		return vigil.APIKey{}, vigil.Errorf(vigil.EUNAUTHORIZED, "invalid API key")
	}
	hash := vigil.HashKey(secret)
	key, ok := s.keys.get(hash)
	if !ok {
		var err error
		if key, err = s.store.KeyByHash(r.Context(), hash); err != nil {
			return key, err
		}
		s.keys.put(hash, key)
	}
	if key.Revoked() {
		return vigil.APIKey{}, vigil.Errorf(vigil.EUNAUTHORIZED, "the API key was revoked")
	}
	return key, nil
}

// remoteAddr is the client's address: the connection's, or the last
// untrusted hop of X-Forwarded-For when the connection comes from a
// trusted proxy.
func (s *Server) remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	addr = addr.Unmap()
	if !s.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		hop = hop.Unmap()
		if !s.trusted(hop) {
			return hop
		}
		addr = hop
	}
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// authLimiter counts failed authentications per source in a fixed
// one-minute window.
type authLimiter struct {
	mu     sync.Mutex
	limit  int
	now    func() time.Time
	window time.Time
	fails  map[netip.Addr]int
}

func newAuthLimiter(limit int, now func() time.Time) *authLimiter {
	return &authLimiter{limit: limit, now: now, fails: map[netip.Addr]int{}}
}

func (l *authLimiter) roll() {
	if now := l.now(); now.Sub(l.window) >= time.Minute {
		l.window = now
		clear(l.fails)
	}
}

func (l *authLimiter) allow(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll()
	return l.fails[a] < l.limit
}

func (l *authLimiter) fail(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll()
	l.fails[a]++
}
