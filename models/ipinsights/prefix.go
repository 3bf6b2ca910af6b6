package ipinsights

import (
	"fmt"
	"net/netip"

	"github.com/cespare/xxhash/v2"
)

// family describes the prefix levels of an address family (see the package documentation for
// why these levels).
type family struct {
	name   string
	levels []int // prefix lengths, coarsest first
	first  int   // table index of the coarsest level
	bytes  int   // address length
}

var (
	familyV4 = family{name: "v4", levels: []int{8, 12, 16, 20, 24}, first: 0, bytes: 4}
	familyV6 = family{name: "v6", levels: []int{16, 32, 48, 64}, first: 5, bytes: 16}
)

const (
	numTables = 9 // len(familyV4.levels) + len(familyV6.levels): one table per family and level
	maxLevels = 5
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

// normalize makes equal addresses equal: IPv4-mapped IPv6 becomes IPv4 and zones are dropped.
func normalize(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// prefixKeysOf fills p with the level keys of a, which must be valid and normalised (see
// family.key).
func prefixKeysOf(a netip.Addr, p *prefixes) {
	if a.Is4() {
		b := a.As4()
		p.fillKeys(&familyV4, b[:])
		return
	}
	b := a.As16()
	p.fillKeys(&familyV6, b[:])
}

func (p *prefixes) fillKeys(f *family, b []byte) {
	p.fam, p.n = f, len(f.levels)
	for l := range f.levels {
		p.keys[l] = f.key(b, l)
	}
}

// key returns the key of level l of the address whose bytes are b: the xxhash of the table
// index followed by the masked address bytes, so keys are stable across processes and the
// same prefix in another table (family or length) never collides by construction.
func (f *family) key(b []byte, l int) uint64 {
	var buf [17]byte
	buf[0] = byte(f.first + l)
	maskInto(buf[1:1+len(b)], b, f.levels[l])
	return xxhash.Sum64(buf[:1+len(b)])
}

// shortBits is the longest prefix whose bits index a direct table (see trainer.shortRows).
const shortBits = 16

// top16 returns the first 16 bits of the address whose bytes are b: every prefix of at most
// shortBits bits is top16(b) >> (16 − bits).
func top16(b []byte) uint { return uint(b[0])<<8 | uint(b[1]) }

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

// Key hashes a principal into the key space of the entity table (xxhash64, stable across
// processes and machines). A model that keeps its own per-principal data sorted by Key finds
// a principal's entity row at the same position (see Model.EntityPos).
func Key(principal string) uint64 { return xxhash.Sum64String(principal) }
