package periodicity

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/siemscore/siemscore/models/wire"
)

// The binary form, written with models/wire (little-endian):
//
//	format u8: 2 when the principals are keyed by role (Config.SessionKeys false, the default:
//	  processors/identity), 1 when by session, as every model was before the identity rule;
//	  the layout is the same
//	config: Threshold f64, MinHistoryDays u32, MinActiveDays u32, SteadyMinActive f64,
//	        SteadyMaxCV f64, MinWeekdaySamples u32, MinScale f64, HumanWeight f64, Z50 f64, HighZ f64
//	window: First u32, Last u32 (days since 1970-01-01)
//	pair count u32, then per pair in principal, API order:
//	  principal, API (u32 length + UTF-8 bytes), HistoryDays u32, ActiveDays u32, Total u64,
//	  flags u8 (1 judged, 2 periodic, 4 steady, 8 periodicity defined), Periodicity f64 (0 when
//	  undefined), BestLag u8, ActiveMAD f64, 7 x (Samples u32, Median f64, MAD f64) from Sunday
//
// The same model always encodes to the same bytes (pairs are sorted), and every byte string
// Decode accepts re-encodes to itself.
const (
	formatSessionKeys = 1
	formatRoleKeys    = 2
	// minPairBytes is the smallest encoded pair; it bounds what a corrupt pair count can make
	// Decode allocate.
	minPairBytes = 4 + 1 + 4 + 1 + 4 + 4 + 8 + 1 + 8 + 1 + 8 + 7*(4+8+8)
	maxPairs     = 1 << 28
	maxNameBytes = 1 << 16
)

const (
	flagJudged = 1 << iota
	flagPeriodic
	flagSteady
	flagDefined // Periodicity is a number, not NaN
)

// AppendBinary appends the model's encoding to b.
func (m *Model) AppendBinary(b []byte) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := m.cfg
	format := uint8(formatRoleKeys)
	if c.SessionKeys {
		format = formatSessionKeys
	}
	b = wire.AppendU8(b, format)
	b = wire.AppendF64(b, c.Threshold)
	b = wire.AppendU32(b, uint32(c.MinHistoryDays))
	b = wire.AppendU32(b, uint32(c.MinActiveDays))
	b = wire.AppendF64(b, c.SteadyMinActive)
	b = wire.AppendF64(b, c.SteadyMaxCV)
	b = wire.AppendU32(b, uint32(c.MinWeekdaySamples))
	b = wire.AppendF64s(b, []float64{c.MinScale, c.HumanWeight, c.Z50, c.HighZ})
	b = wire.AppendU32(b, uint32(m.window.First))
	b = wire.AppendU32(b, uint32(m.window.Last))
	b = wire.AppendU32(b, uint32(len(m.pairs)))
	for i := range m.pairs {
		p := &m.pairs[i]
		b = wire.AppendBytes(b, []byte(p.Principal))
		b = wire.AppendBytes(b, []byte(p.API))
		b = wire.AppendU32(b, uint32(p.HistoryDays))
		b = wire.AppendU32(b, uint32(p.ActiveDays))
		b = wire.AppendI64(b, p.Total)
		b = wire.AppendU8(b, p.flags())
		periodicity := p.Periodicity
		if math.IsNaN(periodicity) {
			periodicity = 0
		}
		b = wire.AppendF64(b, periodicity)
		b = wire.AppendU8(b, uint8(p.BestLag))
		b = wire.AppendF64(b, p.ActiveMAD)
		for _, w := range p.Weekday {
			b = wire.AppendU32(b, uint32(w.Samples))
			b = wire.AppendF64(b, w.Median)
			b = wire.AppendF64(b, w.MAD)
		}
	}
	return b, nil
}

func (p *PairStats) flags() uint8 {
	var f uint8
	for _, bit := range []struct {
		set  bool
		flag uint8
	}{{p.Judged, flagJudged}, {p.Periodic, flagPeriodic}, {p.Steady, flagSteady}, {!math.IsNaN(p.Periodicity), flagDefined}} {
		if bit.set {
			f |= bit.flag
		}
	}
	return f
}

// Decode parses what AppendBinary wrote, all of data, and validates it. Corrupt or truncated
// input is an error, never a panic.
func Decode(data []byte) (*Model, error) {
	r := wire.NewReader(data)
	var c Config
	switch v := r.U8("format"); {
	case r.Err() != nil:
	case v == formatSessionKeys:
		c.SessionKeys = true
	case v != formatRoleKeys:
		return nil, fmt.Errorf("%w: unknown format %d", ErrModel, v)
	}
	c.Threshold = r.F64("threshold")
	c.MinHistoryDays = int(r.U32("min history days"))
	c.MinActiveDays = int(r.U32("min active days"))
	c.SteadyMinActive = r.F64("steady min active")
	c.SteadyMaxCV = r.F64("steady max CV")
	c.MinWeekdaySamples = int(r.U32("min weekday samples"))
	c.MinScale, c.HumanWeight, c.Z50, c.HighZ = r.F64("min scale"), r.F64("human weight"), r.F64("z50"), r.F64("high z")
	w := Window{First: Day(int32(r.U32("window first"))), Last: Day(int32(r.U32("window last")))}
	n := r.Count("pairs", minPairBytes, maxPairs)
	pairs := make([]PairStats, 0, n)
	for range n {
		var p PairStats
		p.Principal, p.API = readName(r, "principal"), readName(r, "API")
		p.HistoryDays, p.ActiveDays = int32(r.U32("history days")), int32(r.U32("active days"))
		p.Total = r.I64("total")
		f := r.U8("flags")
		if f&^(flagJudged|flagPeriodic|flagSteady|flagDefined) != 0 {
			r.Failf("flags", "unknown flags %#x", f)
		}
		p.Judged, p.Periodic, p.Steady = f&flagJudged != 0, f&flagPeriodic != 0, f&flagSteady != 0
		p.Periodicity = r.F64("periodicity")
		if f&flagDefined == 0 {
			if p.Periodicity != 0 || math.Signbit(p.Periodicity) {
				r.Failf("periodicity", "undefined periodicity stored as %v", p.Periodicity)
			}
			p.Periodicity = math.NaN()
		}
		p.BestLag = int8(r.U8("best lag"))
		p.ActiveMAD = r.F64("active MAD")
		for d := range p.Weekday {
			p.Weekday[d] = WeekdayStats{Samples: int32(r.U32("weekday samples")), Median: r.F64("weekday median"), MAD: r.F64("weekday MAD")}
		}
		if r.Err() != nil {
			break
		}
		pairs = append(pairs, p)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModel, err)
	}
	return newModel(c, w, pairs)
}

func readName(r *wire.Reader, field string) string {
	b := r.Bytes(field, maxNameBytes)
	if r.Err() == nil && !utf8.Valid(b) {
		r.Failf(field, "not UTF-8")
	}
	return string(b)
}

// ErrModel is wrapped by every error about a model that fails validation or cannot be decoded.
var ErrModel = errors.New("periodicity: invalid model")

// Validate checks the model's internal consistency: the configuration, the window, the pair
// order and every pair's statistics. Decode and Train call it; a bundle loader may call it
// again before swapping models.
func (m *Model) Validate() error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrModel, err)
	}
	return nil
}

func (m *Model) validate() error {
	if err := m.cfg.Validate(); err != nil {
		return err
	}
	if err := m.window.validate(); err != nil {
		return err
	}
	if len(m.index) != len(m.pairs) {
		return fmt.Errorf("%d pairs but %d distinct", len(m.pairs), len(m.index))
	}
	for i := range m.pairs {
		p := &m.pairs[i]
		if err := p.validate(m.cfg, m.window); err != nil {
			return fmt.Errorf("pair %d (%q, %q): %w", i, p.Principal, p.API, err)
		}
		if i > 0 && comparePairs(m.pairs[i-1], *p) >= 0 {
			return fmt.Errorf("pair %d (%q, %q) out of order", i, p.Principal, p.API)
		}
	}
	return nil
}

func (p *PairStats) validate(cfg Config, w Window) error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case p.Principal == "" || p.API == "":
		return errors.New("empty principal or API")
	case p.HistoryDays < 1 || int(p.HistoryDays) > w.Days():
		return fmt.Errorf("history of %d days in a %d-day window", p.HistoryDays, w.Days())
	case p.ActiveDays < 1 || p.ActiveDays > p.HistoryDays:
		return fmt.Errorf("%d active days of %d", p.ActiveDays, p.HistoryDays)
	case p.Total < int64(p.ActiveDays):
		return fmt.Errorf("%d calls on %d active days", p.Total, p.ActiveDays)
	case math.IsNaN(p.Periodicity) != (p.BestLag == 0):
		return fmt.Errorf("periodicity %v at lag %d", p.Periodicity, p.BestLag)
	case !math.IsNaN(p.Periodicity) && !(p.Periodicity >= 0 && p.Periodicity <= 1):
		return fmt.Errorf("periodicity %v outside [0, 1]", p.Periodicity)
	case p.BestLag < 0 || p.BestLag > MaxLag:
		return fmt.Errorf("best lag %d outside 0..%d", p.BestLag, MaxLag)
	case p.Judged != (int(p.HistoryDays) >= cfg.MinHistoryDays && int(p.ActiveDays) >= cfg.MinActiveDays):
		return fmt.Errorf("judged=%v disagrees with %d history and %d active days", p.Judged, p.HistoryDays, p.ActiveDays)
	case p.Periodic != (p.Judged && p.Periodicity >= cfg.Threshold):
		return fmt.Errorf("periodic=%v disagrees with periodicity %v", p.Periodic, p.Periodicity)
	case p.Steady && !p.Judged:
		return errors.New("steady but not judged")
	case !finite(p.ActiveMAD) || p.ActiveMAD < 0:
		return fmt.Errorf("active-day MAD %v", p.ActiveMAD)
	}
	samples := 0
	for d, s := range p.Weekday {
		switch {
		case s.Samples < 0 || !finite(s.Median) || !finite(s.MAD) || s.Median < 0 || s.MAD < 0:
			return fmt.Errorf("%s: %d samples, median %v, MAD %v", time.Weekday(d), s.Samples, s.Median, s.MAD)
		case s.Samples == 0 && (s.Median != 0 || s.MAD != 0):
			return fmt.Errorf("%s: median %v, MAD %v without samples", time.Weekday(d), s.Median, s.MAD)
		}
		samples += int(s.Samples)
	}
	if samples != int(p.HistoryDays) {
		return fmt.Errorf("%d weekday samples for %d history days", samples, p.HistoryDays)
	}
	return nil
}
