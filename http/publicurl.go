package http

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ParsePublicURL checks the URL clients reach the server at (--public-url)
// and returns it without a trailing slash, ready to prefix a path: an
// absolute http or https URL, with an optional path prefix (a server
// behind a proxy at https://example.org/vigil), and no user, query or
// fragment.
func ParsePublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", errors.New("must be a URL such as https://vigil.example.org")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("must start with https:// or http://")
	case u.Host == "" || !validHost(u.Host):
		return "", errors.New("must name a host, such as https://vigil.example.org")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", errors.New("must have no user, query or fragment")
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// absoluteURL makes a path the server answers into the URL a client
// follows (download links): under Config.PublicURL when it is set, which
// is what a server behind a proxy or a load balancer should do.
// Otherwise it is built from the request: its scheme (https on a TLS
// connection) and its Host, which the client itself sent, so the link
// goes back where the request came. X-Forwarded-Proto and
// X-Forwarded-Host are believed only from --trusted-proxies: from anyone
// else they could point a link, and the key or signature a client sends
// with it, at another host. A Host that is not a plain host[:port] is not
// used: the connection's local address is.
func (s *Server) absoluteURL(r *http.Request, path string) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL + path
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if s.trusted(connAddr(r)) {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" && validHost(h) {
			host = h
		}
	}
	if !validHost(host) {
		host = ""
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			host = a.String()
		}
	}
	return scheme + "://" + host + path
}

// firstValue is the first of a comma-separated header's values: the one
// the client-facing proxy set.
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(first))
}

// validHost reports whether h is a host name or IP address, with an
// optional port, and nothing else ('_' is allowed: container and
// service names have it).
func validHost(h string) bool {
	host, port := h, ""
	if strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1 {
		var err error
		if host, port, err = net.SplitHostPort(h); err != nil {
			return false
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return false
		}
		if strings.Contains(host, ":") {
			return net.ParseIP(host) != nil // an IPv6 literal, in brackets
		}
	}
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
