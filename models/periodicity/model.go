package periodicity

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
)

// PairStats is what training learnt about one (principal, API) pair.
type PairStats struct {
	Pair
	// HistoryDays runs from the pair's first call in the window to the window's last day;
	// ActiveDays of them had calls, Total calls in all.
	HistoryDays int32
	ActiveDays  int32
	Total       int64
	// Periodicity is the largest |autocorrelation| over lags 1..MaxLag of the zero-filled daily
	// counts, at BestLag (the shortest lag on ties). It is NaN, with BestLag 0, when no lag has
	// a defined autocorrelation (a constant or too short series).
	Periodicity float64
	BestLag     int8
	// Judged says the history was long enough to judge the rhythm; only then can the pair be
	// Periodic (Periodicity >= threshold) or Steady (see Config).
	Judged   bool
	Periodic bool
	Steady   bool
	// ActiveMAD is the median absolute deviation of the counts on the days with calls: how much
	// a day of use varies. It keeps the volume z of a pair used on few days (weekday median 0)
	// from treating every day of ordinary use as a jump from zero.
	ActiveMAD float64
	// Weekday holds the volume baseline per time.Weekday (Sunday = 0).
	Weekday [7]WeekdayStats
}

// Automated reports whether the pair behaves like a machine: periodic or steady.
func (p *PairStats) Automated() bool { return p.Periodic || p.Steady }

// WeekdayStats is the baseline of a pair's daily count on one day of the week: the median and
// the (unscaled) median absolute deviation of its past counts on that weekday.
type WeekdayStats struct {
	Samples int32
	Median  float64
	MAD     float64
}

// Model is a trained periodicity model. It is immutable: accessors return copies, and any
// number of goroutines may score with it at once.
type Model struct {
	cfg    Config
	window Window
	pairs  []PairStats // ordered by principal, then API
	index  map[Pair]int32
}

// Config returns the parameters the model was trained and scores with.
func (m *Model) Config() Config { return m.cfg }

// Window returns the training window.
func (m *Model) Window() Window { return m.window }

// Len returns the number of pairs.
func (m *Model) Len() int { return len(m.pairs) }

// Stats returns the i-th pair's statistics, in principal, API order.
func (m *Model) Stats(i int) PairStats { return m.pairs[i] }

// Lookup returns the statistics of a pair; ok is false for a pair unseen in training.
func (m *Model) Lookup(principal, api string) (PairStats, bool) {
	if p := m.lookup(principal, api); p != nil {
		return *p, true
	}
	return PairStats{}, false
}

func (m *Model) lookup(principal, api string) *PairStats {
	i, ok := m.index[Pair{principal, api}]
	if !ok {
		return nil
	}
	return &m.pairs[i]
}

// newModel indexes pairs, which must be in principal, API order, and validates everything.
func newModel(cfg Config, w Window, pairs []PairStats) (*Model, error) {
	m := &Model{cfg: cfg, window: w, pairs: pairs, index: make(map[Pair]int32, len(pairs))}
	for i := range pairs {
		m.index[pairs[i].Pair] = int32(i)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func comparePairs(a, b PairStats) int {
	return cmp.Or(cmp.Compare(a.Principal, b.Principal), cmp.Compare(a.API, b.API))
}

// Train learns every pair with at least one call inside the window; counts outside it are
// ignored.
//
// Missing days are zeros. The notebook's groupby only has days with calls, so a weekly job's
// series is its weekly count repeated - constant, autocorrelation NaN - and a weekday-only job
// loses its weekends; zero-filling every day from the pair's first call to the end of the
// window is what makes weekly and weekday rhythms show at lags 7 and 5. Days before the first
// call are not filled: the pair did not exist yet, and leading zeros would make any
// recently-started pair look like a step with a strong lag-1 correlation.
func Train(c *Counts, w Window, cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := w.validate(); err != nil {
		return nil, fmt.Errorf("periodicity: train: %w", err)
	}
	pairs := make([]PairStats, 0, len(c.days))
	for p := range c.days {
		if first, series, ok := c.Series(p, w); ok {
			pairs = append(pairs, learnPair(p, first, series, cfg))
		}
	}
	slices.SortFunc(pairs, comparePairs)
	return newModel(cfg, w, pairs)
}

// learnPair computes a pair's statistics from its zero-filled daily series starting on first.
func learnPair(p Pair, first Day, series []float64, cfg Config) PairStats {
	ps := PairStats{Pair: p, HistoryDays: int32(len(series)), Periodicity: math.NaN()}
	var active []float64
	for _, v := range series {
		if v > 0 {
			active = append(active, v)
			ps.Total += int64(v)
		}
	}
	ps.ActiveDays = int32(len(active))
	_, ps.ActiveMAD = medianMAD(active)
	for lag := 1; lag <= MaxLag; lag++ {
		r := math.Abs(Autocorr(series, lag))
		if r > ps.Periodicity || (math.IsNaN(ps.Periodicity) && !math.IsNaN(r)) {
			ps.Periodicity, ps.BestLag = r, int8(lag)
		}
	}
	ps.Judged = int(ps.HistoryDays) >= cfg.MinHistoryDays && int(ps.ActiveDays) >= cfg.MinActiveDays
	if ps.Judged {
		ps.Periodic = ps.Periodicity >= cfg.Threshold
		share := float64(ps.ActiveDays) / float64(ps.HistoryDays)
		med, mad := medianMAD(slices.Clone(series))
		ps.Steady = cfg.SteadyMaxCV > 0 && share >= cfg.SteadyMinActive && madToSigma*mad <= cfg.SteadyMaxCV*med
	}
	var byDay [7][]float64
	for i, v := range series {
		wd := (first + Day(i)).Weekday()
		byDay[wd] = append(byDay[wd], v)
	}
	for wd, vs := range byDay {
		ps.Weekday[wd] = weekdayStats(vs)
	}
	return ps
}

func weekdayStats(vs []float64) WeekdayStats {
	if len(vs) == 0 {
		return WeekdayStats{}
	}
	med, mad := medianMAD(vs)
	return WeekdayStats{Samples: int32(len(vs)), Median: med, MAD: mad}
}

// medianMAD returns the median of vs and the median absolute deviation from it; vs is
// reordered. The median of an even count is the mean of the two middle values, as pandas and
// numpy define it.
func medianMAD(vs []float64) (med, mad float64) {
	med = median(vs)
	for i, v := range vs {
		vs[i] = math.Abs(v - med)
	}
	return med, median(vs)
}

func median(vs []float64) float64 {
	sort.Float64s(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}
