// Package bodyjson writes decoded record bodies (the map[string]any trees the msgpack and JSON
// decoders produce) as compact JSON text with sorted keys.
//
// It exists for speed on the hot path: the general-purpose encoders reach these dynamic values
// through reflection and spend about a microsecond on a CloudTrail requestParameters object of
// a hundred bytes. The output is what encoding/json writes with HTML escaping off, so the text
// is the same whichever decoder the body came from and whatever the map iteration order; values
// JSON cannot hold are written as the nearest valid JSON instead of failing.
package bodyjson

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/siemscore/siemscore/processors/fields"
)

// Append appends the JSON text of v to dst. safe reports whether v was already something a
// standard JSON encoder accepts as it is: false when it held NaN or an infinity (written as
// null), a map with non-string keys (keys formatted with fmt), a time outside years 0..9999
// (its String form) or a type no decoder produces (formatted with fmt).
//
// A []byte (msgpack bin) is written as the text it holds, not base64: producers use bin for
// text, and the hash of a record treats the two alike too.
func Append(dst []byte, v any) (out []byte, safe bool) {
	e := encoder{buf: dst, safe: true}
	e.value(v)
	return e.buf, e.safe
}

type encoder struct {
	buf  []byte
	safe bool
}

func (e *encoder) value(v any) {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendString(e.buf, x)
	case []byte:
		e.buf = appendString(e.buf, x)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case float64:
		e.float(x, 64)
	case float32:
		e.float(float64(x), 32)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case map[string]any:
		e.buf = append(e.buf, '{')
		first := true
		for k, m := range fields.Sorted(x) {
			if !first {
				e.buf = append(e.buf, ',')
			}
			first = false
			e.buf = appendString(e.buf, k)
			e.buf = append(e.buf, ':')
			e.value(m)
		}
		e.buf = append(e.buf, '}')
	case []any:
		e.buf = append(e.buf, '[')
		for i, m := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.value(m)
		}
		e.buf = append(e.buf, ']')
	case time.Time:
		if y := x.Year(); y < 0 || y > 9999 {
			e.safe = false
			e.buf = appendString(e.buf, x.String())
			return
		}
		e.buf = append(e.buf, '"')
		e.buf = x.AppendFormat(e.buf, time.RFC3339Nano)
		e.buf = append(e.buf, '"')
	default:
		e.other(v)
	}
}

// other writes the remaining integer types as numbers and anything else as a string.
func (e *encoder) other(v any) {
	if i, ok := fields.Int(v); ok {
		e.buf = strconv.AppendInt(e.buf, i, 10)
		return
	}
	e.safe = false
	if m, ok := v.(map[any]any); ok {
		converted := make(map[string]any, len(m))
		for k, x := range m {
			converted[fmt.Sprint(k)] = x
		}
		e.value(converted)
		return
	}
	e.buf = appendString(e.buf, fmt.Sprint(v))
}

// float writes f as encoding/json does: shortest representation, exponent form only for very
// small or very large magnitudes, and a two-digit negative exponent shortened (1e-7, not 1e-07).
func (e *encoder) float(f float64, bits int) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.safe = false
		e.buf = append(e.buf, "null"...)
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	e.buf = strconv.AppendFloat(e.buf, f, format, -1, bits)
	if format == 'e' {
		if n := len(e.buf); n >= 4 && e.buf[n-4] == 'e' && e.buf[n-3] == '-' && e.buf[n-2] == '0' {
			e.buf[n-2] = e.buf[n-1]
			e.buf = e.buf[:n-1]
		}
	}
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD, and U+2028/U+2029 escaped, all as encoding/json does.
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
