package periodicity

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// monday is 2024-01-01, a Monday.
var monday, _ = DayOf(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))

// dailySeries turns per-day counts starting on first into DailyCounts for one pair.
func dailySeries(p Pair, first Day, counts []int64) []DailyCount {
	var out []DailyCount
	for i, n := range counts {
		out = append(out, DailyCount{Day: first + Day(i), Principal: p.Principal, API: p.API, Count: n})
	}
	return out
}

func repeat(week []int64, weeks int) []int64 {
	var out []int64
	for range weeks {
		out = append(out, week...)
	}
	return out
}

func train(t testing.TB, cfg Config, w Window, counts ...[]DailyCount) *Model {
	t.Helper()
	c := NewCounts()
	for _, dc := range counts {
		if err := c.AddDaily(dc); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Train(c, w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func lookup(t testing.TB, m *Model, p Pair) PairStats {
	t.Helper()
	s, ok := m.Lookup(p.Principal, p.API)
	if !ok {
		t.Fatalf("pair %v not in model", p)
	}
	return s
}

func TestDayOf(t *testing.T) {
	d, ok := DayOf(time.Date(2024, 1, 1, 23, 59, 59, 999999999, time.FixedZone("x", -3600)))
	if !ok || d.String() != "2024-01-02" || d.Weekday() != time.Tuesday {
		t.Errorf("23:59:59 at UTC-1 is %v (%v, ok=%v), want the next UTC day, a Tuesday", d, d.Weekday(), ok)
	}
	for _, bad := range []time.Time{time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), {}} {
		if _, ok := DayOf(bad); ok {
			t.Errorf("DayOf(%v) accepted", bad)
		}
	}
}

func TestZeroFillMakesWeeklyJobsPeriodic(t *testing.T) {
	weekly := Pair{"arn:aws:sts::1:assumed-role/weekly/s", "CreateSnapshot"}
	weekdays := Pair{"arn:aws:sts::1:assumed-role/weekdays/s", "ListUsers"}
	const weeks = 12
	w := Window{monday, monday + weeks*7 - 1}
	m := train(t, DefaultConfig(), w,
		dailySeries(weekly, monday, repeat([]int64{0, 0, 4, 0, 0, 0, 0}, weeks)),
		dailySeries(weekdays, monday, repeat([]int64{24, 24, 25, 24, 23, 0, 0}, weeks)),
	)
	for _, p := range []Pair{weekly, weekdays} {
		s := lookup(t, m, p)
		if !s.Periodic || !s.Automated() || s.BestLag != 7 || s.Periodicity < 0.9 {
			t.Errorf("%v: periodic=%v lag=%d periodicity=%.3f, want periodic at lag 7", p, s.Periodic, s.BestLag, s.Periodicity)
		}
	}
	// Without the zeros (the notebook's groupby), the weekly job is a constant series.
	if got := Autocorr(int64ToFloat(repeat([]int64{4}, weeks)), 7); !math.IsNaN(got) {
		t.Errorf("the weekly job's days with calls alone should have NaN autocorrelation, got %v", got)
	}
	// The weekly job starts on its Wednesday; history runs from there to the window's end.
	if s := lookup(t, m, weekly); s.HistoryDays != weeks*7-2 || s.ActiveDays != weeks || s.Total != 4*weeks {
		t.Errorf("weekly history %d days, %d active, %d calls", s.HistoryDays, s.ActiveDays, s.Total)
	}
}

func int64ToFloat(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestSteadyDailyJobIsAutomated(t *testing.T) {
	p := Pair{"arn:aws:sts::1:assumed-role/daily/s", "DescribeInstances"}
	counts := make([]int64, 84)
	for i := range counts {
		counts[i] = 96
	}
	counts[10], counts[11], counts[40] = 95, 97, 0 // midnight jitter and one outage
	w := Window{monday, monday + 83}
	s := lookup(t, train(t, DefaultConfig(), w, dailySeries(p, monday, counts)), p)
	if !s.Steady || !s.Automated() {
		t.Errorf("steady daily job: steady=%v automated=%v periodicity=%v", s.Steady, s.Automated(), s.Periodicity)
	}
	cfg := DefaultConfig()
	cfg.SteadyMaxCV = 0 // the notebook's rule alone
	if s := lookup(t, train(t, cfg, w, dailySeries(p, monday, counts)), p); s.Automated() {
		t.Errorf("with the steady test off the job should not be automated (periodicity %v)", s.Periodicity)
	}
}

func TestShortHistoryIsNotJudged(t *testing.T) {
	p := Pair{"arn:aws:iam::1:user/new", "ListBuckets"}
	w := Window{monday, monday + 83}
	counts := repeat([]int64{5, 0, 0, 0, 0, 0, 0}, 3) // three weeks before the window ends
	s := lookup(t, train(t, DefaultConfig(), w, dailySeries(p, w.Last-20, counts)), p)
	if s.Judged || s.Periodic || s.Steady || s.HistoryDays != 21 {
		t.Errorf("21 days of history: judged=%v periodic=%v steady=%v history=%d", s.Judged, s.Periodic, s.Steady, s.HistoryDays)
	}
	if math.IsNaN(s.Periodicity) || s.BestLag != 7 {
		t.Errorf("periodicity is still reported: %v at lag %d", s.Periodicity, s.BestLag)
	}
}

func TestWeekdayBaseline(t *testing.T) {
	p := Pair{"arn:aws:sts::1:assumed-role/r/s", "GetMetricData"}
	// Mondays 10, 12, 14, 100 -> median 13, MAD median(|-3|,|-1|,|1|,|87|) = 2.
	counts := repeat([]int64{0, 3, 3, 3, 3, 3, 0}, 4)
	counts[0], counts[7], counts[14], counts[21] = 10, 12, 14, 100
	s := lookup(t, train(t, DefaultConfig(), Window{monday, monday + 27}, dailySeries(p, monday, counts)), p)
	if got := s.Weekday[time.Monday]; got != (WeekdayStats{Samples: 4, Median: 13, MAD: 2}) {
		t.Errorf("Monday baseline %+v", got)
	}
	if got := s.Weekday[time.Sunday]; got != (WeekdayStats{Samples: 4}) {
		t.Errorf("Sunday baseline %+v", got)
	}
}

func TestCallsAndDailyCountsTrainTheSameModel(t *testing.T) {
	p := Pair{"arn:aws:sts::1:assumed-role/r/s", "Decrypt"}
	var calls []Call
	var daily []DailyCount
	for d := range 60 {
		n := int64(d%7 + 1)
		for i := range n {
			ts := monday.Time().AddDate(0, 0, d).Add(time.Duration(i) * time.Hour)
			calls = append(calls, Call{Time: ts, Principal: p.Principal, API: p.API})
		}
		daily = append(daily, DailyCount{Day: monday + Day(d), Principal: p.Principal, API: p.API, Count: n})
	}
	calls = append(calls, Call{Time: time.Unix(-5, 0), Principal: "x", API: "y"}, Call{Time: monday.Time(), API: "y"})
	fromCalls := NewCounts()
	fromCalls.AddCalls(calls)
	if fromCalls.Skipped() != 2 || fromCalls.Pairs() != 1 {
		t.Errorf("skipped %d calls, %d pairs; want the pre-1970 and the nameless call skipped", fromCalls.Skipped(), fromCalls.Pairs())
	}
	fromDaily := NewCounts()
	if err := fromDaily.AddDaily(daily); err != nil {
		t.Fatal(err)
	}
	w, ok := fromCalls.Span()
	if !ok || w != (Window{monday, monday + 59}) {
		t.Fatalf("span %v", w)
	}
	var enc [2][]byte
	for i, c := range []*Counts{fromCalls, fromDaily} {
		m, err := Train(c, w, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if enc[i], err = m.AppendBinary(nil); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(enc[0], enc[1]) {
		t.Error("training on calls and on their daily counts gave different models")
	}
}

func TestTrainWindowAndErrors(t *testing.T) {
	p := Pair{"arn:aws:iam::1:user/u", "ListUsers"}
	c := NewCounts()
	if err := c.AddDaily(dailySeries(p, monday, []int64{1, 2, 3, 4})); err != nil {
		t.Fatal(err)
	}
	m, err := Train(c, Window{monday + 1, monday + 2}, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s := lookup(t, m, p); s.Total != 5 || s.HistoryDays != 2 {
		t.Errorf("counts outside the window leaked in: total %d over %d days", s.Total, s.HistoryDays)
	}
	m, err = Train(c, Window{monday + 10, monday + 20}, DefaultConfig())
	if err != nil || m.Len() != 0 {
		t.Errorf("window without calls: %d pairs, err %v", m.Len(), err)
	}
	if _, err := Train(c, Window{monday, monday - 1}, DefaultConfig()); err == nil || !strings.Contains(err.Error(), "window") {
		t.Errorf("reversed window: %v", err)
	}
	bad := DefaultConfig()
	bad.Threshold = math.NaN()
	if _, err := Train(c, Window{monday, monday}, bad); err == nil || !strings.Contains(err.Error(), "threshold") {
		t.Errorf("NaN threshold: %v", err)
	}
	for _, dc := range []DailyCount{
		{Day: monday, Principal: "p", API: "a", Count: -1},
		{Day: monday, API: "a", Count: 1},
		{Day: -1, Principal: "p", API: "a", Count: 1},
	} {
		if err := NewCounts().AddDaily([]DailyCount{dc}); err == nil {
			t.Errorf("AddDaily(%+v) accepted", dc)
		}
	}
}
