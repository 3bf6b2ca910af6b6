// Package fields reads the loosely typed bodies the processors receive. A body comes from
// msgpack (integers, floats, binary strings, EventTime) or from JSON (every number a float).
// Real producers are also loose about spelling and types: CloudTrail exports with all-lowercase
// keys, booleans written as "true" or "T", account IDs as numbers. The helpers here absorb
// those differences so the parsers can state what they want once.
package fields

import (
	"strings"

	"github.com/siemscore/siemscore/processors/body"
)

// Obj is one JSON object of a body, read with case-insensitive key fallback.
//
// A key is looked up as spelled, then all-lowercase (the form some CloudTrail exports use). Only
// objects that have a key starting with a capital letter are also searched for other
// spellings, because that costs a walk over the members on every miss, and the objects read
// this way (userIdentity, GuardDuty findings) never have such keys: a missing optional field
// there costs two binary searches, not a walk. Objects with many optional keys are better read
// with Members, in one pass.
type Obj struct {
	v body.Value
	// capitals caches whether v has a key starting with an ASCII capital: 0 unknown, 1 yes, -1 no.
	capitals int8
}

// O wraps v; anything but a map is an empty object.
func O(v body.Value) Obj {
	if v.Kind() != body.Map {
		return Obj{}
	}
	return Obj{v: v}
}

// Value returns the wrapped map (Absent for an empty Obj made from something else).
func (o *Obj) Value() body.Value { return o.v }

// Len returns the number of keys.
func (o *Obj) Len() int { return o.v.Len() }

// Get returns the value of key, spelled in any case. A JSON null counts as absent.
func (o *Obj) Get(key string) (body.Value, bool) {
	if v := o.v.Get(key); v.Exists() {
		return v, !v.IsNull()
	}
	if o.v.Len() == 0 {
		return body.Value{}, false
	}
	if hasUpper(key) {
		var buf [64]byte
		if b, ok := lowerKey(buf[:], key); ok {
			if v := o.v.Get(string(b)); v.Exists() {
				return v, !v.IsNull()
			}
		}
	}
	if o.capitals == 0 {
		o.capitals = -1
		for i := range o.v.Len() {
			if k := o.v.Key(i); k != "" && k[0] >= 'A' && k[0] <= 'Z' {
				o.capitals = 1
				break
			}
		}
	}
	if o.capitals < 0 {
		return body.Value{}, false
	}
	for i := range o.v.Len() {
		if strings.EqualFold(o.v.Key(i), key) {
			v := o.v.Elem(i)
			return v, !v.IsNull()
		}
	}
	return body.Value{}, false
}

// Has reports whether key is present with a non-null value.
func (o *Obj) Has(key string) bool {
	_, ok := o.Get(key)
	return ok
}

// Str returns key as a string (see String), or "" when absent or not scalar.
func (o *Obj) Str(key string) string {
	v, _ := o.Get(key)
	s, _ := String(v)
	return s
}

// StrOK is Str that also says whether the key held a usable scalar.
func (o *Obj) StrOK(key string) (string, bool) {
	v, ok := o.Get(key)
	if !ok {
		return "", false
	}
	return String(v)
}

// Int returns key as an integer (see Int).
func (o *Obj) Int(key string) (int64, bool) {
	v, _ := o.Get(key)
	return Int(v)
}

// Float returns key as a finite float (see Float).
func (o *Obj) Float(key string) (float64, bool) {
	v, _ := o.Get(key)
	return Float(v)
}

// Bool returns key as a boolean (see Bool).
func (o *Obj) Bool(key string) (bool, bool) {
	v, _ := o.Get(key)
	return Bool(v)
}

// Obj returns the object under key; it is empty when key is absent or not an object.
func (o *Obj) Obj(key string) Obj {
	v, _ := o.Get(key)
	return O(v)
}

// Slice returns the array under key, or Absent.
func (o *Obj) Slice(key string) body.Value {
	v, _ := o.Get(key)
	if v.Kind() != body.Array {
		return body.Value{}
	}
	return v
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
