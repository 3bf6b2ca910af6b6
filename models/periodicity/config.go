package periodicity

import (
	"errors"
	"fmt"
	"math"
)

// MaxLag is the longest lag examined: 1..7 days, one week, as in the notebook.
const MaxLag = 7

// Config holds the training and scoring parameters. They travel inside the model, so a bundle
// scores the same way wherever it is loaded.
type Config struct {
	// Threshold is the notebook's cut-off: a pair is periodic when the largest |autocorrelation|
	// over lags 1..MaxLag reaches it.
	Threshold float64
	// MinHistoryDays and MinActiveDays are the least history (days from the pair's first call
	// to the end of the window) and the fewest days with calls before a pair's rhythm is judged
	// at all. Below them a few scattered calls produce large autocorrelations by coincidence
	// (two equal spikes k days apart already give ~0.5 at lag k).
	MinHistoryDays int
	MinActiveDays  int
	// A pair is also automated when it is steady: calls on at least SteadyMinActive of its
	// history days, with a robust coefficient of variation of the daily count (1.4826·MAD /
	// median) of at most SteadyMaxCV. Autocorrelation cannot see this, the most regular job
	// of all (a constant series has NaN autocorrelation, a constant one with the odd retry
	// or missed run has none worth the name); Elastic's beaconing transform fills the same
	// gap with its low-count-variation test. The robust form keeps a once-a-day job with one
	// retry in eight weeks steady. SteadyMaxCV 0 turns the test off (notebook behaviour).
	SteadyMinActive float64
	SteadyMaxCV     float64
	// MinWeekdaySamples is how many past days of a weekday the volume baseline for that weekday
	// needs; with fewer the volume is not scored.
	MinWeekdaySamples int
	// MinScale floors the robust spread of the daily count (see Model.Score).
	MinScale float64
	// HumanWeight multiplies the volume z of pairs not judged automated before it becomes a
	// score: an excess on a machine's steady rhythm means more than the same z on a person's
	// irregular use.
	HumanWeight float64
	// Z50 is the (weighted) volume z that maps to score_norm 50.
	Z50 float64
	// HighZ is the volume z from which a call is reported as high volume.
	HighZ float64
	// SessionKeys keys pairs by the principal as the record names it, an assumed role's
	// session included, instead of by the role (processors/identity, the default). Automated
	// roles get a new session name every run (Lambda, ECS tasks, EC2 instance profiles): by
	// session they never build the history the model judges; set it only to watch sessions
	// that are long-lived and meaningful on their own.
	SessionKeys bool
}

// DefaultConfig returns the parameters the acceptance tests were run with.
func DefaultConfig() Config {
	return Config{
		Threshold:         0.5,
		MinHistoryDays:    28,
		MinActiveDays:     4,
		SteadyMinActive:   0.9,
		SteadyMaxCV:       0.1,
		MinWeekdaySamples: 3,
		MinScale:          1,
		HumanWeight:       0.5,
		Z50:               5,
		HighZ:             3,
	}
}

// Validate checks that every parameter is usable.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	check(finite(c.Threshold) && c.Threshold > 0 && c.Threshold <= 1, "threshold %v not in (0, 1]", c.Threshold)
	check(c.MinHistoryDays >= 2 && c.MinHistoryDays <= 1<<20, "min history days %d not in [2, 2^20]", c.MinHistoryDays)
	check(c.MinActiveDays >= 1 && c.MinActiveDays <= c.MinHistoryDays, "min active days %d not in [1, min history days]", c.MinActiveDays)
	check(finite(c.SteadyMinActive) && c.SteadyMinActive >= 0 && c.SteadyMinActive <= 1, "steady min active %v not in [0, 1]", c.SteadyMinActive)
	check(finite(c.SteadyMaxCV) && c.SteadyMaxCV >= 0, "steady max CV %v negative or not finite", c.SteadyMaxCV)
	check(c.MinWeekdaySamples >= 1 && c.MinWeekdaySamples <= 1<<16, "min weekday samples %d not in [1, 65536]", c.MinWeekdaySamples)
	check(finite(c.MinScale) && c.MinScale > 0, "min scale %v not positive", c.MinScale)
	check(finite(c.HumanWeight) && c.HumanWeight >= 0 && c.HumanWeight <= 1, "human weight %v not in [0, 1]", c.HumanWeight)
	check(finite(c.Z50) && c.Z50 > 0, "z50 %v not positive", c.Z50)
	check(finite(c.HighZ) && c.HighZ > 0, "high z %v not positive", c.HighZ)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("periodicity: config: %w", err)
	}
	return nil
}
