// Package body holds record bodies — the msgpack maps Fluent Bit hands the plugin, or JSON
// objects read from files — decoded once into a flat tree that the processors read, hash and
// write as JSON without building a Go map per object.
//
// A Tree owns one byte buffer and one slice of nodes, both reused from one batch of bodies to
// the next. Strings are not copied: a string value or key is a view of the buffer (the
// msgpack bytes themselves), so decoding a body allocates nothing once the tree has grown to
// the size of the batch. The members of every map sit next to each other, sorted by key, with
// duplicate keys resolved as a Go map would resolve them (the last one wins), so lookups are
// binary searches and every walk (the record ID, JSON text) sees one canonical order.
//
// # Lifetime
//
// Every Value, and every string a Value returns, is valid until the tree is Reset. Code that
// keeps a string beyond that (long-lived model state) must copy it.
//
// # Values
//
// msgpack str → String; bin → Binary (its bytes, read as text where text is wanted); int and
// uint → Int, or Uint above math.MaxInt64; float32 and float64 → Float (NaN and ±Inf kept);
// bool; nil → Null; array; map (keys that are not str or bin become fmt's %v of the decoded
// key); the 8-byte EventTime ext (type 0) → Time; any other ext → Ext.
package body

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// Kind is the type of a Value.
type Kind uint8

// Kinds. Absent is the zero Value: a key that is not there.
const (
	Absent Kind = iota
	Null
	Bool
	Int
	Uint // above math.MaxInt64
	Float
	String
	Binary
	Time
	Ext
	Map
	Array
)

var kindNames = [...]string{Absent: "absent", Null: "null", Bool: "bool", Int: "int", Uint: "uint", Float: "float",
	String: "string", Binary: "binary", Time: "time", Ext: "ext", Map: "map", Array: "array"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// MaxDepth is the deepest container nesting accepted, counting the body's own map as 1: the
// limit Fluent Bit chunks are decoded with (Elasticsearch's own object depth limit is 20).
const MaxDepth = 64

// ErrTooDeep: containers nest deeper than MaxDepth.
var ErrTooDeep = errors.New("nesting too deep")

// errMalformed: the bytes are not one well-formed msgpack object. Callers check the shape of
// chunks before decoding bodies, so this is a bug or corrupt memory, not bad input.
var errMalformed = errors.New("malformed msgpack")

// node is one value. Maps' and arrays' elements are a run of nodes starting at first; a map's
// run is sorted by key.
type node struct {
	key, keyLen uint32 // the key's bytes in buf, for a map member
	off, n      uint32 // String, Binary, Ext: the bytes in buf; Map, Array: first element, count; Time: nanoseconds in off
	num         uint64 // Bool: 0/1; Int, Uint: the bits; Float: math.Float64bits; Time: Unix seconds; Ext: its type
	kind        Kind
}

// Tree is a set of decoded bodies. The zero Tree is ready to use; it is not safe for
// concurrent use.
type Tree struct {
	buf   []byte
	base  int // len(buf) at the last Reset: the bytes Rewind keeps
	nodes []node
	// text holds the strings Text makes. They are apart from buf so that buf, usually a copy
	// of a chunk, keeps the chunk's size instead of growing (and doubling) with them.
	text []byte
	// sorting is sortSmall's scratch, kept here rather than on the stack, where it would be
	// cleared on every call.
	sorting struct {
		prefix [smallMap]uint64
		idx    [smallMap]uint8
		tmp    [smallMap]node
		// last is the order of the last map sortSmall sorted, of lastN members: the records
		// of one log write their keys in one order, which the next map then usually needs.
		last  [smallMap]uint8
		lastN int
	}
}

// Value is one value of a Tree; the zero Value is Absent.
type Value struct {
	t *Tree
	i int32
}

// Reset forgets every value and makes buf the tree's buffer: the bytes Decode reads (often a
// copy of a Fluent Bit chunk) and where strings made later are appended. Values and strings
// of the tree from before must not be used any more.
func (t *Tree) Reset(buf []byte) {
	t.buf, t.base = buf, len(buf)
	t.nodes = t.nodes[:0]
	t.text = t.text[:0]
}

// Rewind forgets every value, and every string made since the last Reset, but keeps the
// buffer as Reset gave it, so that a long chunk can be decoded a part at a time in the memory
// of one part. Values and strings of the tree from before must not be used any more.
func (t *Tree) Rewind() {
	t.buf = t.buf[:t.base]
	t.nodes = t.nodes[:0]
	t.text = t.text[:0]
}

// Buffer returns the tree's buffer (to copy the next chunk into, after Reset).
func (t *Tree) Buffer() []byte { return t.buf }

// str returns buf[off:off+n] as a string without copying.
func (t *Tree) str(off, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&t.buf[off], n)
}

// Text appends what write appends to the tree's buffer and returns it as a string, valid like
// every string of the tree. It is how strings computed from values (numbers as text, record
// IDs, JSON renderings) cost no allocation of their own.
func (t *Tree) Text(write func([]byte) []byte) string {
	start := len(t.text)
	t.text = write(t.text)
	if len(t.text) == start {
		return ""
	}
	return unsafe.String(&t.text[start], len(t.text)-start)
}

func (t *Tree) add(n node) int32 {
	t.nodes = append(t.nodes, n)
	return int32(len(t.nodes) - 1)
}

// Decode decodes the msgpack object at buf[off:end] (buf as given to Reset).
func (t *Tree) Decode(off, end int) (Value, error) {
	i := t.add(node{})
	rest, err := t.decode(i, t.buf[off:end], off, 0)
	if err != nil {
		return Value{}, err
	}
	if len(rest) != 0 {
		return Value{}, fmt.Errorf("%w: %d bytes after the object", errMalformed, len(rest))
	}
	return Value{t, i}, nil
}

// DecodePrefix decodes the msgpack object that starts at buf[off] and returns it with the
// offset where it ends: for a caller that does not know the object's length, which decoding
// finds anyway. On error the tree is as it was before the call.
func (t *Tree) DecodePrefix(off int) (Value, int, error) {
	nodes, buf := len(t.nodes), len(t.buf)
	i := t.add(node{})
	rest, err := t.decode(i, t.buf[off:t.base], off, 0)
	if err != nil {
		t.nodes, t.buf = t.nodes[:nodes], t.buf[:buf]
		return Value{}, 0, err
	}
	return Value{t, i}, t.base - len(rest), nil
}

// decode fills node i from the object at the start of b, which starts at buf offset base; depth
// is the nesting level of the container holding it.
func (t *Tree) decode(i int32, b []byte, base, depth int) ([]byte, error) {
	if len(b) == 0 {
		return nil, errMalformed
	}
	c := b[0]
	n := &t.nodes[i]
	switch {
	case c <= 0x7f:
		n.kind, n.num = Int, uint64(c)
		return b[1:], nil
	case c >= 0xe0:
		n.kind, n.num = Int, uint64(int64(int8(c)))
		return b[1:], nil
	case c >= 0xa0 && c <= 0xbf:
		return t.bytes(i, String, b, base, 1, int(c&0x1f))
	case c >= 0x80 && c <= 0x8f:
		return t.container(i, Map, b[1:], base+1, int(c&0x0f), depth)
	case c >= 0x90 && c <= 0x9f:
		return t.container(i, Array, b[1:], base+1, int(c&0x0f), depth)
	}
	switch c {
	case 0xc0:
		n.kind = Null
		return b[1:], nil
	case 0xc2, 0xc3:
		n.kind, n.num = Bool, uint64(c-0xc2)
		return b[1:], nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		size := 1 << (c - 0xcc)
		if len(b) < 1+size {
			return nil, errMalformed
		}
		u := beUint(b[1 : 1+size])
		n.kind, n.num = Int, u
		if u > math.MaxInt64 {
			n.kind = Uint
		}
		return b[1+size:], nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		if len(b) < 1+size {
			return nil, errMalformed
		}
		u := beUint(b[1 : 1+size])
		shift := 64 - 8*size
		n.kind, n.num = Int, uint64(int64(u<<shift)>>shift)
		return b[1+size:], nil
	case 0xca:
		if len(b) < 5 {
			return nil, errMalformed
		}
		n.kind, n.num = Float, math.Float64bits(float64(math.Float32frombits(binary.BigEndian.Uint32(b[1:]))))
		return b[5:], nil
	case 0xcb:
		if len(b) < 9 {
			return nil, errMalformed
		}
		n.kind, n.num = Float, binary.BigEndian.Uint64(b[1:])
		return b[9:], nil
	case 0xd9, 0xda, 0xdb:
		size := 1 << (c - 0xd9)
		if len(b) < 1+size {
			return nil, errMalformed
		}
		return t.bytes(i, String, b, base, 1+size, int(beUint(b[1:1+size])))
	case 0xc4, 0xc5, 0xc6:
		size := 1 << (c - 0xc4)
		if len(b) < 1+size {
			return nil, errMalformed
		}
		return t.bytes(i, Binary, b, base, 1+size, int(beUint(b[1:1+size])))
	case 0xdc, 0xdd, 0xde, 0xdf:
		size := 2 << ((c - 0xdc) & 1)
		if len(b) < 1+size {
			return nil, errMalformed
		}
		kind := Array
		if c >= 0xde {
			kind = Map
		}
		return t.container(i, kind, b[1+size:], base+1+size, int(beUint(b[1:1+size])), depth)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xc7, 0xc8, 0xc9:
		return t.ext(i, b, base)
	}
	return nil, fmt.Errorf("%w: byte 0x%02x", errMalformed, c)
}

func beUint(b []byte) uint64 {
	var u uint64
	for _, c := range b {
		u = u<<8 | uint64(c)
	}
	return u
}

// bytes fills node i with the str or bin payload of size bytes after a header of hdr bytes.
func (t *Tree) bytes(i int32, kind Kind, b []byte, base, hdr, size int) ([]byte, error) {
	if size < 0 || len(b)-hdr < size {
		return nil, errMalformed
	}
	n := &t.nodes[i]
	n.kind, n.off, n.n = kind, uint32(base+hdr), uint32(size)
	return b[hdr+size:], nil
}

// eventTimeExt is the ext type of Fluent Bit's EventTime.
const eventTimeExt = 0

func (t *Tree) ext(i int32, b []byte, base int) ([]byte, error) {
	var hdr, size int
	switch c := b[0]; {
	case c >= 0xd4 && c <= 0xd8:
		hdr, size = 2, 1<<(c-0xd4)
	default: // ext 8, 16, 32
		lenBytes := 1 << (c - 0xc7)
		hdr = 2 + lenBytes
		if len(b) < hdr {
			return nil, errMalformed
		}
		size = int(beUint(b[1 : 1+lenBytes]))
	}
	if len(b) < hdr || len(b)-hdr < size {
		return nil, errMalformed
	}
	typ := int8(b[hdr-1])
	data := b[hdr : hdr+size]
	n := &t.nodes[i]
	if typ == eventTimeExt && size == 8 {
		if sec, nsec := binary.BigEndian.Uint32(data), binary.BigEndian.Uint32(data[4:]); nsec < 1e9 {
			n.kind, n.num, n.off = Time, uint64(sec), nsec
			return b[hdr+size:], nil
		}
	}
	n.kind, n.num, n.off, n.n = Ext, uint64(uint8(typ)), uint32(base+hdr), uint32(size)
	return b[hdr+size:], nil
}

// container fills node i with a map or array of count elements, whose encoding starts at b
// (buffer offset base). The elements get a run of nodes of their own; nested containers are
// appended after it.
func (t *Tree) container(i int32, kind Kind, b []byte, base, count, depth int) ([]byte, error) {
	if depth+1 > MaxDepth {
		return nil, fmt.Errorf("%w: more than %d levels", ErrTooDeep, MaxDepth)
	}
	// Every element takes at least one byte (a map member two): a count the bytes cannot hold
	// is refused before anything is allocated for it.
	min := count
	if kind == Map {
		min *= 2
	}
	if count < 0 || min > len(b) {
		return nil, errMalformed
	}
	first := len(t.nodes)
	t.nodes = slices.Grow(t.nodes, count)[:first+count]
	clear(t.nodes[first:])
	rest := b
	for k := range count {
		el := int32(first + k)
		var err error
		if kind == Map {
			if rest, err = t.key(el, rest, base+len(b)-len(rest), depth+1); err != nil {
				return nil, err
			}
		}
		if rest, err = t.decode(el, rest, base+len(b)-len(rest), depth+1); err != nil {
			return nil, err
		}
	}
	if kind == Map {
		count = t.sortMembers(first, count)
	}
	n := &t.nodes[i]
	n.kind, n.off, n.n = kind, uint32(first), uint32(count)
	return rest, nil
}

// key fills the key of member node el from the map key at the start of b.
func (t *Tree) key(el int32, b []byte, base, depth int) ([]byte, error) {
	if len(b) == 0 {
		return nil, errMalformed
	}
	var hdr, size int
	switch c := b[0]; {
	case c >= 0xa0 && c <= 0xbf:
		hdr, size = 1, int(c&0x1f)
	case c == 0xd9 || c == 0xda || c == 0xdb:
		hdr = 1 + 1<<(c-0xd9)
	case c == 0xc4 || c == 0xc5 || c == 0xc6:
		hdr = 1 + 1<<(c-0xc4)
	default:
		return t.otherKey(el, b, base, depth)
	}
	if hdr > 1 {
		if len(b) < hdr {
			return nil, errMalformed
		}
		size = int(beUint(b[1:hdr]))
	}
	if len(b)-hdr < size {
		return nil, errMalformed
	}
	n := &t.nodes[el]
	n.key, n.keyLen = uint32(base+hdr), uint32(size)
	return b[hdr+size:], nil
}

// otherKey decodes a key that is not a string into a scratch node and names the member with
// fmt's %v of it, as a Go map[string]any built from the body would.
func (t *Tree) otherKey(el int32, b []byte, base, depth int) ([]byte, error) {
	scratch := t.add(node{})
	rest, err := t.decode(scratch, b, base, depth)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprint(Value{t, scratch}.Any())
	start := len(t.buf)
	t.buf = append(t.buf, name...)
	n := &t.nodes[el]
	n.key, n.keyLen = uint32(start), uint32(len(name))
	return rest, nil
}

// sortMembers sorts the count members from first by key, keeping equal keys in their order,
// then drops every member but the last of each key. It returns the members left.
func (t *Tree) sortMembers(first, count int) int {
	m := t.nodes[first : first+count]
	switch {
	case count < 2:
		return count
	case count <= smallMap:
		t.sortSmall(m)
	default:
		slices.SortStableFunc(m, func(a, b node) int { return strings.Compare(t.keyOf(&a), t.keyOf(&b)) })
	}
	out := 0
	for i := range m {
		if i+1 < count && m[i].keyLen == m[i+1].keyLen && t.keyOf(&m[i]) == t.keyOf(&m[i+1]) {
			continue // a later member has the same key
		}
		m[out] = m[i]
		out++
	}
	return out
}

// smallMap is the most members sortSmall orders; nearly every map of a log record has fewer.
const smallMap = 32

// sortSmall is a stable insertion sort of up to smallMap members by key. It orders indices by
// the keys' first eight bytes, which settle nearly every comparison without a call, and moves
// the 32-byte members once at the end.
func (t *Tree) sortSmall(m []node) {
	prefix, idx, tmp := &t.sorting.prefix, &t.sorting.idx, &t.sorting.tmp
	n := len(m)
	sorted := true
	for i := range m {
		prefix[i], idx[i] = t.keyPrefix(&m[i]), uint8(i)
		if i > 0 && (prefix[i] < prefix[i-1] || prefix[i] == prefix[i-1] && t.keyOf(&m[i]) < t.keyOf(&m[i-1])) {
			sorted = false
		}
	}
	if sorted {
		return
	}
	if !(t.sorting.lastN == n && t.stablySorted(m, t.sorting.last[:n])) {
		for i := 1; i < n; i++ {
			for j := i; j > 0; j-- {
				a, b := idx[j], idx[j-1]
				if prefix[a] > prefix[b] || prefix[a] == prefix[b] && t.keyOf(&m[a]) >= t.keyOf(&m[b]) {
					break
				}
				idx[j], idx[j-1] = b, a
			}
		}
		t.sorting.last, t.sorting.lastN = *idx, n
	} else {
		copy(idx[:n], t.sorting.last[:n])
	}
	copy(tmp[:n], m)
	for i, k := range idx[:n] {
		m[i] = tmp[k]
	}
}

// stablySorted reports whether order (a permutation of m's indices; sortSmall's prefixes filled
// in) lists m's members as the stable sort by key does: keys ascending, equal keys in the order
// they came. That order is unique, so the sort need not run to find it.
func (t *Tree) stablySorted(m []node, order []uint8) bool {
	prefix := &t.sorting.prefix
	var seen uint32
	for i, a := range order {
		if int(a) >= len(m) || seen&(1<<a) != 0 {
			return false
		}
		seen |= 1 << a
		if i == 0 {
			continue
		}
		b := order[i-1]
		if prefix[b] > prefix[a] {
			return false
		}
		if prefix[b] == prefix[a] {
			if kb, ka := t.keyOf(&m[b]), t.keyOf(&m[a]); kb > ka || kb == ka && b > a {
				return false
			}
		}
	}
	return true
}

// keyPrefix packs the first eight bytes of a member's key, zero-padded, so that comparing
// prefixes orders keys as comparing the keys does, up to ties.
func (t *Tree) keyPrefix(n *node) uint64 {
	k := t.keyOf(n)
	if len(k) >= 8 {
		return uint64(k[0])<<56 | uint64(k[1])<<48 | uint64(k[2])<<40 | uint64(k[3])<<32 |
			uint64(k[4])<<24 | uint64(k[5])<<16 | uint64(k[6])<<8 | uint64(k[7])
	}
	var p uint64
	for i := range 8 {
		p <<= 8
		if i < len(k) {
			p |= uint64(k[i])
		}
	}
	return p
}

func (t *Tree) keyOf(n *node) string { return t.str(n.key, n.keyLen) }

// nodeOf returns the node of v.
func (v Value) node() *node { return &v.t.nodes[v.i] }

// Kind returns v's type; Absent for the zero Value.
func (v Value) Kind() Kind {
	if v.t == nil {
		return Absent
	}
	return v.node().kind
}

// Exists reports whether v is a value (not Absent). A null exists.
func (v Value) Exists() bool { return v.t != nil }

// IsNull reports whether v is absent or null, which the processors treat alike.
func (v Value) IsNull() bool { k := v.Kind(); return k == Absent || k == Null }

// Tree returns the tree v belongs to.
func (v Value) Tree() *Tree { return v.t }

// Str returns the text of a String or Binary value, and "" for other kinds.
func (v Value) Str() string {
	if k := v.Kind(); k != String && k != Binary {
		return ""
	}
	n := v.node()
	return v.t.str(n.off, n.n)
}

// Bool returns a Bool value.
func (v Value) Bool() bool { return v.Kind() == Bool && v.node().num == 1 }

// Int returns an Int value.
func (v Value) Int() int64 {
	if v.Kind() != Int {
		return 0
	}
	return int64(v.node().num)
}

// Uint returns a Uint value.
func (v Value) Uint() uint64 {
	if v.Kind() != Uint {
		return 0
	}
	return v.node().num
}

// Float returns a Float value.
func (v Value) Float() float64 {
	if v.Kind() != Float {
		return 0
	}
	return math.Float64frombits(v.node().num)
}

// Time returns a Time value, in UTC.
func (v Value) Time() time.Time {
	if v.Kind() != Time {
		return time.Time{}
	}
	n := v.node()
	return time.Unix(int64(n.num), int64(n.off)).UTC()
}

// Ext returns an Ext value's type and bytes.
func (v Value) Ext() (int8, []byte) {
	if v.Kind() != Ext {
		return 0, nil
	}
	n := v.node()
	return int8(uint8(n.num)), v.t.buf[n.off : n.off+n.n : n.off+n.n]
}

// Len returns the number of members of a Map or elements of an Array.
func (v Value) Len() int {
	if k := v.Kind(); k != Map && k != Array {
		return 0
	}
	return int(v.node().n)
}

// Elem returns element i of an Array, or the value of member i of a Map (in key order).
func (v Value) Elem(i int) Value {
	return Value{v.t, int32(v.node().off) + int32(i)}
}

// Key returns the key of member i of a Map.
func (v Value) Key(i int) string {
	n := &v.t.nodes[v.node().off+uint32(i)]
	return v.t.str(n.key, n.keyLen)
}

// Get returns the value of key in a Map, spelled exactly; Absent when there is none.
func (v Value) Get(key string) Value {
	if v.Kind() != Map {
		return Value{}
	}
	if i, ok := v.search(key); ok && v.t.keyOf(&v.t.nodes[i]) == key {
		return Value{v.t, int32(i)}
	}
	return Value{}
}

// HasKeyPrefix reports whether a key of a Map begins with prefix: one lookup that can stand
// for the lookups of every key that does.
func (v Value) HasKeyPrefix(prefix string) bool {
	if v.Kind() != Map {
		return false
	}
	i, ok := v.search(prefix)
	return ok && strings.HasPrefix(v.t.keyOf(&v.t.nodes[i]), prefix)
}

// search returns the node of the Map v's first member whose key is not below key; ok is false
// when there is none.
func (v Value) search(key string) (int, bool) {
	n := v.node()
	lo, hi := int(n.off), int(n.off+n.n)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if v.t.keyOf(&v.t.nodes[mid]) < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < int(n.off+n.n)
}
