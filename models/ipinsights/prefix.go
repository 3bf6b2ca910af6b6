package ipinsights

import (
	"fmt"
	"net/netip"

	"github.com/cespare/xxhash/v2"
)

// family describes the prefix levels of an address family (see the package documentation for
// why these levels).
type family struct {
	name    string
	levels  []int // prefix lengths, coarsest first
	first   int   // table index of the coarsest level
	block   int   // level of the "block" (about an ISP allocation)
	network int   // level of the "network" (a LAN)
}

var (
	familyV4 = family{name: "v4", levels: []int{8, 12, 16, 20, 24, 32}, first: 0, block: 2, network: 4}
	familyV6 = family{name: "v6", levels: []int{16, 32, 48, 64, 128}, first: 6, block: 1, network: 3}
)

const (
	numTables = 11 // len(familyV4.levels) + len(familyV6.levels): one table per family and level
	maxLevels = 6
)

// tableName labels a table in errors and inspection output.
func tableName(ti int) string {
	f := &familyV4
	if ti >= familyV6.first {
		f = &familyV6
	}
	return fmt.Sprintf("%s/%d", f.name, f.levels[ti-f.first])
}

// prefixes holds the keys of every level of one address.
type prefixes struct {
	fam  *family
	n    int // number of levels
	keys [maxLevels]uint64
}

// first returns the table index of the coarsest level.
func (p *prefixes) first() int { return p.fam.first }

// addrKey is the key of the full address, which is also the key the per-principal address
// sets hold.
func (p *prefixes) addrKey() uint64 { return p.keys[p.n-1] }

// netKey is the key of the address's network, the key the per-principal network sets hold.
func (p *prefixes) netKey() uint64 { return p.keys[p.fam.network] }

// normalize makes equal addresses equal: IPv4-mapped IPv6 becomes IPv4 and zones are dropped.
func normalize(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// prefixKeysOf fills p with the level keys of a, which must be valid and normalised. A key is
// the xxhash of the table index followed by the masked address bytes, so keys are stable
// across processes and the same prefix in another table (family or length) never collides by
// construction.
func prefixKeysOf(a netip.Addr, p *prefixes) {
	var buf [17]byte
	if a.Is4() {
		b := a.As4()
		p.fam, p.n = &familyV4, len(familyV4.levels)
		for l, bits := range familyV4.levels {
			buf[0] = byte(familyV4.first + l)
			maskInto(buf[1:5], b[:], bits)
			p.keys[l] = xxhash.Sum64(buf[:5])
		}
		return
	}
	b := a.As16()
	p.fam, p.n = &familyV6, len(familyV6.levels)
	for l, bits := range familyV6.levels {
		buf[0] = byte(familyV6.first + l)
		maskInto(buf[1:17], b[:], bits)
		p.keys[l] = xxhash.Sum64(buf[:17])
	}
}

// maskInto copies src into dst keeping only the first bits bits.
func maskInto(dst, src []byte, bits int) {
	for i := range dst {
		switch {
		case bits >= 8*(i+1):
			dst[i] = src[i]
		case bits <= 8*i:
			dst[i] = 0
		default:
			dst[i] = src[i] & (0xff << (8 - (bits - 8*i)))
		}
	}
}

// principalKey hashes a principal into the key space of the entity table.
func principalKey(principal string) uint64 { return xxhash.Sum64String(principal) }
