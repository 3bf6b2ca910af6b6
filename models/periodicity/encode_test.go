package periodicity

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

func encode(t testing.TB, m *Model) []byte {
	t.Helper()
	b, err := m.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeRoundTrip(t *testing.T) {
	m, job, _, fresh := scoringModel(t)
	b := encode(t, m)
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if again := encode(t, got); !bytes.Equal(b, again) {
		t.Fatal("decode then encode changed the bytes")
	}
	if got.Config() != m.Config() || got.Window() != m.Window() || got.Len() != m.Len() {
		t.Fatalf("header differs: %+v %v %d", got.Config(), got.Window(), got.Len())
	}
	for i := range m.Len() {
		a, b := m.Stats(i), got.Stats(i)
		if math.IsNaN(a.Periodicity) && math.IsNaN(b.Periodicity) {
			a.Periodicity, b.Periodicity = 0, 0
		}
		if a != b {
			t.Errorf("pair %d: %+v != %+v", i, b, a)
		}
	}
	for _, p := range []Pair{job, fresh} {
		obs := Observation{Day: monday + 90, Count: 500}
		if a, b := m.Score(p.Principal, p.API, obs), got.Score(p.Principal, p.API, obs); a.VolumeZ != b.VolumeZ || a.ScoreNorm != b.ScoreNorm || a.Reasons != b.Reasons {
			t.Errorf("%v scores differently after decoding: %+v vs %+v", p, a, b)
		}
	}
}

func TestEncodeIsDeterministic(t *testing.T) {
	// Map iteration order differs between runs of Train; the bytes must not.
	m1, _, _, _ := scoringModel(t)
	m2, _, _, _ := scoringModel(t)
	if !bytes.Equal(encode(t, m1), encode(t, m2)) {
		t.Error("two trainings on the same counts encode differently")
	}
}

// pairCountOffset is where the pair count sits: after the format byte, the configuration and
// the window.
const pairCountOffset = 1 + 8 + 4 + 4 + 8 + 8 + 4 + 4*8 + 4 + 4

func TestDecodeRejectsCorruption(t *testing.T) {
	m, _, _, _ := scoringModel(t)
	b := encode(t, m)
	for n := range len(b) {
		if _, err := Decode(b[:n]); !errors.Is(err, ErrModel) {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(b))
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func([]byte) []byte
		want   string
	}{
		{"format", func(b []byte) []byte { b[0] = 9; return b }, "unknown format 9"},
		{"trailing", func(b []byte) []byte { return append(b, 0) }, "trailing"},
		{"threshold", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[1:], math.Float64bits(2))
			return b
		}, "threshold"},
		{"NaN threshold", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[1:], math.Float64bits(math.NaN()))
			return b
		}, "non-finite"},
		{"pair count", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[pairCountOffset:], 1<<20)
			return b
		}, "truncated"},
		{"pair order", func(b []byte) []byte {
			// The first pair's principal starts with "arn:"; make it sort after the others.
			b[pairCountOffset+4+4] = 'z'
			return b
		}, "out of order"},
	} {
		c := tc.mutate(bytes.Clone(b))
		if _, err := Decode(c); !errors.Is(err, ErrModel) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestValidateCatchesInconsistentPairs(t *testing.T) {
	m, _, _, _ := scoringModel(t)
	for _, tc := range []struct {
		name   string
		mutate func(*PairStats)
		want   string
	}{
		{"flag", func(p *PairStats) { p.Steady = !p.Steady && p.Judged; p.Judged = !p.Judged }, "judged"},
		{"periodicity", func(p *PairStats) { p.Periodicity, p.BestLag = 1.5, 3 }, "outside [0, 1]"},
		{"lag", func(p *PairStats) { p.Periodicity, p.BestLag = math.NaN(), 2 }, "at lag 2"},
		{"samples", func(p *PairStats) { p.Weekday[3].Samples++ }, "weekday samples"},
		{"median", func(p *PairStats) { p.Weekday[1].Median = math.Inf(1) }, "Monday"},
		{"active", func(p *PairStats) { p.ActiveDays = p.HistoryDays + 1 }, "active days"},
	} {
		pairs := make([]PairStats, m.Len())
		for i := range pairs {
			pairs[i] = m.Stats(i)
		}
		tc.mutate(&pairs[0])
		if _, err := newModel(m.Config(), m.Window(), pairs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	pairs := []PairStats{m.Stats(1), m.Stats(0)}
	if _, err := newModel(m.Config(), m.Window(), pairs); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Errorf("unordered pairs: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	m, _, _, _ := scoringModel(f)
	f.Add(encode(f, m))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes is valid and re-encodes to the same bytes.
		if err := got.Validate(); err != nil {
			t.Fatalf("decoded an invalid model: %v", err)
		}
		if again := encode(t, got); !bytes.Equal(again, b) {
			t.Fatal("decoded model re-encodes differently")
		}
	})
}
