package geoip

import "net/netip"

// isGlobal reports whether ip (already unmapped) can say where a person is.
// Besides the classes netip names, it excludes three IPv4 blocks that no
// geolocation database places meaningfully: 0.0.0.0/8 ("this network"),
// 100.64.0.0/10 (carrier-grade NAT, RFC 6598: as private as 10/8 for our
// purpose) and 240.0.0.0/4 (reserved, including the broadcast address).
func isGlobal(ip netip.Addr) bool {
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsLoopback() || ip.IsPrivate() ||
		ip.IsLinkLocalUnicast() || ip.IsMulticast() {
		return false
	}
	if ip.Is4() {
		b := ip.As4()
		switch {
		case b[0] == 0, b[0] >= 240:
			return false
		case b[0] == 100 && b[1]&0xc0 == 64:
			return false
		}
	}
	return true
}
