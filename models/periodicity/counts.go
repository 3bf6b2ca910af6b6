package periodicity

import (
	"fmt"
	"time"
)

// Call is one API call: who (the principal's ARN), what (the API, CloudTrail's eventName) and
// when.
type Call struct {
	Time      time.Time
	Principal string
	API       string
}

// DailyCount is the number of calls of one pair on one UTC day, as an Elasticsearch composite
// aggregation (date_histogram by day x principal x API) returns it.
type DailyCount struct {
	Day       Day
	Principal string
	API       string
	Count     int64
}

// Pair names a (principal, API) pair. As a map key it costs no allocation: the runtime hashes
// both strings in place.
type Pair struct {
	Principal string
	API       string
}

// Counts accumulates daily counts per pair, from calls or from precomputed daily counts (or
// both: the counts simply add up).
type Counts struct {
	days    map[Pair]map[Day]int64
	span    Window
	any     bool
	skipped int
}

// NewCounts returns an empty accumulator.
func NewCounts() *Counts { return &Counts{days: make(map[Pair]map[Day]int64)} }

// AddCalls counts each call on its UTC day. Calls without a principal or API, or with a time
// outside 1970..9999, cannot be placed and are skipped (see Skipped).
func (c *Counts) AddCalls(calls []Call) {
	for _, call := range calls {
		d, ok := DayOf(call.Time)
		if !ok || call.Principal == "" || call.API == "" {
			c.skipped++
			continue
		}
		c.add(Pair{call.Principal, call.API}, d, 1)
	}
}

// AddDaily adds precomputed daily counts. A zero count is accepted (and changes nothing);
// a negative count, an invalid day or an empty name is an error, and nothing of the batch
// after it is added.
func (c *Counts) AddDaily(counts []DailyCount) error {
	for i, dc := range counts {
		switch {
		case dc.Principal == "" || dc.API == "":
			return fmt.Errorf("periodicity: daily count %d: empty principal or API", i)
		case dc.Count < 0:
			return fmt.Errorf("periodicity: daily count %d (%s %s %s): negative count %d", i, dc.Day, dc.Principal, dc.API, dc.Count)
		case dc.Day < 0 || dc.Day > maxDay:
			return fmt.Errorf("periodicity: daily count %d: day %d outside 1970..9999", i, dc.Day)
		case dc.Count == 0:
			continue
		}
		c.add(Pair{dc.Principal, dc.API}, dc.Day, dc.Count)
	}
	return nil
}

func (c *Counts) add(p Pair, d Day, n int64) {
	m := c.days[p]
	if m == nil {
		m = make(map[Day]int64)
		c.days[p] = m
	}
	m[d] += n
	switch {
	case !c.any:
		c.span, c.any = Window{d, d}, true
	case d < c.span.First:
		c.span.First = d
	case d > c.span.Last:
		c.span.Last = d
	}
}

// Span is the range from the first to the last day with a call; ok is false when nothing was
// counted. Note that the last day of live data is usually incomplete: a trainer should pass
// a window that ends on the last complete day.
func (c *Counts) Span() (w Window, ok bool) { return c.span, c.any }

// Skipped is the number of calls AddCalls could not place.
func (c *Counts) Skipped() int { return c.skipped }

// Pairs is the number of distinct pairs counted.
func (c *Counts) Pairs() int { return len(c.days) }

// Series returns the pair's daily counts as the model sees them: from the pair's first day with
// calls inside w to w.Last, days without calls as zeros. ok is false when the pair has no call
// in w.
func (c *Counts) Series(p Pair, w Window) (first Day, series []float64, ok bool) {
	days := c.days[p]
	first = w.Last
	for d, n := range days {
		if n > 0 && w.Contains(d) && d <= first {
			first, ok = d, true
		}
	}
	if !ok {
		return 0, nil, false
	}
	series = make([]float64, 0, w.Last-first+1)
	for d := first; d <= w.Last; d++ {
		series = append(series, float64(days[d]))
	}
	return first, series, true
}
