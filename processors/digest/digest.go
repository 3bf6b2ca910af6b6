// Package digest computes the deterministic Elasticsearch _id of a record.
//
// Real CloudTrail data shows that no field of an event is a reliable key on its own: test and
// replayed events reuse eventIDs ("1", the same UUID across unrelated events), and the same event
// can arrive twice (CloudTrail delivers at least once, Fluent Bit retries chunks). So the ID
// hashes the record kind, the type's natural key and a canonical digest of the whole event:
// identical events collapse into one document, and events that differ in any value never share
// an ID.
//
// The canonical form is independent of where the event came from: map keys are sorted, numbers
// are normalised (msgpack int64 5, JSON 5.0 and uint64 5 hash the same; 5.5 stays a float), a
// []byte hashes like the string it holds, and every value is tagged with its type, so "5" and 5,
// or ["a","b"] and ["ab"], differ. SHA-256 (hardware accelerated on amd64 and arm64) keeps
// crafted collisions out of reach: an ID collision would silently drop an event as a duplicate,
// which an attacker who controls request parameters must not be able to arrange.
package digest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"slices"
	"sync"
	"time"
)

// Key is a record type's natural key: up to three strings, e.g. CloudTrail's eventID,
// eventTime and recipientAccountId.
type Key [3]string

// Size is the number of hash bytes in an ID (128 bits); the ID is their unpadded URL-safe
// base64 form, 22 characters.
const Size = 16

// ID returns the record ID for an event of kind with natural key key and content event. event
// is a decoded body value (map[string]any, []any, scalars) or, for input that never became a
// map, the raw string.
func ID(kind uint8, key Key, event any) string {
	w := pool.Get().(*writer)
	w.reset()
	w.byte(kind)
	for _, k := range key {
		w.str(k)
	}
	w.value(event)
	var sum [sha256.Size]byte
	w.flush()
	w.h.Sum(sum[:0])
	pool.Put(w)
	return base64.RawURLEncoding.EncodeToString(sum[:Size])
}

var pool = sync.Pool{New: func() any { return &writer{h: sha256.New()} }}

// writer feeds the canonical form to the hash through a small buffer: hash.Hash.Write has a
// fixed cost per call that would dominate for the short tokens the walk emits.
type writer struct {
	h   hash.Hash
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

func (w *writer) uint64(tag byte, u uint64) {
	if w.n+9 > len(w.buf) {
		w.flush()
	}
	w.buf[w.n] = tag
	binary.BigEndian.PutUint64(w.buf[w.n+1:], u)
	w.n += 9
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
	w.uint64('s', uint64(len(s)))
	bytes(w, s)
}

// Type tags of the canonical form.
const (
	tagNull   = 'n'
	tagFalse  = 'f'
	tagTrue   = 't'
	tagInt    = 'i'
	tagUint   = 'u' // above MaxInt64
	tagFloat  = 'd' // non-integral, or outside the int64 range
	tagTime   = 'T'
	tagMap    = 'm'
	tagArray  = 'a'
	tagOther  = 'x'
	sortStack = 32 // maps up to this size collect their keys without allocating
)

func (w *writer) value(v any) {
	switch x := v.(type) {
	case nil:
		w.byte(tagNull)
	case string:
		w.str(x)
	case []byte:
		w.uint64('s', uint64(len(x)))
		bytes(w, x)
	case bool:
		if x {
			w.byte(tagTrue)
		} else {
			w.byte(tagFalse)
		}
	case int64:
		w.uint64(tagInt, uint64(x))
	case int:
		w.uint64(tagInt, uint64(int64(x)))
	case int32:
		w.uint64(tagInt, uint64(int64(x)))
	case int16:
		w.uint64(tagInt, uint64(int64(x)))
	case int8:
		w.uint64(tagInt, uint64(int64(x)))
	case uint32:
		w.uint64(tagInt, uint64(x))
	case uint16:
		w.uint64(tagInt, uint64(x))
	case uint8:
		w.uint64(tagInt, uint64(x))
	case uint:
		w.value(uint64(x))
	case uint64:
		if x <= math.MaxInt64 {
			w.uint64(tagInt, x)
		} else {
			w.uint64(tagUint, x)
		}
	case float64:
		w.float(x)
	case float32:
		w.float(float64(x))
	case time.Time:
		w.uint64(tagTime, uint64(x.Unix()))
		w.uint64(tagTime, uint64(x.Nanosecond()))
	case map[string]any:
		w.object(x)
	case []any:
		w.uint64(tagArray, uint64(len(x)))
		for _, e := range x {
			w.value(e)
		}
	default:
		// Other decoder types (msgpack ext values) are rare; their Go syntax with the type name is deterministic and distinct per type.
		w.byte(tagOther)
		w.str(fmt.Sprintf("%T:%#v", v, v))
	}
}

func (w *writer) float(f float64) {
	switch {
	case f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63:
		w.uint64(tagInt, uint64(int64(f))) // also folds -0 into 0
	case math.IsNaN(f):
		w.uint64(tagFloat, math.Float64bits(math.NaN()))
	default:
		w.uint64(tagFloat, math.Float64bits(f))
	}
}

func (w *writer) object(m map[string]any) {
	w.uint64(tagMap, uint64(len(m)))
	var stack [sortStack]string
	var keys []string
	if len(m) <= sortStack {
		keys = stack[:0]
	} else {
		keys = make([]string, 0, len(m))
	}
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.str(k)
		w.value(m[k])
	}
}
