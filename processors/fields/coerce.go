package fields

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/siemscore/siemscore/processors/body"
)

// String converts a scalar to a string: strings as they are, binary strings as text, numbers in
// their shortest exact form (an account ID decoded from JSON as 1.23456789012e+11 becomes
// "123456789012"), booleans as "true"/"false", times in RFC 3339. Objects, arrays, null and
// absent values are not strings. Numbers and times are written into v's tree, so that no
// conversion allocates.
func String(v body.Value) (string, bool) {
	switch v.Kind() {
	case body.String, body.Binary:
		return v.Str(), true
	case body.Bool:
		if v.Bool() {
			return "true", true
		}
		return "false", true
	case body.Float:
		x := v.Float()
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", false
		}
		return v.Tree().Text(func(b []byte) []byte { return appendDecimal(b, x) }), true
	case body.Time:
		t := v.Time()
		if !InRange(t) {
			return "", false
		}
		return v.Tree().Text(func(b []byte) []byte { return t.AppendFormat(b, time.RFC3339Nano) }), true
	case body.Int:
		x := v.Int()
		if x >= 0 && x < 100 {
			return strconv.Itoa(int(x)), true // static strings: no need to use the tree
		}
		return v.Tree().Text(func(b []byte) []byte { return strconv.AppendInt(b, x, 10) }), true
	case body.Uint:
		x := v.Uint()
		return v.Tree().Text(func(b []byte) []byte { return strconv.AppendUint(b, x, 10) }), true
	}
	return "", false
}

// Int converts a value to an int64: integers that fit, floats with no fractional part, and
// strings holding either.
func Int(v body.Value) (int64, bool) {
	switch v.Kind() {
	case body.Int:
		return v.Int(), true
	case body.Float:
		return floatToInt(v.Float())
	case body.String, body.Binary:
		return parseInt(v.Str())
	}
	return 0, false
}

// Float converts a value to a finite float64: numbers, and strings holding one. NaN and the
// infinities are refused, so they can never reach a score or a JSON document.
func Float(v body.Value) (float64, bool) {
	var f float64
	switch v.Kind() {
	case body.Float:
		f = v.Float()
	case body.Int:
		f = float64(v.Int())
	case body.Uint:
		f = float64(v.Uint())
	case body.String, body.Binary:
		return parseFloat(v.Str())
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Bool converts a value to a bool: booleans, the strings true/false (any case), Zeek's T/F,
// 1/0, and the numbers 1 and 0.
func Bool(v body.Value) (bool, bool) {
	switch v.Kind() {
	case body.Bool:
		return v.Bool(), true
	case body.String, body.Binary:
		return parseBool(v.Str())
	}
	if i, ok := Int(v); ok && (i == 0 || i == 1) {
		return i == 1, true
	}
	return false, false
}

func parseBool(s string) (bool, bool) {
	switch strings.TrimSpace(s) {
	case "T", "t", "1":
		return true, true
	case "F", "f", "0":
		return false, true
	}
	s = strings.TrimSpace(s)
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// floatToInt accepts only integral floats inside the int64 range: 2^63 itself is representable
// as a float64 but not as an int64, hence the strict upper bound.
func floatToInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

func parseInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	if f, ok := parseFloat(s); ok {
		return floatToInt(f)
	}
	return 0, false
}

func parseFloat(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// appendDecimal appends x as strconv.AppendFloat(b, x, 'f', -1, 64) does. Zeek's ts, epoch
// seconds to the microsecond, is written so for every Kerberos record (it is part of the _id),
// and the general shortest-decimal algorithm took about a twentieth of the record's processing.
// Below 2^33 doubles are less than 1e-6 apart, so a decimal of at most six fractional digits
// that reads back as x is the shortest that does: any other with as few digits would also have
// at most six, and two of those are at least 1e-6 apart, too far to both read back as x.
func appendDecimal(b []byte, x float64) []byte {
	if !math.Signbit(x) && x < 1<<33 {
		if m := math.Round(x * 1e6); m/1e6 == x {
			u := uint64(m)
			b = strconv.AppendUint(b, u/1e6, 10)
			if f := u % 1e6; f != 0 {
				var d [7]byte
				d[0] = '.'
				for i := 6; i > 0; i-- {
					d[i] = byte('0' + f%10)
					f /= 10
				}
				n := len(d)
				for d[n-1] == '0' {
					n--
				}
				b = append(b, d[:n]...)
			}
			return b
		}
	}
	return strconv.AppendFloat(b, x, 'f', -1, 64)
}
