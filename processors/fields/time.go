package fields

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/ecs"
)

// TimeStatus says what Time found.
type TimeStatus uint8

// Time statuses.
const (
	TimeOK      TimeStatus = iota
	TimeMissing            // absent, null or empty
	TimeInvalid            // present but unparseable or out of range
)

// The range of plausible event times. Anything before the Unix epoch or after 2200 is a unit
// mistake (milliseconds read as seconds), a placeholder or a typo, not an event time; keeping
// such values out also guarantees the year stays within 0..9999, the only years
// time.Time.MarshalJSON accepts.
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// InRange reports whether t is a plausible event time.
func InRange(t time.Time) bool { return !t.Before(minTime) && t.Before(maxTime) }

// zoneless layouts are read as UTC, the zone every producer the processors know uses when it
// leaves the zone out (Panther exports CloudTrail's eventTime and GuardDuty's updatedAt as
// "2025-02-25 20:40:06.721"). Fractional seconds are accepted by time.Parse after any layout
// that ends in seconds.
var layouts = [...]string{
	time.RFC3339,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
}

// Time reads an event time: an RFC 3339 string with or without fraction or zone, a
// "2006-01-02 15:04:05.000" string, epoch seconds as a number or a numeric string (Zeek's ts),
// or a time (a Fluent Bit EventTime). The result is always UTC and within InRange.
func Time(v body.Value) (time.Time, TimeStatus) {
	switch v.Kind() {
	case body.Absent, body.Null:
		return time.Time{}, TimeMissing
	case body.String, body.Binary:
		return parseTime(v.Str())
	case body.Time:
		return checkRange(v.Time())
	case body.Float:
		return epochFloat(v.Float())
	case body.Int:
		return checkRange(time.Unix(v.Int(), 0).UTC())
	}
	return time.Time{}, TimeInvalid
}

func parseTime(s string) (time.Time, TimeStatus) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, TimeMissing
	}
	if s[0] >= '0' && s[0] <= '9' && len(s) >= len("2006-01-02") && s[4] == '-' {
		for _, layout := range layouts {
			if t, err := time.Parse(layout, s); err == nil {
				return checkRange(t.UTC())
			}
		}
		return time.Time{}, TimeInvalid
	}
	return epochString(s)
}

// epochString parses decimal epoch seconds exactly, without a detour through float64, so
// "1588205199.832602" keeps its microseconds.
func epochString(s string) (time.Time, TimeStatus) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 9 {
		return time.Time{}, TimeInvalid
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec < minTime.Unix() || sec >= maxTime.Unix() {
		return time.Time{}, TimeInvalid
	}
	var nsec int64
	for i := 0; i < 9; i++ {
		nsec *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return time.Time{}, TimeInvalid
			}
			nsec += int64(c - '0')
		}
	}
	return checkRange(time.Unix(sec, nsec).UTC())
}

// epochFloat rounds to the microsecond, the precision Zeek writes: a float64 epoch carries
// about 0.2 µs of noise that would otherwise show up as stray nanoseconds.
func epochFloat(f float64) (time.Time, TimeStatus) {
	if math.IsNaN(f) || f < float64(minTime.Unix()) || f >= float64(maxTime.Unix()) {
		return time.Time{}, TimeInvalid
	}
	return checkRange(time.UnixMicro(int64(math.Round(f * 1e6))).UTC())
}

func checkRange(t time.Time) (time.Time, TimeStatus) {
	if !InRange(t) {
		return time.Time{}, TimeInvalid
	}
	return t, TimeOK
}

// Encodable returns t in UTC if time.Time.MarshalJSON accepts it (years 0..9999), and the Unix epoch
// otherwise. It guards times the processors did not parse themselves, such as the Fluent Bit
// timestamp used as a fallback.
func Encodable(t time.Time) time.Time {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return minTime
	}
	return t
}

// EventTime picks a document's @timestamp: the event's own time v when it is valid, otherwise
// fallback (the time Fluent Bit received the record), together with the issue code that says
// why the fallback was used ("" when it was not).
func EventTime(v body.Value, fallback time.Time) (time.Time, string) {
	t, st := Time(v)
	switch st {
	case TimeOK:
		return t, ""
	case TimeMissing:
		return Encodable(fallback), ecs.IssueTimestampMissing
	default:
		return Encodable(fallback), ecs.IssueTimestampInvalid
	}
}
