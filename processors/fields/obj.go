// Package fields reads the loosely typed bodies the processors receive. A body comes from one of
// two decoders: the Fluent Bit msgpack decoder (integers as int64 or uint64, floats as float64,
// binary strings as []byte, EventTime as time.Time) or a JSON decoder (every number float64). Real
// producers are also loose about spelling and types: CloudTrail exports with all-lowercase keys,
// booleans written as "true" or "T", account IDs as numbers. The helpers here absorb those
// differences so the parsers can state what they want once.
package fields

import (
	"strings"
)

// Obj is one JSON object of a body, read with case-insensitive key fallback.
//
// A key is looked up as spelled, then all-lowercase (the form some CloudTrail exports use). Only
// objects that have a key starting with a capital letter are also scanned for other spellings,
// because that scan costs a walk over the map on every miss, and the objects read this way
// (userIdentity, GuardDuty findings) never have such keys: a missing optional field there
// costs two map lookups, not a walk. Objects with many optional keys are better read with
// Members, in one pass.
type Obj struct {
	m map[string]any
	// capitals caches whether m has a key starting with an ASCII capital: 0 unknown, 1 yes, -1 no.
	capitals int8
}

// O wraps m. A nil map is an empty object.
func O(m map[string]any) Obj { return Obj{m: m} }

// Map returns the wrapped map.
func (o *Obj) Map() map[string]any { return o.m }

// Len returns the number of keys.
func (o *Obj) Len() int { return len(o.m) }

// Get returns the value of key, spelled in any case. A JSON null counts as absent.
func (o *Obj) Get(key string) (any, bool) {
	if v, ok := o.m[key]; ok {
		return v, v != nil
	}
	if len(o.m) == 0 {
		return nil, false
	}
	if hasUpper(key) {
		var buf [64]byte
		if b, ok := lowerKey(buf[:], key); ok {
			if v, ok := o.m[string(b)]; ok { // no allocation: the compiler special-cases m[string(b)]
				return v, v != nil
			}
		}
	}
	if o.capitals == 0 {
		o.capitals = -1
		for k := range o.m {
			if k != "" && k[0] >= 'A' && k[0] <= 'Z' {
				o.capitals = 1
				break
			}
		}
	}
	if o.capitals < 0 {
		return nil, false
	}
	for k, v := range o.m {
		if strings.EqualFold(k, key) {
			return v, v != nil
		}
	}
	return nil, false
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
	m, _ := v.(map[string]any)
	return Obj{m: m}
}

// Slice returns the array under key, or nil.
func (o *Obj) Slice(key string) []any {
	v, _ := o.Get(key)
	s, _ := v.([]any)
	return s
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
