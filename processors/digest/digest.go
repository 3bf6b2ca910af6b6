// Package digest hashes what identifies a record into its deterministic Elasticsearch _id; what
// goes in is decided by processors/recordid.go.
//
// Real CloudTrail data shows that no field of an event is a reliable key on its own: test and
// replayed events reuse eventIDs ("1", the same UUID across unrelated events), and the same event
// can arrive twice (CloudTrail delivers at least once, Fluent Bit retries chunks). So the ID
// hashes the record kind, the type's natural key and a canonical digest of the content it is
// given: values that differ in anything never share an ID.
//
// The canonical form is independent of where the event came from: map keys are sorted, numbers
// are normalised (msgpack int 5, JSON 5.0 and uint 5 hash the same; 5.5 stays a float), a
// binary string hashes like the string it holds, and every value is tagged with its type and
// every string and container is length-prefixed, so "5" and 5, or ["a","b"] and ["ab"], differ.
//
// The hash is XXH3-128, not a cryptographic hash: it is several times faster than SHA-256 on
// the hot path, and 128 bits make accidental collisions negligible. A deliberate collision
// would only matter if it made Elasticsearch drop a real event as a duplicate of a forged one
// written first, which needs the real event's exact content in advance; CloudTrail eventIDs and
// requestIDs, GuardDuty finding IDs and Zeek uids are random and assigned after the fact.
package digest

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/zeebo/xxh3"

	"github.com/siemscore/siemscore/processors/body"
)

// Key is a record type's natural key: up to three strings, e.g. CloudTrail's eventID,
// eventTime and recipientAccountId.
type Key [3]string

// Size is the number of hash bytes in an ID (128 bits); the ID is their unpadded URL-safe
// base64 form, 22 characters.
const Size = 16

// Sum is the hash of what identifies a record; its ID is the text form.
type Sum [Size]byte

// Hash returns the sum for an event of kind with natural key key and content event, a value of
// a body tree (for input that never became a map, a String of the raw text).
func Hash(kind uint8, key Key, event body.Value) Sum {
	w := pool.Get().(*writer)
	w.reset()
	w.byte(kind)
	for _, k := range key {
		w.str(k)
	}
	w.value(event)
	w.flush()
	sum := Sum(w.h.Sum128().Bytes())
	pool.Put(w)
	return sum
}

// AppendID appends the ID of s: its unpadded URL-safe base64 form, 22 characters.
func (s Sum) AppendID(b []byte) []byte {
	return base64.RawURLEncoding.AppendEncode(b, s[:])
}

// ID returns the record ID for an event (see Hash). It is written into the event's tree, so it
// costs no allocation and lives as long as the tree's strings.
func ID(kind uint8, key Key, event body.Value) string {
	return event.Tree().Text(Hash(kind, key, event).AppendID)
}

var pool = sync.Pool{New: func() any { return &writer{h: xxh3.New128()} }}

// writer feeds the canonical form to the hash through a small buffer: each Write to the hasher
// has a fixed cost that would dominate for the short tokens the walk emits.
type writer struct {
	h   *xxh3.Hasher128
	n   int
	buf [512]byte
}

func (w *writer) reset() {
	w.h.Reset()
	w.n = 0
}

func (w *writer) flush() {
	w.h.Write(w.buf[:w.n])
	w.n = 0
}

func (w *writer) byte(c byte) {
	if w.n == len(w.buf) {
		w.flush()
	}
	w.buf[w.n] = c
	w.n++
}

// fixed writes a tag and a fixed-width number (integers, float bits).
func (w *writer) fixed(tag byte, u uint64) {
	if w.n+9 > len(w.buf) {
		w.flush()
	}
	w.buf[w.n] = tag
	binary.LittleEndian.PutUint64(w.buf[w.n+1:], u)
	w.n += 9
}

// length writes a tag and a varint length (strings, maps, arrays): most are short, and a
// compact form is less to hash.
func (w *writer) length(tag byte, n int) {
	if w.n+1+binary.MaxVarintLen64 > len(w.buf) {
		w.flush()
	}
	w.buf[w.n] = tag
	w.n += 1 + binary.PutUvarint(w.buf[w.n+1:], uint64(n))
}

func bytes[T string | []byte](w *writer, s T) {
	for len(s) > 0 {
		if w.n == len(w.buf) {
			w.flush()
		}
		c := copy(w.buf[w.n:], s)
		w.n += c
		s = s[c:]
	}
}

// str writes a length-prefixed string, so that concatenations cannot collide.
func (w *writer) str(s string) {
	if n := w.n + 1 + binary.MaxVarintLen64 + len(s); n <= len(w.buf) {
		// The common case, a short string that fits: one bounds check for tag, length and text.
		w.buf[w.n] = tagString
		w.n++
		w.n += binary.PutUvarint(w.buf[w.n:], uint64(len(s)))
		w.n += copy(w.buf[w.n:], s)
		return
	}
	w.length(tagString, len(s))
	bytes(w, s)
}

// Type tags of the canonical form.
const (
	tagNull   = 'n'
	tagString = 's'
	tagFalse  = 'f'
	tagTrue   = 't'
	tagInt    = 'i'
	tagUint   = 'u' // above MaxInt64
	tagFloat  = 'd' // non-integral, or outside the int64 range
	tagTime   = 'T'
	tagMap    = 'm'
	tagArray  = 'a'
	tagOther  = 'x'
)

func (w *writer) value(v body.Value) {
	switch v.Kind() {
	case body.Null, body.Absent:
		w.byte(tagNull)
	case body.String, body.Binary:
		w.str(v.Str())
	case body.Bool:
		if v.Bool() {
			w.byte(tagTrue)
		} else {
			w.byte(tagFalse)
		}
	case body.Int:
		w.fixed(tagInt, uint64(v.Int()))
	case body.Uint:
		w.fixed(tagUint, v.Uint())
	case body.Float:
		w.float(v.Float())
	case body.Time:
		t := v.Time()
		w.fixed(tagTime, uint64(t.Unix()))
		w.fixed(tagTime, uint64(t.Nanosecond()))
	case body.Map:
		w.length(tagMap, v.Len())
		for i := range v.Len() { // members are in key order
			w.str(v.Key(i))
			w.value(v.Elem(i))
		}
	case body.Array:
		w.length(tagArray, v.Len())
		for i := range v.Len() {
			w.value(v.Elem(i))
		}
	case body.Ext:
		// Ext values are rare; they are hashed as the Go syntax of the value the previous
		// msgpack decoder made of them (type decode.Ext), so that their records keep their IDs.
		typ, data := v.Ext()
		w.byte(tagOther)
		w.str(fmt.Sprintf("decode.Ext:decode.Ext{Type:%d, Data:%s}", typ, strings.Replace(fmt.Sprintf("%#v", data), "[]byte", "[]uint8", 1)))
	}
}

func (w *writer) float(f float64) {
	switch {
	case f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63:
		w.fixed(tagInt, uint64(int64(f))) // also folds -0 into 0
	case math.IsNaN(f):
		w.fixed(tagFloat, math.Float64bits(math.NaN()))
	default:
		w.fixed(tagFloat, math.Float64bits(f))
	}
}
