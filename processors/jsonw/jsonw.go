// Package jsonw writes JSON strings and numbers byte for byte as encoding/json (and
// goccy/go-json, which the plugin used before) writes them, for the hand-written encoders of
// the hot path: the ECS document encoder and the record body writer.
package jsonw

import (
	"math"
	"strconv"
	"sync/atomic"
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
	html := ok == &safeHTML
	// Most strings of a log document are short and plain (names, addresses, IDs, enumerations):
	// a table settles them, and they are copied whole. Measured on the Kerberos documents'
	// strings, this costs 15% less than the word-at-a-time checks below at these lengths.
	if len(s) <= shortString && shortPlain(s, html) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none of them needs a look (most text is plain ASCII).
		for i+8 <= len(s) {
			if w := load8(s, i); !plain8(w) || html && !noHTML8(w) {
				break
			}
			i += 8
		}
		if i == len(s) {
			break
		}
		// The last few bytes in one word too: the last eight (some already looked at) or,
		// in a string shorter than that, its bytes padded with a plain one.
		if len(s)-i < 8 {
			var w uint64
			if len(s) >= 8 {
				w = load8(s, len(s)-8)
			} else {
				w = pad8(s, i)
			}
			if plain8(w) && (!html || noHTML8(w)) {
				i = len(s)
				break
			}
		}
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

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load8 reads s[i:i+8] as a little-endian word (the compiler makes it one load).
func load8[T string | []byte](s T, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// shortString is the longest string appendString checks a byte at a time.
const shortString = 16

// shortPlain reports whether s needs no escaping (with html, of <, > and & either): a byte
// at a time from a table, which for strings this short beats the word-at-a-time checks.
func shortPlain[T string | []byte](s T, html bool) bool {
	table := &plainBytes
	if html {
		table = &plainBytesHTML
	}
	for i := 0; i < len(s); i++ {
		if !table[s[i]] {
			return false
		}
	}
	return true
}

// plainBytes[c] is safe[c] for ASCII and false from 0x80 (UTF-8 needs a check); plainBytesHTML
// likewise from safeHTML.
var plainBytes, plainBytesHTML = func() (plain, html [256]bool) {
	copy(plain[:], safe[:])
	copy(html[:], safeHTML[:])
	return
}()

// pad8 reads s[i:], shorter than eight bytes, as a little-endian word filled up with 'a'.
func pad8[T string | []byte](s T, i int) uint64 {
	w := uint64(0x6161616161616161)
	for j := len(s) - 1; j >= i; j-- {
		w = w<<8 | uint64(s[j])
	}
	return w
}

// plain8 reports whether none of the eight bytes of w needs escaping or a UTF-8 check: no
// control character, quote, backslash or byte >= 0x80. It and noHTML8 are separate so that
// each is inlined.
func plain8(w uint64) bool {
	bad := (w - 0x20*ones) &^ w // a byte below 0x20
	bad |= w                    // a byte >= 0x80
	bad |= zeroByte(w ^ '"'*ones)
	bad |= zeroByte(w ^ '\\'*ones)
	return bad&highs == 0
}

// noHTML8 reports whether none of the eight bytes of w is <, > or &.
func noHTML8(w uint64) bool {
	return (zeroByte(w^'<'*ones)|zeroByte(w^'>'*ones)|zeroByte(w^'&'*ones))&highs == 0
}

// zeroByte has the high bit of each byte of v that is zero set (and maybe others of those
// bytes' neighbours above a zero byte: enough to say whether there is one).
func zeroByte(v uint64) uint64 { return (v - ones) &^ v }

// Float appends a finite f as encoding/json writes a float64: the shortest decimal that reads
// back as f, in exponent form below 1e-6 and from 1e21, with the exponent's leading zero
// dropped (1e-7, not 1e-07). The caller decides what a non-finite value becomes.
func Float(dst []byte, f float64) []byte {
	if d, ok := smallInt(dst, f, 1<<53); ok {
		return d
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		if d, ok := shortDecimal(dst, f); ok {
			return d
		}
	}
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

// utc reports whether t is written with the zone "Z": UTC, or any zone at offset 0.
func utc(t time.Time) bool {
	if t.Location() == time.UTC {
		return true
	}
	_, offset := t.Zone()
	return offset == 0
}

// FloatG appends f as strconv.AppendFloat(dst, f, 'g', -1, 64) does.
func FloatG(dst []byte, f float64) []byte {
	if d, ok := smallInt(dst, f, 1e6); ok { // 'g' writes integers from 1e6 on in exponent form
		return d
	}
	if a := math.Abs(f); a >= 1e-4 && a < 1e6 { // where 'g' writes what 'f' writes
		if d, ok := shortDecimal(dst, f); ok {
			return d
		}
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// ShortDigits is the most significant digits of the numbers Float and FloatG write without
// strconv's general algorithm (see shortDecimal); Round rounds to them.
const ShortDigits = 6

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
	1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// exp10 returns the power of ten of a's first digit, for a in [1e-22, 1e22): a is in
// [10^e, 10^(e+1)). It starts from the binary exponent, which is off by at most one.
func exp10(a float64) int {
	_, e2 := math.Frexp(a) // a in [2^(e2-1), 2^e2)
	e := int(math.Floor(float64(e2-1) * 0.30102999566398114))
	switch {
	case e+1 < len(pow10) && e+1 >= -len(pow10)+1 && a >= p10(e+1):
		e++
	case a < p10(e):
		e--
	}
	return e
}

// p10 is 10^e for |e| < len(pow10), exact for e >= 0 and the nearest float otherwise.
func p10(e int) float64 {
	if e >= 0 {
		return pow10[e]
	}
	return 1 / pow10[-e]
}

// Round rounds a finite v in [1e-15, 1e15) of magnitude to ShortDigits significant digits:
// the float nearest to that decimal, which Float and FloatG then write fast. Integers below
// 1e6, and values outside that range, come back as they are.
func Round(v float64) float64 {
	a := math.Abs(v)
	if a == math.Trunc(a) && a < 1e6 || !(a >= 1e-15 && a < 1e15) {
		return v
	}
	// s in [-9, 20]: 10^|s| is exact, so the quotient or product below is correctly rounded.
	s := ShortDigits - 1 - exp10(a)
	if s >= 0 {
		return math.Round(v*pow10[s]) / pow10[s]
	}
	return math.Round(v/pow10[-s]) * pow10[-s]
}

// shortDecimal writes a finite, non-integral f below 1e21 in plain decimal notation when a
// decimal of at most shortDigits significant digits reads back as f, the case of every number
// the scorer writes (it rounds them so): that decimal is then f's shortest text, the one
// strconv's general algorithm would find at several times the cost. ok is false otherwise.
func shortDecimal(dst []byte, f float64) ([]byte, bool) {
	a := math.Abs(f)
	// a = m / 10^s with m of ShortDigits digits.
	s := ShortDigits - 1 - exp10(a)
	if s <= 0 || s >= len(pow10) {
		return dst, false
	}
	m := math.Round(a * pow10[s])
	// m and 10^s are exact, so the quotient is the float nearest to the decimal m/10^s: it is
	// a only if that decimal reads back as a.
	if m >= pow10[ShortDigits] || m/pow10[s] != a {
		return dst, false
	}
	digits := uint64(m)
	for digits%10 == 0 && s > 0 {
		digits /= 10
		s--
	}
	var buf [24]byte
	n := len(strconv.AppendUint(buf[:0], digits, 10))
	text := buf[:n]
	if f < 0 {
		dst = append(dst, '-')
	}
	if s >= n { // 0.000ddd
		dst = append(dst, '0', '.')
		for range s - n {
			dst = append(dst, '0')
		}
		return append(dst, text...), true
	}
	dst = append(dst, text[:n-s]...)
	dst = append(dst, '.')
	return append(dst, text[n-s:]...), true
}

// smallInt writes an integral f of magnitude below limit as an integer, the form both float
// formats give it, without their general algorithm.
func smallInt(dst []byte, f, limit float64) ([]byte, bool) {
	if f != math.Trunc(f) || f <= -limit || f >= limit {
		return dst, false
	}
	if f == 0 && math.Signbit(f) {
		return append(dst, "-0"...), true
	}
	return strconv.AppendInt(dst, int64(f), 10), true
}

// Time appends t as time.Time.MarshalJSON writes it: RFC 3339 with nanoseconds, quoted. The
// caller ensures the year is within 0..9999, the only years MarshalJSON accepts.
func Time(dst []byte, t time.Time) []byte {
	secs := t.Unix()
	if !utc(t) || secs < firstSecond || secs > lastSecond {
		dst = append(dst, '"')
		dst = t.AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"')
	}
	// UTC, the zone of nearly every time the plugin writes, without Format's layout parser and
	// with the date and the clock taken from one division of the seconds.
	days, sod := divFloor(secs, 86400)
	year, month, day := civilCached(days)
	hour, minute, second := sod/3600, sod/60%60, sod%60
	dst = append(dst, '"')
	dst = append(dst, digits2[year/100*2:year/100*2+2]...)
	dst = append(dst, digits2[year%100*2], digits2[year%100*2+1], '-', digits2[month*2], digits2[month*2+1], '-',
		digits2[day*2], digits2[day*2+1], 'T', digits2[hour*2], digits2[hour*2+1], ':', digits2[minute*2],
		digits2[minute*2+1], ':', digits2[second*2], digits2[second*2+1])
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i -= 2 {
			if i == 1 {
				frac[1] = byte('0' + ns)
				break
			}
			d := ns % 100 * 2
			frac[i-1], frac[i] = digits2[d], digits2[d+1]
			ns /= 100
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		dst = append(dst, frac[:n]...)
	}
	return append(dst, 'Z', '"')
}

// The seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z since the Unix epoch: the
// range Time writes itself.
const (
	firstSecond = -62167219200
	lastSecond  = 253402300799
)

// digits2 holds 00 to 99, two bytes each.
const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// divFloor returns the quotient rounded down and the remainder (0 <= r < d) of n / d.
func divFloor(n, d int64) (q, r int64) {
	q, r = n/d, n%d
	if r < 0 {
		q, r = q-1, r+d
	}
	return q, r
}

// civilDates memoises civil, a slot per day modulo its size: the times of a stream of log
// documents fall on few days (the events', the shipper's clock), and the Kerberos documents'
// four times a record made civil the largest part of writing them. A slot holds the day
// (high 32 bits) and its year, month and day; 0 is empty (no date has day 0). Lock-free:
// concurrent writers of one slot each store a whole, right entry.
var civilDates [64]atomic.Uint64

// civilCached is civil for days in the range Time writes itself (years 0000–9999).
func civilCached(days int64) (year, month, day int64) {
	slot := &civilDates[uint64(days)%uint64(len(civilDates))]
	if v := slot.Load(); v != 0 && int64(int32(v>>32)) == days {
		return int64(v >> 16 & 0xffff), int64(v >> 8 & 0xff), int64(v & 0xff)
	}
	year, month, day = civil(days)
	slot.Store(uint64(uint32(int32(days)))<<32 | uint64(year)<<16 | uint64(month)<<8 | uint64(day))
	return year, month, day
}

// civil returns the proleptic Gregorian date of a day counted from 1970-01-01 (Howard
// Hinnant's days_from_civil inverse: 400-year eras of 146097 days, years starting in March
// so that the leap day comes last).
func civil(days int64) (year, month, day int64) {
	z := days + 719468
	era, doe := divFloor(z, 146097)
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = doy - (153*mp+2)/5 + 1
	month = mp + 3
	if mp >= 10 {
		month = mp - 9
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}
