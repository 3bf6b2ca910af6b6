package fields

import (
	"net/netip"
	"strings"
)

// IPStatus classifies an address string.
type IPStatus uint8

// IP statuses.
const (
	IPOK      IPStatus = iota
	IPNotIP            // a hostname, "AWS Internal", a placeholder: a legitimate non-IP address
	IPInvalid          // shaped like an IP but not one (255.18.064.253, 1.2.3, 1.2.3.4:80)
)

// IP parses an address the way an Elasticsearch `ip` field will accept it. Leading zeros in
// IPv4 octets are refused: they are ambiguous (octal in some parsers), so 010.1.2.3 is
// invalid rather than silently read as 10.1.2.3 (or, in octal, 8.1.2.3). An IPv6 zone is dropped, since `ip`
// fields have no place for it, and IPv4-mapped IPv6 is unmapped so that one host has one
// address in scores and aggregations.
func IP(s string) (netip.Addr, IPStatus) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), IPOK
	}
	if looksLikeIP(s) {
		return netip.Addr{}, IPInvalid
	}
	return netip.Addr{}, IPNotIP
}

// looksLikeIP: digits and dots with at least one dot (IPv4-like), or hex digits, colons, dots
// and a zone with at least one colon (IPv6-like, or an address with a port).
func looksLikeIP(s string) bool {
	if s == "" {
		return false
	}
	dots, colons, hexLetters := 0, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.':
			dots++
		case c == ':':
			colons++
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			hexLetters++
		case c == '%' && colons > 0:
			return true // a zone: whatever follows is the interface name
		default:
			return false
		}
	}
	if colons > 0 {
		return true
	}
	return dots > 0 && hexLetters == 0
}

// IPCache remembers the last address IP parsed through it, for a parser whose records repeat
// their addresses (a domain controller answers nearly every Kerberos row; one host sends many
// in a row): comparing the text costs a fraction of parsing it again. It keeps its own copy
// of the text, so it stays right after the record's memory is reused. The zero IPCache is
// empty; it is not safe for concurrent use.
type IPCache struct {
	text [maxCachedIP]byte
	n    uint8 // 0: empty
	addr netip.Addr
	st   IPStatus
}

// maxCachedIP is the longest text an IPCache keeps: an IPv6 address with an embedded IPv4
// address is 45 bytes, a zone makes it longer, and those are rare enough to parse each time.
const maxCachedIP = 46

// IP is IP(s), from the cache when s is the text it parsed last.
func (c *IPCache) IP(s string) (netip.Addr, IPStatus) {
	if c.n != 0 && string(c.text[:c.n]) == s {
		return c.addr, c.st
	}
	a, st := IP(s)
	if n := len(s); n > 0 && n <= maxCachedIP {
		c.n = uint8(copy(c.text[:], s))
		c.addr, c.st = a, st
	}
	return a, st
}
