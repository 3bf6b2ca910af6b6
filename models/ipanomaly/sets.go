package ipanomaly

import (
	"cmp"
	"math/bits"
	"net/netip"
	"slices"
)

// addr6 is an IPv6 address as two 64-bit halves, which order like the address.
type addr6 struct{ hi, lo uint64 }

func cmp6(a, b addr6) int { return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo)) }

// key is an address in the form the model stores: IPv4 as a uint32, IPv6 as an addr6.
type key struct {
	v6 bool
	v4 uint32
	a6 addr6
}

// keyOf returns the key of a valid address; IPv4-mapped IPv6 is IPv4, zones are dropped.
func keyOf(a netip.Addr) key {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return key{v4: uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])}
	}
	b := a.As16()
	var hi, lo uint64
	for i := range 8 {
		hi, lo = hi<<8|uint64(b[i]), lo<<8|uint64(b[8+i])
	}
	return key{v6: true, a6: addr6{hi, lo}}
}

// lcp4 and lcp6 return the number of leading bits two addresses share.
func lcp4(a, b uint32) int { return bits.LeadingZeros32(a ^ b) }

func lcp6(a, b addr6) int {
	if a.hi != b.hi {
		return bits.LeadingZeros64(a.hi ^ b.hi)
	}
	return 64 + bits.LeadingZeros64(a.lo^b.lo)
}

// sets holds one sorted set of distinct addresses per owner (a principal, an account, a group
// of co-users), compressed-row style: owner i owns v4[v4Off[i]:v4Off[i+1]] and likewise v6.
// 4 bytes per IPv4 and 16 per IPv6 address: the whole exact history, in less than the hashes
// of its prefixes would take.
type sets struct {
	v4Off []uint32
	v4    []uint32
	v6Off []uint32
	v6    []addr6
}

// noLCP is the LCP (and distance) reported for an owner with no address of the family.
const noLCP = -1

// lcp returns the longest prefix k shares with any address of owner i (-1 when the owner has
// none of k's family).
func (s *sets) lcp(i int, k key) int {
	l, _ := s.near(i, k)
	return l
}

// near returns the longest prefix k shares with any address of owner i and the distance to
// the nearest one, as the bit length of the difference (IPv4: of the addresses, 0..32; IPv6:
// of their /64 networks, 0..64); both -1 when the owner has no address of k's family. In
// sorted order the longest common prefix and the nearest address are both at one of the two
// neighbours of the insertion point.
func (s *sets) near(i int, k key) (lcp, dist int) {
	lcp, dist = noLCP, noLCP
	if !k.v6 {
		v := s.v4[s.v4Off[i]:s.v4Off[i+1]]
		j, _ := slices.BinarySearch(v, k.v4)
		if j > 0 {
			lcp, dist = lcp4(v[j-1], k.v4), bits.Len32(k.v4-v[j-1])
		}
		if j < len(v) {
			lcp = max(lcp, lcp4(v[j], k.v4))
			if d := bits.Len32(v[j] - k.v4); dist < 0 || d < dist {
				dist = d
			}
		}
		return lcp, dist
	}
	v := s.v6[s.v6Off[i]:s.v6Off[i+1]]
	j, _ := slices.BinarySearchFunc(v, k.a6, cmp6)
	if j > 0 {
		lcp, dist = lcp6(v[j-1], k.a6), bits.Len64(k.a6.hi-v[j-1].hi)
	}
	if j < len(v) {
		lcp = max(lcp, lcp6(v[j], k.a6))
		if d := bits.Len64(v[j].hi - k.a6.hi); dist < 0 || d < dist {
			dist = d
		}
	}
	return lcp, dist
}

// inNetwork returns how many addresses owner i has in k's network (IPv4 /24, IPv6 /64).
func (s *sets) inNetwork(i int, k key) int {
	if !k.v6 {
		v := s.v4[s.v4Off[i]:s.v4Off[i+1]]
		lo, _ := slices.BinarySearch(v, k.v4&^0xff)
		hi, found := slices.BinarySearch(v, k.v4|0xff)
		if found {
			hi++
		}
		return hi - lo
	}
	v := s.v6[s.v6Off[i]:s.v6Off[i+1]]
	lo, _ := slices.BinarySearchFunc(v, addr6{k.a6.hi, 0}, cmp6)
	hi, found := slices.BinarySearchFunc(v, addr6{k.a6.hi, ^uint64(0)}, cmp6)
	if found {
		hi++
	}
	return hi - lo
}

// owned is one (owner, address) observation.
type owned struct {
	owner int32
	k     key
}

// buildSets builds the sets of n owners from observations, which it sorts.
func buildSets(n int, obs []owned) sets {
	s := sets{v4Off: make([]uint32, n+1), v6Off: make([]uint32, n+1)}
	slices.SortFunc(obs, cmpOwned)
	obs = slices.Compact(obs)
	for _, o := range obs {
		if o.k.v6 {
			s.v6 = append(s.v6, o.k.a6)
			s.v6Off[o.owner+1]++
		} else {
			s.v4 = append(s.v4, o.k.v4)
			s.v4Off[o.owner+1]++
		}
	}
	for i := range n {
		s.v4Off[i+1] += s.v4Off[i]
		s.v6Off[i+1] += s.v6Off[i]
	}
	return s
}

func cmpOwned(a, b owned) int {
	return cmp.Or(cmp.Compare(a.owner, b.owner), cmp.Compare(b2i(a.k.v6), b2i(b.k.v6)),
		cmp.Compare(a.k.v4, b.k.v4), cmp6(a.k.a6, b.k.a6))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
