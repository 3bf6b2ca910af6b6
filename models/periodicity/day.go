package periodicity

import (
	"fmt"
	"time"
)

// Day is a UTC calendar day, counted from 1970-01-01. Counting by UTC day (and not the
// principal's local day) is what the notebook and Elasticsearch's date_histogram with the
// default time zone both do, so trained counts and the trainer's aggregations agree.
type Day int32

const secondsPerDay = 86400

// maxDay is 9999-12-31: later (and pre-1970) timestamps are treated as invalid rather than
// being wrapped into some plausible-looking day.
const maxDay Day = 2932896

// DayOf returns t's UTC day; ok is false outside 1970-01-01 .. 9999-12-31.
func DayOf(t time.Time) (d Day, ok bool) {
	s := t.Unix()
	if s < 0 || s/secondsPerDay > int64(maxDay) {
		return 0, false
	}
	return Day(s / secondsPerDay), true
}

// Weekday is the day's day of the week (1970-01-01 was a Thursday).
func (d Day) Weekday() time.Weekday { return time.Weekday((int64(d) + 4) % 7) }

// Time is the start of the day.
func (d Day) Time() time.Time { return time.Unix(int64(d)*secondsPerDay, 0).UTC() }

// String formats the day as YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

// Window is an inclusive range of days.
type Window struct {
	First, Last Day
}

// Days is the number of days in the window.
func (w Window) Days() int { return int(w.Last-w.First) + 1 }

// Contains reports whether d lies in the window.
func (w Window) Contains(d Day) bool { return d >= w.First && d <= w.Last }

func (w Window) validate() error {
	if w.First < 0 || w.Last > maxDay || w.Last < w.First {
		return fmt.Errorf("window %d..%d is not an ordered range of days in 1970..9999", w.First, w.Last)
	}
	return nil
}
