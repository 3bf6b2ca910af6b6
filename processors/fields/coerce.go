package fields

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// String converts a scalar to a string: strings as they are, []byte (msgpack bin) as text,
// numbers in their shortest exact form (an account ID decoded from JSON as 1.23456789012e+11
// becomes "123456789012"), booleans as "true"/"false". Objects, arrays and null are not
// strings.
func String(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return String(float64(x))
	case time.Time:
		if !InRange(x) {
			return "", false
		}
		return x.UTC().Format(time.RFC3339Nano), true
	}
	if i, ok := intOf(v); ok {
		return strconv.FormatInt(i, 10), true
	}
	if u, ok := v.(uint64); ok {
		return strconv.FormatUint(u, 10), true
	}
	return "", false
}

// Int converts a value to an int64: integers that fit, floats with no fractional part, and
// strings holding either.
func Int(v any) (int64, bool) {
	if i, ok := intOf(v); ok {
		return i, true
	}
	switch x := v.(type) {
	case float64:
		return floatToInt(x)
	case float32:
		return floatToInt(float64(x))
	case string:
		return parseInt(x)
	case []byte:
		return parseInt(string(x))
	}
	return 0, false
}

// Float converts a value to a finite float64: numbers, and strings holding one. NaN and the
// infinities are refused, so they can never reach a score or a JSON document.
func Float(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case uint64:
		f = float64(x)
	case string:
		return parseFloat(x)
	case []byte:
		return parseFloat(string(x))
	default:
		i, ok := intOf(v)
		if !ok {
			return 0, false
		}
		f = float64(i)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Bool converts a value to a bool: booleans, the strings true/false (any case), Zeek's T/F,
// 1/0, and the numbers 1 and 0.
func Bool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		return parseBool(x)
	case []byte:
		return parseBool(string(x))
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

func intOf(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), true
		}
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
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
