package periodicity

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// The binary form, all integers little-endian:
//
//	magic "SSPD", format version uint16
//	config: Threshold f64, MinHistoryDays u32, MinActiveDays u32, SteadyMinActive f64,
//	        SteadyMaxCV f64, MinWeekdaySamples u32, MinScale f64, HumanWeight f64, Z50 f64, HighZ f64
//	window: First i32, Last i32
//	pair count uvarint, then per pair in principal, API order:
//	  principal, API (uvarint length + UTF-8 bytes), HistoryDays u32, ActiveDays u32, Total u64,
//	  Periodicity f64, BestLag u8, flags u8 (1 judged, 2 periodic, 4 steady), ActiveMAD f64,
//	  7 x (Samples u32, Median f64, MAD f64) from Sunday
//
// The same model always encodes to the same bytes: pairs are sorted and NaN is written in one
// canonical form.
const (
	magic         = "SSPD"
	formatVersion = 1
	// minPairBytes is the smallest encoded pair; it bounds what a corrupt pair count can make
	// Decode allocate.
	minPairBytes = 1 + 1 + 4 + 4 + 8 + 8 + 1 + 1 + 8 + 7*(4+8+8)
)

const (
	flagJudged = 1 << iota
	flagPeriodic
	flagSteady
)

// MarshalBinary encodes the model (encoding.BinaryMarshaler).
func (m *Model) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 128+len(m.pairs)*(minPairBytes+64))
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint16(b, formatVersion)
	c := m.cfg
	b = appendFloat(b, c.Threshold)
	b = binary.LittleEndian.AppendUint32(b, uint32(c.MinHistoryDays))
	b = binary.LittleEndian.AppendUint32(b, uint32(c.MinActiveDays))
	b = appendFloat(b, c.SteadyMinActive)
	b = appendFloat(b, c.SteadyMaxCV)
	b = binary.LittleEndian.AppendUint32(b, uint32(c.MinWeekdaySamples))
	for _, v := range []float64{c.MinScale, c.HumanWeight, c.Z50, c.HighZ} {
		b = appendFloat(b, v)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(m.window.First))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.window.Last))
	b = binary.AppendUvarint(b, uint64(len(m.pairs)))
	for i := range m.pairs {
		p := &m.pairs[i]
		b = appendString(b, p.Principal)
		b = appendString(b, p.API)
		b = binary.LittleEndian.AppendUint32(b, uint32(p.HistoryDays))
		b = binary.LittleEndian.AppendUint32(b, uint32(p.ActiveDays))
		b = binary.LittleEndian.AppendUint64(b, uint64(p.Total))
		b = appendFloat(b, p.Periodicity)
		b = append(b, byte(p.BestLag), p.flags())
		b = appendFloat(b, p.ActiveMAD)
		for _, w := range p.Weekday {
			b = binary.LittleEndian.AppendUint32(b, uint32(w.Samples))
			b = appendFloat(b, w.Median)
			b = appendFloat(b, w.MAD)
		}
	}
	return b, nil
}

func (p *PairStats) flags() byte {
	var f byte
	if p.Judged {
		f |= flagJudged
	}
	if p.Periodic {
		f |= flagPeriodic
	}
	if p.Steady {
		f |= flagSteady
	}
	return f
}

func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) {
		v = math.NaN()
	}
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// Decode reads a model written by MarshalBinary and validates it. Corrupt or truncated input
// is an error, never a panic.
func Decode(data []byte) (*Model, error) {
	r := reader{b: data}
	if string(r.bytes(len(magic))) != magic {
		return nil, errors.New("periodicity: decode: not a periodicity model (bad magic)")
	}
	if v := r.u16(); r.err == nil && v != formatVersion {
		return nil, fmt.Errorf("periodicity: decode: format version %d, this build reads %d", v, formatVersion)
	}
	var c Config
	c.Threshold = r.f64()
	c.MinHistoryDays = int(r.u32())
	c.MinActiveDays = int(r.u32())
	c.SteadyMinActive = r.f64()
	c.SteadyMaxCV = r.f64()
	c.MinWeekdaySamples = int(r.u32())
	c.MinScale, c.HumanWeight, c.Z50, c.HighZ = r.f64(), r.f64(), r.f64(), r.f64()
	w := Window{First: Day(int32(r.u32())), Last: Day(int32(r.u32()))}
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/minPairBytes) {
		return nil, fmt.Errorf("periodicity: decode: %d pairs cannot fit in %d bytes", n, len(r.b))
	}
	pairs := make([]PairStats, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		var p PairStats
		p.Principal, p.API = r.str(), r.str()
		p.HistoryDays, p.ActiveDays = int32(r.u32()), int32(r.u32())
		p.Total = int64(r.u64())
		p.Periodicity = r.f64()
		p.BestLag = int8(r.u8())
		f := r.u8()
		p.Judged, p.Periodic, p.Steady = f&flagJudged != 0, f&flagPeriodic != 0, f&flagSteady != 0
		if f&^(flagJudged|flagPeriodic|flagSteady) != 0 {
			r.fail(fmt.Errorf("pair %d: unknown flags %#x", i, f))
		}
		p.ActiveMAD = r.f64()
		for d := range p.Weekday {
			p.Weekday[d] = WeekdayStats{Samples: int32(r.u32()), Median: r.f64(), MAD: r.f64()}
		}
		pairs = append(pairs, p)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Errorf("%d trailing bytes", len(r.b)))
	}
	if r.err != nil {
		return nil, fmt.Errorf("periodicity: decode: %w", r.err)
	}
	return newModel(c, w, pairs)
}

// reader consumes little-endian fields, remembering the first error; after it every read
// returns zero values.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = fmt.Errorf("at byte %d: %w", r.off, err)
	}
	r.b = nil
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail(fmt.Errorf("truncated: need %d bytes, have %d", n, len(r.b)))
		return nil
	}
	v := r.b[:n]
	r.b, r.off = r.b[n:], r.off+n
	return v
}

func (r *reader) u8() uint8 {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.bytes(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.bytes(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.bytes(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

// f64 reads a float; only the canonical NaN is accepted, so that a decoded model re-encodes to
// the bytes it came from.
func (r *reader) f64() float64 {
	bits := r.u64()
	v := math.Float64frombits(bits)
	if math.IsNaN(v) && bits != math.Float64bits(math.NaN()) {
		r.fail(fmt.Errorf("non-canonical NaN %#x", bits))
	}
	return v
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, v)) {
		r.fail(errors.New("bad or overlong varint"))
		return 0
	}
	r.b, r.off = r.b[n:], r.off+n
	return v
}

func (r *reader) str() string {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.fail(fmt.Errorf("truncated: string of %d bytes, have %d", n, len(r.b)))
	}
	v := r.bytes(int(n))
	if r.err == nil && !utf8.Valid(v) {
		r.fail(errors.New("string is not UTF-8"))
	}
	return string(v)
}

// Validate checks the model's internal consistency: the configuration, the window, the pair
// order and every pair's statistics. Decode and Train call it; a bundle loader may call it
// again before swapping models.
func (m *Model) Validate() error {
	if err := m.cfg.Validate(); err != nil {
		return err
	}
	if err := m.window.validate(); err != nil {
		return fmt.Errorf("periodicity: %w", err)
	}
	if len(m.index) != len(m.pairs) {
		return fmt.Errorf("periodicity: %d pairs but %d distinct", len(m.pairs), len(m.index))
	}
	for i := range m.pairs {
		p := &m.pairs[i]
		if err := p.validate(m.cfg, m.window); err != nil {
			return fmt.Errorf("periodicity: pair %d (%q, %q): %w", i, p.Principal, p.API, err)
		}
		if i > 0 && comparePairs(m.pairs[i-1], *p) >= 0 {
			return fmt.Errorf("periodicity: pair %d (%q, %q) out of order", i, p.Principal, p.API)
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
