package ipanomaly

import (
	"cmp"
	"math"
	"slices"
)

// Network levels. The "network" is a LAN: an IPv4 /24, an IPv6 /64 (the SLAAC boundary, inside
// which privacy addresses change daily). The "block" is about an ISP allocation: an IPv4 /16,
// an IPv6 /32.
const (
	v4NetBits   = 24
	v4BlockBits = 16
	v6NetBits   = 64
	v6BlockBits = 32
	v4Bits      = 32
	v6Bits      = 128
)

// counts holds how many distinct principals used each network and block: how common a place
// on the Internet is in the organisation.
type counts struct {
	v4Block  []uint16 // indexed by the /16: 128 KiB, no search
	v4Net    []uint32 // sorted /24 prefixes (address >> 8)
	v4NetN   []uint16
	v6Block  []uint32 // sorted /32 prefixes (high 32 bits)
	v6BlockN []uint16
	v6Net    []uint64 // sorted /64 prefixes (high 64 bits)
	v6NetN   []uint16
}

// of returns the principals that used k's network and block.
func (c *counts) of(k key) (network, block int) {
	if !k.v6 {
		return find(c.v4Net, c.v4NetN, k.v4>>8), int(c.v4Block[k.v4>>16])
	}
	return find(c.v6Net, c.v6NetN, k.a6.hi), find(c.v6Block, c.v6BlockN, uint32(k.a6.hi>>32))
}

func find[K cmp.Ordered](keys []K, n []uint16, k K) int {
	if i, ok := slices.BinarySearch(keys, k); ok {
		return int(n[i])
	}
	return 0
}

// buildCounts counts from distinct (principal, address) observations.
func buildCounts(obs []owned) counts {
	c := counts{v4Block: make([]uint16, 1<<16)}
	type use[K cmp.Ordered] struct {
		k K
		p int32
	}
	var n24, n16 []use[uint32]
	var n64 []use[uint64]
	var n32 []use[uint32]
	for _, o := range obs {
		if o.k.v6 {
			n64 = append(n64, use[uint64]{o.k.a6.hi, o.owner})
			n32 = append(n32, use[uint32]{uint32(o.k.a6.hi >> 32), o.owner})
		} else {
			n24 = append(n24, use[uint32]{o.k.v4 >> 8, o.owner})
			n16 = append(n16, use[uint32]{o.k.v4 >> 16, o.owner})
		}
	}
	c.v4Net, c.v4NetN = countDistinct(n24, func(u use[uint32]) (uint32, int32) { return u.k, u.p })
	blocks, blockN := countDistinct(n16, func(u use[uint32]) (uint32, int32) { return u.k, u.p })
	for i, b := range blocks {
		c.v4Block[b] = blockN[i]
	}
	c.v6Net, c.v6NetN = countDistinct(n64, func(u use[uint64]) (uint64, int32) { return u.k, u.p })
	c.v6Block, c.v6BlockN = countDistinct(n32, func(u use[uint32]) (uint32, int32) { return u.k, u.p })
	return c
}

// countDistinct sorts uses and returns each key with its number of distinct principals
// (saturating at 65535).
func countDistinct[U any, K cmp.Ordered](uses []U, kp func(U) (K, int32)) ([]K, []uint16) {
	slices.SortFunc(uses, func(a, b U) int {
		ka, pa := kp(a)
		kb, pb := kp(b)
		return cmp.Or(cmp.Compare(ka, kb), cmp.Compare(pa, pb))
	})
	var keys []K
	var n []uint16
	for i := 0; i < len(uses); i++ {
		k, p := kp(uses[i])
		if i > 0 {
			if pk, pp := kp(uses[i-1]); pk == k {
				if pp != p && n[len(n)-1] < math.MaxUint16 {
					n[len(n)-1]++
				}
				continue
			}
		}
		keys, n = append(keys, k), append(n, 1)
	}
	return keys, n
}
