package fields

import (
	"fmt"

	"github.com/siemscore/siemscore/processors/body"
)

// MaxMembers is the most keys a Members set can name.
const MaxMembers = 64

// Members names the keys a parser reads from one object, so that they can be collected in a
// single pass over it. For an object read key by key, every optional key that is absent costs
// a lookup per spelling tried; one pass costs a lookup per key present, whatever the spelling.
type Members struct {
	names []string
	// slots lists, for each slot (see slot), the names that hash to it, with their lowercase
	// spelling and position: a key is compared with one name or two, without hashing all of it.
	slots [numSlots][]lowerName
}

// maxNameLen is the longest name a Members set can hold.
const maxNameLen = 64

// numSlots is the size of the hash table of names.
const numSlots = 256

type lowerName struct {
	name, lower string
	pos         int
}

// slot hashes a key's length and its first, middle and last bytes in lowercase, which tell
// apart the names of a parser's set (id.orig_h from id_orig_h and id.resp_h, say).
func slot(k string) uint8 {
	n := len(k)
	if n == 0 {
		return 0
	}
	return uint8(n*7 + int(lowerASCII(k[0]))*3 + int(lowerASCII(k[n/2])) + int(lowerASCII(k[n-1]))*5)
}

// NewMembers returns the set of names; Collect fills values in this order. It panics on a
// programming error (too many names, or two names equal but for case), at package init.
func NewMembers(names ...string) *Members {
	if len(names) > MaxMembers {
		panic(fmt.Sprintf("fields: %d members, at most %d", len(names), MaxMembers))
	}
	ms := &Members{names: names}
	for i, n := range names {
		var buf [maxNameLen]byte
		lower, ok := lowerKey(buf[:], n)
		if !ok {
			panic(fmt.Sprintf("fields: member name %q is too long", n))
		}
		if ms.find(string(lower)) >= 0 {
			panic(fmt.Sprintf("fields: member %q named twice", n))
		}
		s := slot(n)
		ms.slots[s] = append(ms.slots[s], lowerName{n, string(lower), i})
	}
	return ms
}

// find returns the position of the name k spells in any case, or -1.
func (ms *Members) find(k string) int {
next:
	for _, n := range ms.slots[slot(k)] {
		if len(k) != len(n.lower) {
			continue
		}
		if k == n.name {
			return n.pos
		}
		for i := 0; i < len(k); i++ {
			if lowerASCII(k[i]) != n.lower[i] {
				continue next
			}
		}
		return n.pos
	}
	return -1
}

// Collect stores the value of each named key of the map m, spelled in any case, at the name's
// position in vals (len(vals) must be the number of names); absent keys and nulls leave the
// zero (Absent) Value. When several spellings of one name are present, the exact one wins,
// then the smallest.
func (ms *Members) Collect(m body.Value, vals []body.Value) {
	if m.Kind() != body.Map {
		return
	}
	var set uint64 // bit i: vals[i] holds a value
	for j := range m.Len() {
		k := m.Key(j)
		i := ms.find(k)
		if i < 0 {
			continue
		}
		v := m.Elem(j)
		if v.IsNull() {
			continue
		}
		if set&(1<<i) != 0 {
			// Another spelling came first (rare): keep the exact one, else the smallest.
			if prev := ms.spelling(m, j, i); prev == ms.names[i] || k != ms.names[i] && prev < k {
				continue
			}
		}
		set |= 1 << i
		vals[i] = v
	}
}

// spelling returns the key Collect chose so far for name i among the first n members of m.
func (ms *Members) spelling(m body.Value, n, i int) string {
	chosen := ""
	for j := range n {
		k := m.Key(j)
		if ms.find(k) != i || m.Elem(j).IsNull() {
			continue
		}
		if chosen == "" || chosen != ms.names[i] && (k == ms.names[i] || k < chosen) {
			chosen = k
		}
	}
	return chosen
}

// lowerKey writes k in ASCII lowercase into buf; ok is false when k does not fit.
func lowerKey(buf []byte, k string) ([]byte, bool) {
	if len(k) > len(buf) {
		return nil, false
	}
	b := buf[:len(k)]
	for i := 0; i < len(k); i++ {
		b[i] = lowerASCII(k[i])
	}
	return b, true
}
