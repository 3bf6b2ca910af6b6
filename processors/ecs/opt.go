package ecs

import (
	"math"
	"strconv"
	"time"
)

// The Opt types are values that may be absent. A score of 0 or a `false` flag is meaningful in
// an alert rule, so "absent" cannot be the zero value; and pointers would cost an allocation per
// field per record on the hot path.

// OptFloat is an optional float64. Non-finite values encode as null so a bad number can never
// make the document invalid JSON.
type OptFloat struct {
	V   float64
	Set bool
}

// Float returns a set OptFloat.
func Float(v float64) OptFloat { return OptFloat{V: v, Set: true} }

// IsZero reports whether the value is absent (used by `omitzero`).
func (o OptFloat) IsZero() bool { return !o.Set }

// MarshalJSON implements json.Marshaler.
func (o OptFloat) MarshalJSON() ([]byte, error) {
	if !o.Set || math.IsNaN(o.V) || math.IsInf(o.V, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(make([]byte, 0, 24), o.V, 'g', -1, 64), nil
}

// OptInt is an optional int64.
type OptInt struct {
	V   int64
	Set bool
}

// Int returns a set OptInt.
func Int(v int64) OptInt { return OptInt{V: v, Set: true} }

// IsZero reports whether the value is absent.
func (o OptInt) IsZero() bool { return !o.Set }

// MarshalJSON implements json.Marshaler.
func (o OptInt) MarshalJSON() ([]byte, error) {
	if !o.Set {
		return []byte("null"), nil
	}
	return strconv.AppendInt(make([]byte, 0, 20), o.V, 10), nil
}

// OptBool is an optional bool.
type OptBool struct {
	V   bool
	Set bool
}

// Bool returns a set OptBool.
func Bool(v bool) OptBool { return OptBool{V: v, Set: true} }

// IsZero reports whether the value is absent.
func (o OptBool) IsZero() bool { return !o.Set }

// MarshalJSON implements json.Marshaler.
func (o OptBool) MarshalJSON() ([]byte, error) {
	switch {
	case !o.Set:
		return []byte("null"), nil
	case o.V:
		return []byte("true"), nil
	default:
		return []byte("false"), nil
	}
}

// OptTime is an optional timestamp, encoded as RFC 3339 with nanoseconds in UTC.
type OptTime struct {
	V   time.Time
	Set bool
}

// Time returns a set OptTime.
func Time(v time.Time) OptTime { return OptTime{V: v, Set: true} }

// IsZero reports whether the value is absent.
func (o OptTime) IsZero() bool { return !o.Set }

// MarshalJSON implements json.Marshaler.
func (o OptTime) MarshalJSON() ([]byte, error) {
	if !o.Set {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 40)
	b = append(b, '"')
	b = o.V.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}
