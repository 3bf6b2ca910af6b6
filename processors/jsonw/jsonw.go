// Package jsonw writes JSON strings and numbers byte for byte as encoding/json (and
// goccy/go-json, which the plugin used before) writes them, for the hand-written encoders of
// the hot path: the ECS document encoder and the record body writer.
package jsonw

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// safe[c] is true for the ASCII bytes a JSON string holds as they are; html adds <, > and &.
var safe, safeHTML = func() (plain, html [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
	return
}()

// String appends s as a JSON string as encoding/json.Marshal writes one: quotes, backslashes
// and control characters escaped (\n, \r, \t, \b, \f by name), <, > and & escaped for HTML,
// invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func String[T string | []byte](dst []byte, s T) []byte { return appendString(dst, s, &safeHTML) }

// StringNoHTML is String without the HTML escapes: encoding/json with SetEscapeHTML(false).
func StringNoHTML[T string | []byte](dst []byte, s T) []byte { return appendString(dst, s, &safe) }

func appendString[T string | []byte](dst []byte, s T, ok *[utf8.RuneSelf]bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if ok[c] {
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

// Float appends a finite f as encoding/json writes a float64: the shortest decimal that reads
// back as f, in exponent form below 1e-6 and from 1e21, with the exponent's leading zero
// dropped (1e-7, not 1e-07). The caller decides what a non-finite value becomes.
func Float(dst []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// Time appends t as time.Time.MarshalJSON writes it: RFC 3339 with nanoseconds, quoted. The
// caller ensures the year is within 0..9999, the only years MarshalJSON accepts.
func Time(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}
