package periodicity

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAutocorrPandasDocExamples(t *testing.T) {
	// The examples in pandas' Series.autocorr docstring.
	s := []float64{0.25, 0.5, 0.2, -0.05}
	if got := Autocorr(s, 1); math.Abs(got-0.10355) > 1e-5 {
		t.Errorf("lag 1 = %v, pandas says 0.10355...", got)
	}
	if got := Autocorr(s, 2); math.Abs(got+0.99999) > 1e-5 {
		t.Errorf("lag 2 = %v, pandas says -0.99999...", got)
	}
	if got := Autocorr([]float64{1, 0, 0, 0}, 1); !math.IsNaN(got) {
		t.Errorf("[1 0 0 0] lag 1 = %v, pandas says NaN", got)
	}
}

func TestAutocorrEdgeCases(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		x    []float64
		lag  int
		want float64 // NaN means NaN
	}{
		{"empty", nil, 1, nan},
		{"lag 0 is 1", []float64{1, 2, 4}, 0, 1},
		{"lag 0 constant", []float64{3, 3, 3}, 0, nan},
		{"lag equals length", []float64{1, 2, 3}, 3, nan},
		{"one pair", []float64{1, 2}, 1, nan},
		{"two pairs", []float64{1, 2, 4}, 1, 1},
		{"constant", []float64{5, 5, 5, 5, 5}, 1, nan},
		{"one side constant", []float64{1, 1, 1, 2}, 1, nan},
		{"alternating", []float64{0, 1, 0, 1, 0, 1}, 1, -1},
		{"NaN pairs dropped", []float64{1, nan, 2, 3, nan, 5, 8}, 1, 1},
		{"all NaN", []float64{nan, nan, nan}, 1, nan},
		{"huge negative lag", []float64{1, 2, 3}, math.MinInt, nan},
		{"huge lag", []float64{1, 2, 3}, math.MaxInt, nan},
	} {
		got := Autocorr(tc.x, tc.lag)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
			t.Errorf("%s: Autocorr(%v, %d) = %v, want %v", tc.name, tc.x, tc.lag, got, tc.want)
		}
	}
}

func TestAutocorrIsPearsonOfShiftedPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		x := make([]float64, 2+r.IntN(60))
		for i := range x {
			x[i] = float64(r.IntN(20))
		}
		lag := 1 + r.IntN(len(x))
		got := Autocorr(x, lag)
		want := textbookPearson(x[lag:], x[:len(x)-lag])
		if math.IsNaN(got) != math.IsNaN(want) || (!math.IsNaN(got) && math.Abs(got-want) > 1e-12) {
			t.Fatalf("Autocorr(%v, %d) = %v, textbook Pearson %v", x, lag, got, want)
		}
		if neg := Autocorr(x, -lag); math.IsNaN(neg) != math.IsNaN(got) || math.Abs(neg-got) > 1e-12 {
			t.Fatalf("lag -%d gives %v, lag %d gives %v: the same pairs must give the same correlation", lag, neg, lag, got)
		}
	}
}

// textbookPearson is the plain formula, NaN when a side has no variance.
func textbookPearson(a, b []float64) float64 {
	n := float64(len(a))
	if len(a) < 2 {
		return math.NaN()
	}
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma, mb = ma/n, mb/n
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	if saa == 0 || sbb == 0 {
		return math.NaN()
	}
	return sab / math.Sqrt(saa*sbb)
}

func TestNumpySumBlocks(t *testing.T) {
	// Integer-valued sums are exact in any order, so every branch (short, one block,
	// recursive halving) must agree with a plain loop on them.
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 127, 128, 129, 300, 1000} {
		v := make([]float64, n)
		want := 0.0
		for i := range v {
			v[i] = float64(i%13) - 4
			want += v[i]
		}
		if got := numpySum(v); got != want {
			t.Errorf("n=%d: numpySum = %v, want %v", n, got, want)
		}
	}
}
