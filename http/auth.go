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

// authenticate checks the bearer key and the route's roles. A valid key
// is never refused for what others sent from its address: failures are
// counted per source, and past the limit only the failures are answered
// 429 (see authFailed).
func (s *Server) authenticate(roles []vigil.Role, h handlerFunc) http.Handler {
	return s.authenticateWith(roles, h, s.writeError)
}

// authenticateWith is authenticate with the error writer of the route's
// protocol (the FHIR routes answer OperationOutcome resources).
func (s *Server) authenticateWith(roles []vigil.Role, h handlerFunc, writeError func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := s.keyFor(r)
		if err != nil {
			if vigil.ErrorCode(err) == vigil.EUNAUTHORIZED {
				err = s.authFailed(w, r, err)
			}
			writeError(w, r, err)
			return
		}
		if ok, wait := s.rates.allow(key.ID); !ok {
			w.Header().Set("Retry-After", retryAfter(wait))
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

// authFailed counts a failed authentication (a bad, revoked or missing
// key, a forged link signature) against the request's source and returns
// the answer to give: the failure itself, or 429 with Retry-After once
// the source is past its failures per minute. Only failures are
// throttled: a request whose credentials are valid never comes here, so a
// flood of bad keys from behind the same proxy or NAT as a hospital's
// application cannot stop that application's logging.
func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, cause error) error {
	over, wait := s.limits.fail(s.remoteAddr(r))
	if !over {
		return cause
	}
	w.Header().Set("Retry-After", retryAfter(wait))
	return vigil.Errorf(vigil.ERATELIMITED, "too many failed authentications from this address; retry in %s", wait.Round(time.Second))
}

// retryAfter is a Retry-After value: whole seconds, rounded up, at least one.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
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
	addr := connAddr(r)
	if !addr.IsValid() || !s.trusted(addr) {
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

// connAddr is the address of the connection's other end: the client, or
// the proxy in front of it.
func connAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return addr.Unmap()
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
// one-minute window. It refuses nothing by itself: it tells authFailed
// whether a failure is past the limit.
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

// fail counts one failure from a and reports whether a is now past its
// limit, and how long until its count starts again.
func (l *authLimiter) fail(a netip.Addr) (over bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.window) >= time.Minute {
		l.window = now
		clear(l.fails)
	}
	l.fails[a]++
	return l.fails[a] > l.limit, l.window.Add(time.Minute).Sub(now)
}
