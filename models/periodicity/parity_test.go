package periodicity_test

// The parity tests compare models/periodicity's autocorrelation with pandas': the series
// (testdata/parity/series.csv, written by `go test ./models/periodicity -run
// TestSeriesFileIsCurrent -update`), the script that runs pandas on them (autocorr.py) and its
// committed output (pandas_autocorr.json); `make parity` regenerates all of it.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/synth/apicalls"
)

var update = flag.Bool("update", false, "rewrite series.csv (then rerun autocorr.py)")

const (
	// The series, pandas' script and its committed output live in testdata/parity.
	seriesFile = "testdata/parity/series.csv"
	pandasFile = "testdata/parity/pandas_autocorr.json"
	tolerance  = 1e-9
)

type series struct {
	id     string
	values []float64
	// pair is set for series taken from generated CloudTrail: the model's stored periodicity
	// is checked against pandas too.
	pair *periodicity.Pair
}

// edgeCases are the series where pandas' definition matters: too short for a lag, constant,
// constant only on one side of the shift, NaN gaps, and constant non-integers whose numpy mean
// is inexact (pandas then returns 1.0 instead of NaN for some lengths).
func edgeCases() []series {
	nan := math.NaN()
	out := []series{
		{id: "single", values: []float64{3}},
		{id: "two", values: []float64{1, 2}},
		{id: "pandas-doc", values: []float64{0.25, 0.5, 0.2, -0.05}},
		{id: "pandas-doc-nan", values: []float64{1, 0, 0, 0}},
		{id: "constant-5x10", values: rep(5, 10)},
		{id: "zeros-14", values: rep(0, 14)},
		{id: "len7-lag7", values: []float64{1, 4, 2, 8, 5, 7, 1}},
		{id: "len8-one-pair-at-lag7", values: []float64{1, 4, 2, 8, 5, 7, 1, 3}},
		{id: "len9-two-pairs-at-lag7", values: []float64{1, 4, 2, 8, 5, 7, 1, 3, 6}},
		{id: "step", values: append(rep(0, 20), rep(9, 20)...)},
		{id: "one-side-constant", values: append(rep(2, 12), 7)},
		{id: "alternating", values: []float64{0, 3, 0, 3, 0, 3, 0, 3, 0, 3, 0, 3}},
		{id: "weekly-zero-filled", values: weekly(0, 12)},
		{id: "weekly-days-only", values: rep(4, 12)},
		{id: "nan-gaps", values: []float64{3, nan, 5, 6, nan, nan, 2, 8, 1, nan, 4, 4, 9, 0, 2}},
		{id: "all-nan", values: []float64{nan, nan, nan, nan}},
		{id: "large-counts", values: []float64{120000, 130001, 125000, 99999, 150000, 140000, 130000, 128000, 131000, 90000}},
	}
	for _, n := range []int{5, 9, 10, 17, 30, 200} {
		out = append(out, series{id: fmt.Sprintf("constant-0.1x%d", n), values: rep(0.1, n)})
	}
	long := make([]float64, 300) // past numpy's 128-element summation block
	for i := range long {
		long[i] = float64((i*37)%101) + 0.5*float64(i%7)
	}
	return append(out, series{id: "long-300", values: long})
}

func rep(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func weekly(offset, weeks int) []float64 {
	out := make([]float64, 7*weeks)
	for i := offset; i < len(out); i += 7 {
		out[i] = 4
	}
	return out
}

// generated returns zero-filled daily series of pairs from generated CloudTrail (every
// seventh pair, cron roles and humans alike), as the model trains on them.
func generated(t testing.TB) ([]series, *periodicity.Model) {
	cfg := apicalls.DefaultConfig(1)
	cfg.Days, cfg.Burst.Factor = 84, 0
	ds, err := apicalls.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := periodicity.NewCounts()
	c.AddCalls(ds.Calls())
	w := periodicity.Window{First: ds.Day(0), Last: ds.Day(cfg.Days - 1)}
	m, err := periodicity.Train(c, w, periodicity.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var out []series
	for i := 0; i < m.Len(); i += 7 {
		p := m.Stats(i).Pair
		_, values, _ := c.Series(p, w)
		out = append(out, series{id: fmt.Sprintf("generated-%03d", i), values: values, pair: &p})
	}
	return out, m
}

// encodeCSV writes one row per value: series id, index, value (empty for NaN), with values in
// Go's shortest round-trip form.
func encodeCSV(all []series) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"series", "index", "value"})
	for _, s := range all {
		for i, v := range s.values {
			cell := ""
			if !math.IsNaN(v) {
				cell = strconv.FormatFloat(v, 'g', -1, 64)
			}
			w.Write([]string{s.id, strconv.Itoa(i), cell})
		}
	}
	w.Flush()
	return b.Bytes()
}

func TestSeriesFileIsCurrent(t *testing.T) {
	gen, _ := generated(t)
	want := encodeCSV(append(edgeCases(), gen...))
	if *update {
		if err := os.WriteFile(seriesFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s; now run autocorr.py to refresh %s", seriesFile, pandasFile)
		return
	}
	got, err := os.ReadFile(seriesFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the generator produces: run `go test ./models/periodicity -run TestSeriesFileIsCurrent -update` and autocorr.py", seriesFile)
	}
}

// pandasResults is autocorr.py's output.
type pandasResults struct {
	Pandas string                `json:"pandas"`
	NumPy  string                `json:"numpy"`
	Lags   []int                 `json:"lags"`
	Series map[string][]*float64 `json:"series"` // null = NaN
}

func TestPandasParity(t *testing.T) {
	raw, err := os.ReadFile(pandasFile)
	if err != nil {
		t.Fatal(err)
	}
	var res pandasResults
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	gen, m := generated(t)
	all := append(edgeCases(), gen...)
	if len(res.Series) != len(all) {
		t.Fatalf("%s has %d series, the generator %d: rerun autocorr.py", pandasFile, len(res.Series), len(all))
	}
	var compared, nans int
	worst := 0.0
	for _, s := range all {
		want, ok := res.Series[s.id]
		if !ok || len(want) != len(res.Lags) {
			t.Fatalf("series %s missing from %s", s.id, pandasFile)
		}
		best := math.NaN()
		for i, lag := range res.Lags {
			got := periodicity.Autocorr(s.values, lag)
			compared++
			switch {
			case want[i] == nil:
				nans++
				if !math.IsNaN(got) {
					t.Errorf("%s lag %d: Go %v, pandas NaN", s.id, lag, got)
				}
				continue
			case math.IsNaN(got):
				t.Errorf("%s lag %d: Go NaN, pandas %v", s.id, lag, *want[i])
				continue
			}
			d := math.Abs(got - *want[i])
			worst = max(worst, d)
			if d > tolerance {
				t.Errorf("%s lag %d: Go %.17g, pandas %.17g (|diff| %.3g)", s.id, lag, got, *want[i], d)
			}
			if a := math.Abs(*want[i]); math.IsNaN(best) || a > best {
				best = a
			}
		}
		if s.pair != nil {
			stats, _ := m.Lookup(s.pair.Principal, s.pair.API)
			if math.IsNaN(best) != math.IsNaN(stats.Periodicity) || math.Abs(best-stats.Periodicity) > tolerance {
				t.Errorf("%s (%v): model periodicity %v, pandas max |autocorr| %v", s.id, *s.pair, stats.Periodicity, best)
			}
		}
	}
	t.Logf("pandas %s, numpy %s: %d series, %d autocorrelations (%d NaN in both), max |Go - pandas| = %.3g",
		res.Pandas, res.NumPy, len(all), compared, nans, worst)
}
