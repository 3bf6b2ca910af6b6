package periodicity

import (
	"math"

	"github.com/siemscore/siemscore/models/internal/reasons"
)

// madToSigma turns a median absolute deviation into a standard deviation for normal data.
const madToSigma = 1.4826

// Observation is a pair's running count on the day of an event, as State.Observe returns it.
type Observation struct {
	Day Day
	// Count is the pair's number of calls on Day so far, the observed call included.
	Count int64
	// Late is set for an event older than the day before the pair's current day: its day's
	// count is gone, so it is neither counted nor given a volume.
	Late bool
}

// Score is the model's verdict on one call.
type Score struct {
	// Known is false for a pair unseen in training: it gets no rhythm and no volume baseline,
	// only its running count (reason ReasonPairUnknown).
	Known bool
	// Judged, Automated, Periodicity and BestLag come from training (see PairStats).
	Judged      bool
	Automated   bool
	Periodicity float64
	BestLag     int
	DayCount    int64
	// HasVolume says Expected, VolumeZ and ScoreNorm are set: the pair is known, the event is
	// not late and its weekday has a baseline.
	HasVolume bool
	// Expected is the baseline (median) count for the day's weekday.
	Expected float64
	// VolumeZ is (DayCount - Expected) / spread, spread being the largest of
	//   - 1.4826·MAD of the weekday's counts, their robust standard deviation;
	//   - 1.4826·ActiveMAD, the same over the days with calls: a pair used on a few days has
	//     a weekday median and MAD of 0, and an ordinary day of use is not a jump from zero;
	//   - √Expected, the Poisson spread of a count of that size, the floor for a perfectly
	//     regular job whose MADs are 0;
	//   - MinScale, so that a zero baseline does not divide by zero.
	// For a machine the first three are small and any real change in volume stands out; for a
	// person the day-of-use spread absorbs ordinary burstiness.
	VolumeZ float64
	// ScoreNorm maps the positive part of VolumeZ, multiplied by HumanWeight unless the pair is
	// automated, to 0..100: 100·z²/(z²+Z50²). It is 50 at Z50, ~26 at 3 and ~80 at 10;
	// fewer calls than expected score 0.
	ScoreNorm float64
	Reasons   Reasons
}

// Score rates one observation of a pair.
func (m *Model) Score(principal, api string, obs Observation) Score {
	s := Score{DayCount: obs.Count, Periodicity: math.NaN()}
	if obs.Late {
		s.Reasons |= ReasonLate
	}
	p := m.lookup(principal, api)
	if p == nil {
		s.Reasons |= ReasonPairUnknown
		return s
	}
	s.Known, s.Judged, s.Automated = true, p.Judged, p.Automated()
	s.Periodicity, s.BestLag = p.Periodicity, int(p.BestLag)
	switch {
	case !p.Judged:
		s.Reasons |= ReasonHistoryShort
	case p.Periodic:
		s.Reasons |= ReasonPeriodic
	}
	if p.Steady {
		s.Reasons |= ReasonSteady
	}
	if obs.Late {
		return s
	}
	wd := p.Weekday[obs.Day.Weekday()]
	if int(wd.Samples) < m.cfg.MinWeekdaySamples {
		s.Reasons |= ReasonNoBaseline
		return s
	}
	spread := max(madToSigma*wd.MAD, madToSigma*p.ActiveMAD, math.Sqrt(wd.Median), m.cfg.MinScale)
	s.HasVolume, s.Expected = true, wd.Median
	s.VolumeZ = (float64(obs.Count) - wd.Median) / spread
	if s.VolumeZ >= m.cfg.HighZ {
		s.Reasons |= ReasonVolumeHigh
	}
	z := s.VolumeZ
	if !s.Automated {
		z *= m.cfg.HumanWeight
	}
	if z > 0 {
		s.ScoreNorm = 100 * z * z / (z*z + m.cfg.Z50*m.cfg.Z50)
	}
	return s
}

// Reasons is a set of reason codes explaining a score.
type Reasons uint16

// Reason codes, reported in siemscore.api.reasons.
const (
	ReasonPairUnknown  Reasons = 1 << iota // the pair had no call in the training window
	ReasonHistoryShort                     // too little history to judge the rhythm
	ReasonPeriodic                         // the daily counts repeat (|autocorrelation| >= threshold)
	ReasonSteady                           // calls nearly every day in nearly the same number
	ReasonNoBaseline                       // too few past days of this weekday for a volume baseline
	ReasonLate                             // the event's day is no longer counted
	ReasonVolumeHigh                       // today's count is far above the weekday's baseline
)

var reasonCodes = [...]string{
	"api_pair_unknown",
	"api_history_short",
	"api_periodic",
	"api_steady",
	"api_no_weekday_baseline",
	"api_late_event",
	"api_volume_high",
}

// Has reports whether every reason in x is set.
func (r Reasons) Has(x Reasons) bool { return r&x == x }

// Codes returns the codes of the set reasons, in the order of the constants (unknown bits are
// ignored). The slice is shared by every caller with the same set, so scoring a record does not
// allocate: do not modify it (its capacity equals its length, so an append copies).
func (r Reasons) Codes() []string { return reasonTable.Codes(uint64(r)) }

var reasonTable = reasons.New(reasonCodes[:]...)
