// Package fuzzbody turns JSON test input into the bodies the processors receive from either
// decoder. JSON alone only yields float64 numbers and string text; the Fluent Bit msgpack decoder
// also yields int64, uint64, []byte and non-finite floats, so fuzz targets and benchmarks pass
// their JSON through Decode with a mode that picks which of those forms to produce.
package fuzzbody

import (
	"math"

	json "github.com/goccy/go-json"
)

// Modes, combinable.
const (
	Ints      uint8 = 1 << iota // integral numbers as int64 (uint64 above MaxInt64), as msgpack decodes them
	Bytes                       // strings as []byte, as msgpack bin values decode
	NonFinite                   // the strings "NaN", "+Inf" and "-Inf" become those floats
)

// Decode unmarshals data and converts the result according to mode.
func Decode(data []byte, mode uint8) (any, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return Convert(v, mode), nil
}

// Convert converts a JSON-decoded value according to mode; map keys stay strings.
func Convert(v any, mode uint8) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = Convert(e, mode)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = Convert(e, mode)
		}
		return x
	case float64:
		if mode&Ints != 0 && x == math.Trunc(x) {
			switch {
			case x >= -(1<<63) && x < 1<<63:
				return int64(x)
			case x >= 0 && x < 1<<64:
				return uint64(x)
			}
		}
		return x
	case string:
		if mode&NonFinite != 0 {
			switch x {
			case "NaN":
				return math.NaN()
			case "+Inf":
				return math.Inf(1)
			case "-Inf":
				return math.Inf(-1)
			}
		}
		if mode&Bytes != 0 {
			return []byte(x)
		}
	}
	return v
}
