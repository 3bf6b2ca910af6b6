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
	w.buf = append(w.buf[:0], kind)
	for _, k := range key {
		w.str(k)
	}
	w.value(event)
	sum := Sum(xxh3.Hash128(w.buf).Bytes())
	if cap(w.buf) <= maxPooledForm {
		pool.Put(w)
	}
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

var pool = sync.Pool{New: func() any { return new(writer) }}

// maxPooledForm bounds the canonical forms whose memory is kept for the next one: a record's
// is a few hundred bytes to a few KB; an outsized one's buffer is left to the collector.
const maxPooledForm = 64 << 10

// writer writes the canonical form into one buffer, which is then hashed in one call: XXH3's
// one-shot form is the streaming form's result without its per-write and buffering costs.
type writer struct {
	buf []byte
}

// fixed writes a tag and a fixed-width number (integers, float bits).
func (w *writer) fixed(tag byte, u uint64) {
	w.buf = binary.LittleEndian.AppendUint64(append(w.buf, tag), u)
}

// length writes a tag and a varint length (strings, maps, arrays): most are short, and a
// compact form is less to hash.
func (w *writer) length(tag byte, n int) {
	w.buf = binary.AppendUvarint(append(w.buf, tag), uint64(n))
}

// str writes a length-prefixed string, so that concatenations cannot collide.
func (w *writer) str(s string) {
	w.length(tagString, len(s))
	w.buf = append(w.buf, s...)
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
		w.buf = append(w.buf, tagNull)
	case body.String, body.Binary:
		w.str(v.Str())
	case body.Bool:
		if v.Bool() {
			w.buf = append(w.buf, tagTrue)
		} else {
			w.buf = append(w.buf, tagFalse)
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
		w.buf = append(w.buf, tagOther)
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
