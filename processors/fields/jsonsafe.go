package fields

import (
	"fmt"
	"math"
	"time"
)

// JSONSafe returns v in a form every JSON encoder accepts. A msgpack body can hold what JSON cannot: NaN and infinities (they become null),
// maps with non-string keys (keys are formatted), times outside years 0..9999 and any other
// type a decoder may produce (formatted as strings). The common case, a body that is already
// safe, is checked without allocating and returned as is.
// A map[string]any comes back as a map[string]any.
func JSONSafe(v any) any {
	if safe(v) {
		return v
	}
	return clean(v)
}

func safe(v any) bool {
	switch x := v.(type) {
	case nil, bool, string, []byte,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return safe(float64(x))
	case time.Time:
		y := x.UTC().Year()
		return y >= 0 && y <= 9999
	case map[string]any:
		for _, e := range x {
			if !safe(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !safe(e) {
				return false
			}
		}
		return true
	}
	return false
}

func clean(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case float32:
		return clean(float64(x))
	case time.Time:
		if safe(x) {
			return x
		}
		return x.String()
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = clean(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = clean(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clean(e)
		}
		return out
	}
	if safe(v) {
		return v
	}
	return fmt.Sprint(v)
}
