// Package calibrate turns a model's raw anomaly scores into a 0–100 score, higher meaning more
// anomalous, like Elastic ML's record_score, so that every siemscore model speaks the same scale
// and the Kibana severity bands (critical ≥ 75, major ≥ 50, minor ≥ 25, warning ≥ 3) mean the
// same thing whatever produced the score.
//
// # Method
//
// A Calibrator is fitted on raw scores of normal (training) data, oriented so that higher raw
// means more anomalous. For a new raw value x it estimates the tail probability
// p(x) = P(X ≥ x) under that normal distribution and reports its rarity in decades,
// L(x) = −log10 p(x):
//
//   - Below a tail threshold u (the (1−t) quantile, t = Options.TailFraction, raised so that at
//     least Options.MinTail samples lie above u) p comes from Knots empirical quantiles placed
//     evenly in L between 0 and −log10 t, interpolated linearly in L. Ties resolve to the larger
//     probability, so a value every normal sample shares is never rare.
//   - Above u the empirical estimate runs out of samples (at best 1/n), so the tail is
//     extrapolated peaks-over-threshold style with an exponential fitted to the exceedances:
//     p(x) = t·exp(−(x−u)/β), β = mean(x_i − u | x_i > u). L keeps growing linearly in x, so an
//     anomaly twice as far beyond the training range as another still gets a higher score. An
//     exponential tail is the maximum-entropy choice given only the mean excess; it is
//     conservative (under-scores) for light-tailed scores and over-scores heavy-tailed ones.
//
// The score is then 100 · clamp((L − Floor) / (Cap − Floor), 0, 1). With the defaults
// (Floor 1, Cap 7) the 90% most ordinary normal events score 0, every further decade of rarity
// adds 16.7 points, p = 1e-4 scores 50 (major) and p ≤ 1e-7 scores 100. The cap keeps the scale
// bounded; values beyond it differ in Decades, which is also exported.
//
// A Calibrator is immutable and safe for concurrent use; Score does not allocate.
package calibrate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat"

	"github.com/siemscore/siemscore/models/wire"
)

// Options configure Fit.
type Options struct {
	// Knots is the number of empirical quantiles kept below the tail threshold (≥ 2).
	Knots int
	// TailFraction is the share of samples above the tail threshold u, in (0, 0.5].
	TailFraction float64
	// MinTail is the least number of samples above u used to fit the tail; TailFraction is
	// raised to MinTail/n on small samples (up to 0.5).
	MinTail int
	// FloorDecades is the rarity (−log10 p) that scores 0; rarer values score more.
	FloorDecades float64
	// CapDecades is the rarity that scores 100.
	CapDecades float64
}

// DefaultOptions returns the documented defaults: 64 knots, tail fraction 0.01 with at least
// 50 tail samples, floor 1 decade, cap 7 decades.
func DefaultOptions() Options {
	return Options{Knots: 64, TailFraction: 0.01, MinTail: 50, FloorDecades: 1, CapDecades: 7}
}

// Validate reports the first invalid option.
func (o Options) Validate() error {
	switch {
	case o.Knots < 2 || o.Knots > maxKnots:
		return fmt.Errorf("calibrate: knots %d outside [2, %d]", o.Knots, maxKnots)
	case !(o.TailFraction > 0 && o.TailFraction <= 0.5):
		return fmt.Errorf("calibrate: tail fraction %v outside (0, 0.5]", o.TailFraction)
	case o.MinTail < 1:
		return fmt.Errorf("calibrate: min tail %d < 1", o.MinTail)
	case !finite(o.FloorDecades) || !finite(o.CapDecades) || o.FloorDecades < 0 || o.CapDecades <= o.FloorDecades:
		return fmt.Errorf("calibrate: need 0 <= floor < cap, got floor %v cap %v", o.FloorDecades, o.CapDecades)
	}
	return nil
}

const (
	maxKnots = 4096
	// MinSamples is the smallest sample Fit accepts: fewer cannot say what is normal.
	MinSamples = 10
	formatV1   = 1
)

// Calibrator maps raw anomaly scores to 0–100. The zero value is not usable; build one with Fit
// or Decode.
type Calibrator struct {
	xs    []float64 // knot raw values, non-decreasing, last = tail threshold u
	ls    []float64 // knot rarities −log10 p, strictly increasing from 0
	beta  float64   // exponential tail scale above u
	floor float64
	cap   float64
	n     uint64 // sample size the calibrator was fitted on (for inspection)
}

// Fit builds a Calibrator from raw scores of normal data (higher = more anomalous). raw is not
// modified.
func Fit(raw []float64, opt Options) (*Calibrator, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if len(raw) < MinSamples {
		return nil, fmt.Errorf("calibrate: %d samples, need at least %d", len(raw), MinSamples)
	}
	s := slices.Clone(raw)
	for i, v := range s {
		if !finite(v) {
			return nil, fmt.Errorf("calibrate: sample %d is not finite (%v)", i, v)
		}
	}
	slices.Sort(s)
	n := len(s)
	tail := max(opt.TailFraction, float64(opt.MinTail)/float64(n))
	tail = min(tail, 0.5)
	lu := -math.Log10(tail)
	c := &Calibrator{
		xs:    make([]float64, opt.Knots),
		ls:    make([]float64, opt.Knots),
		floor: opt.FloorDecades,
		cap:   opt.CapDecades,
		n:     uint64(n),
	}
	for k := range opt.Knots {
		l := lu * float64(k) / float64(opt.Knots-1)
		c.ls[k] = l
		c.xs[k] = stat.Quantile(1-math.Pow(10, -l), stat.LinInterp, s, nil)
		if k > 0 && c.xs[k] < c.xs[k-1] { // interpolation rounding; quantiles never decrease
			c.xs[k] = c.xs[k-1]
		}
	}
	c.ls[opt.Knots-1] = lu // exact, whatever the rounding of the product above
	u := c.xs[opt.Knots-1]
	var excess float64
	var over int
	for _, v := range s[sort.SearchFloat64s(s, u):] {
		if v > u {
			excess += v - u
			over++
		}
	}
	if over > 0 {
		c.beta = excess / float64(over)
	}
	// A tail without spread (e.g. all normal scores equal) has no scale to extrapolate with:
	// use a tiny one relative to the data so anything beyond the training range is very rare.
	if minBeta := 1e-6 * max(1, math.Abs(u), u-c.xs[0]); !(c.beta >= minBeta) {
		c.beta = minBeta
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Decades returns −log10 of the estimated tail probability of x: 0 for values every normal
// sample reaches, growing without bound beyond the training range. NaN gives NaN.
func (c *Calibrator) Decades(x float64) float64 {
	if math.IsNaN(x) {
		return math.NaN()
	}
	last := len(c.xs) - 1
	u := c.xs[last]
	if x > u {
		return c.ls[last] + (x-u)/(c.beta*math.Ln10)
	}
	if x <= c.xs[0] {
		return 0
	}
	i := sort.SearchFloat64s(c.xs, x) // first knot >= x; 1 <= i <= last here
	if c.xs[i] == x {
		return c.ls[i]
	}
	x0, x1 := c.xs[i-1], c.xs[i]
	return c.ls[i-1] + (c.ls[i]-c.ls[i-1])*(x-x0)/(x1-x0)
}

// TailProbability returns the estimated P(X ≥ x) under the normal distribution.
func (c *Calibrator) TailProbability(x float64) float64 { return math.Pow(10, -c.Decades(x)) }

// Score returns the 0–100 anomaly score of raw value x (NaN for NaN).
func (c *Calibrator) Score(x float64) float64 {
	l := c.Decades(x)
	if math.IsNaN(l) {
		return l
	}
	return 100 * min(1, max(0, (l-c.floor)/(c.cap-c.floor)))
}

// Threshold returns the raw value at which the score reaches s (0 < s ≤ 100): the inverse of
// Score, for showing an operator which raw value an alert threshold corresponds to.
func (c *Calibrator) Threshold(s float64) (float64, error) {
	if !(s > 0 && s <= 100) {
		return 0, fmt.Errorf("calibrate: threshold score %v outside (0, 100]", s)
	}
	l := c.floor + s/100*(c.cap-c.floor)
	last := len(c.ls) - 1
	if l >= c.ls[last] {
		return c.xs[last] + (l-c.ls[last])*c.beta*math.Ln10, nil
	}
	i := sort.SearchFloat64s(c.ls, l)
	if c.ls[i] == l {
		return c.xs[i], nil
	}
	return c.xs[i-1] + (c.xs[i]-c.xs[i-1])*(l-c.ls[i-1])/(c.ls[i]-c.ls[i-1]), nil
}

// Samples returns how many raw scores the calibrator was fitted on.
func (c *Calibrator) Samples() uint64 { return c.n }

// Validate checks the invariants Score relies on: knots finite and monotone, rarities strictly
// increasing from 0, a positive finite tail scale and 0 ≤ floor < cap.
func (c *Calibrator) Validate() error {
	if c == nil {
		return errors.New("calibrate: nil calibrator")
	}
	if len(c.xs) < 2 || len(c.xs) != len(c.ls) || len(c.xs) > maxKnots {
		return fmt.Errorf("calibrate: %d knots with %d rarities (need 2..%d, equal)", len(c.xs), len(c.ls), maxKnots)
	}
	if c.ls[0] != 0 {
		return fmt.Errorf("calibrate: first knot rarity %v, want 0", c.ls[0])
	}
	for i := range c.xs {
		if !finite(c.xs[i]) || !finite(c.ls[i]) {
			return fmt.Errorf("calibrate: knot %d not finite (%v, %v)", i, c.xs[i], c.ls[i])
		}
		if i > 0 && (c.xs[i] < c.xs[i-1] || c.ls[i] <= c.ls[i-1]) {
			return fmt.Errorf("calibrate: knots not monotone at %d", i)
		}
	}
	if !finite(c.beta) || c.beta <= 0 {
		return fmt.Errorf("calibrate: tail scale %v must be positive and finite", c.beta)
	}
	if !finite(c.floor) || !finite(c.cap) || c.floor < 0 || c.cap <= c.floor {
		return fmt.Errorf("calibrate: need 0 <= floor < cap, got floor %v cap %v", c.floor, c.cap)
	}
	return nil
}

// AppendBinary appends the calibrator's encoding (see models/bundle/FORMAT.md) to b.
func (c *Calibrator) AppendBinary(b []byte) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b = wire.AppendU8(b, formatV1)
	b = wire.AppendU64(b, c.n)
	b = wire.AppendF64(b, c.floor)
	b = wire.AppendF64(b, c.cap)
	b = wire.AppendF64(b, c.beta)
	b = wire.AppendU32(b, uint32(len(c.xs)))
	b = wire.AppendF64s(b, c.xs)
	return wire.AppendF64s(b, c.ls), nil
}

// Decode parses what AppendBinary wrote, all of p, and validates it.
func Decode(p []byte) (*Calibrator, error) {
	r := wire.NewReader(p)
	if v := r.U8("format"); r.Err() == nil && v != formatV1 {
		return nil, fmt.Errorf("calibrate: unknown format %d", v)
	}
	c := &Calibrator{}
	c.n = r.U64("samples")
	c.floor = r.F64("floor")
	c.cap = r.F64("cap")
	c.beta = r.F64("tail scale")
	k := r.Count("knots", 16, maxKnots)
	c.xs = r.F64s("knot values", k)
	c.ls = r.F64s("knot rarities", k)
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
