package calibrate

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func sample(n int, d interface{ Rand() float64 }) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = d.Rand()
	}
	return out
}

func fit(t *testing.T, raw []float64) *Calibrator {
	t.Helper()
	c, err := Fit(raw, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// On an exponential distribution the true rarity of x is x/ln10 decades, including beyond the
// largest sample, which is exactly the family the tail extrapolation assumes.
func TestDecadesMatchKnownDistribution(t *testing.T) {
	src := rand.NewPCG(1, 2)
	c := fit(t, sample(200000, distuv.Exponential{Rate: 1, Src: src}))
	for _, x := range []float64{0.5, 1, 2.3, 4.6, 6.9, 9.2, 13.8, 20} {
		want := x / math.Ln10
		if got := c.Decades(x); math.Abs(got-want) > 0.08*max(1, want) {
			t.Errorf("Decades(%v) = %.3f, want %.3f", x, got, want)
		}
	}
	// A normal sample: P(X >= 2.326) = 0.01 is a knot region, P(X >= 3.09) = 0.001 in the tail.
	c = fit(t, sample(200000, distuv.Normal{Mu: 0, Sigma: 1, Src: src}))
	if got := c.Decades(2.326); math.Abs(got-2) > 0.05 {
		t.Errorf("normal: Decades(2.326) = %.3f, want 2", got)
	}
	if got := c.Decades(-3); got >= c.ls[1] {
		t.Errorf("normal: a value below almost every sample must be rarer than no knot, got %v", got)
	}
}

func TestScoreMonotoneBoundedAndExtrapolated(t *testing.T) {
	src := rand.NewPCG(3, 4)
	for name, d := range map[string]interface{ Rand() float64 }{
		"normal":    distuv.Normal{Mu: 5, Sigma: 2, Src: src},
		"lognormal": distuv.LogNormal{Mu: 0, Sigma: 1, Src: src},
		"discrete":  discrete{src: src},
	} {
		raw := sample(5000, d)
		c := fit(t, raw)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range raw {
			lo, hi = min(lo, v), max(hi, v)
		}
		prev := -1.0
		prevL := -1.0
		for i := 0; i <= 4000; i++ {
			x := lo - 1 + (hi-lo+2)*float64(i)/2000 // runs to well beyond the sample maximum
			s, l := c.Score(x), c.Decades(x)
			if s < prev || l < prevL || s < 0 || s > 100 || math.IsNaN(s) {
				t.Fatalf("%s: not monotone/bounded at x=%v: score %v after %v, decades %v after %v", name, x, s, prev, l, prevL)
			}
			prev, prevL = s, l
		}
		if c.Score(lo-1) != 0 {
			t.Errorf("%s: a value below all normal samples must score 0", name)
		}
		// Beyond the largest normal sample rarity keeps growing, so extreme anomalies differ.
		if !(c.Decades(hi+10) > c.Decades(hi+1) && c.Decades(hi+1) > c.Decades(hi)) {
			t.Errorf("%s: tail not extrapolated: %v %v %v", name, c.Decades(hi), c.Decades(hi+1), c.Decades(hi+10))
		}
		if c.Score(hi+1e6) != 100 {
			t.Errorf("%s: score must cap at 100", name)
		}
	}
}

// discrete draws from few distinct values: ties must resolve to the larger tail probability,
// so the most common value is never rare.
type discrete struct{ src rand.Source }

func (d discrete) Rand() float64 { return float64(rand.New(d.src).IntN(4)) }

func TestTiesAreNotRare(t *testing.T) {
	raw := make([]float64, 1000)
	for i := range raw {
		if i%100 == 0 {
			raw[i] = 1
		}
	}
	c := fit(t, raw)
	if got := c.Score(0); got != 0 {
		t.Errorf("value shared by 99%% of samples scores %v, want 0", got)
	}
	// The tail beyond the 95% quantile (50 of 1000 samples) is the exponential fit: 1.3 decades
	// at the threshold plus 1/ln10 for the mean excess, against the true 2.
	if l := c.Decades(1); l < 1.5 || l > 2.2 {
		t.Errorf("value reached by 1%% of samples: Decades = %v, want between 1.5 and 2.2", l)
	}
	// All samples identical: anything above is extremely rare, anything at or below is normal.
	c = fit(t, make([]float64, 100))
	if c.Score(0) != 0 || c.Score(0.01) != 100 {
		t.Errorf("constant sample: Score(0)=%v Score(0.01)=%v", c.Score(0), c.Score(0.01))
	}
}

func TestDefaultsMapDecadesToBands(t *testing.T) {
	src := rand.NewPCG(5, 6)
	c := fit(t, sample(100000, distuv.Exponential{Rate: 1, Src: src}))
	for _, tc := range []struct{ p, want float64 }{{1e-1, 0}, {1e-4, 50}, {math.Pow(10, -5.5), 75}, {1e-8, 100}} {
		x := -math.Log(tc.p) // exact quantile of Exp(1)
		if got := c.Score(x); math.Abs(got-tc.want) > 3 {
			t.Errorf("p=%g: score %.2f, want ~%v", tc.p, got, tc.want)
		}
	}
	for _, s := range []float64{3, 25, 50, 75, 100} {
		x, err := c.Threshold(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Score(x); math.Abs(got-s) > 1e-6 {
			t.Errorf("Score(Threshold(%v)) = %v", s, got)
		}
	}
	if _, err := c.Threshold(0); err == nil {
		t.Error("Threshold(0) must fail: every value at or below the floor scores 0")
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	if _, err := Fit(make([]float64, MinSamples-1), DefaultOptions()); err == nil {
		t.Error("too few samples accepted")
	}
	raw := make([]float64, 100)
	raw[7] = math.NaN()
	if _, err := Fit(raw, DefaultOptions()); err == nil {
		t.Error("NaN sample accepted")
	}
	raw[7] = math.Inf(1)
	if _, err := Fit(raw, DefaultOptions()); err == nil {
		t.Error("Inf sample accepted")
	}
	for _, mod := range []func(*Options){
		func(o *Options) { o.Knots = 1 },
		func(o *Options) { o.TailFraction = 0 },
		func(o *Options) { o.TailFraction = 0.9 },
		func(o *Options) { o.MinTail = 0 },
		func(o *Options) { o.CapDecades = o.FloorDecades },
		func(o *Options) { o.FloorDecades = math.NaN() },
	} {
		o := DefaultOptions()
		mod(&o)
		if _, err := Fit(make([]float64, 100), o); err == nil {
			t.Errorf("invalid options %+v accepted", o)
		}
	}
	if !math.IsNaN(fit(t, make([]float64, 100)).Score(math.NaN())) {
		t.Error("Score(NaN) must be NaN")
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	c := fit(t, sample(3000, distuv.Normal{Mu: 1, Sigma: 3, Src: rand.NewPCG(7, 8)}))
	b, err := c.AppendBinary([]byte("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b[len("prefix"):])
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := d.AppendBinary(nil)
	if !bytes.Equal(b[len("prefix"):], b2) {
		t.Fatal("re-encoding a decoded calibrator changed its bytes")
	}
	for _, x := range []float64{-10, 0, 1, 5, 9, 20} {
		if c.Score(x) != d.Score(x) {
			t.Errorf("decoded calibrator scores %v differently", x)
		}
	}
	if d.Samples() != 3000 {
		t.Errorf("samples = %d", d.Samples())
	}
	// Every truncation fails cleanly; so do non-monotone knots and a non-finite tail scale.
	for i := range b2 {
		if _, err := Decode(b2[:i]); err == nil {
			t.Fatalf("truncation to %d bytes accepted", i)
		}
	}
	if _, err := Decode(append(b2, 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	const knots = 1 + 8 + 8 + 8 + 8 + 4 // offset of the knot values
	bad := bytes.Clone(b2)
	copy(bad[knots+8:], b2[knots+5*8:knots+6*8]) // knot 1 := knot 5, knot 5 := knot 1
	copy(bad[knots+5*8:], b2[knots+8:knots+2*8])
	if _, err := Decode(bad); err == nil {
		t.Error("non-monotone knots accepted")
	}
	nanBeta := bytes.Clone(b2)
	copy(nanBeta[1+8+8+8:], []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f})
	if _, err := Decode(nanBeta); err == nil {
		t.Error("NaN tail scale accepted")
	}
}

func BenchmarkScore(b *testing.B) {
	c, err := Fit(sample(100000, distuv.Normal{Mu: 0, Sigma: 1, Src: rand.NewPCG(9, 9)}), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var s float64
	for i := 0; b.Loop(); i++ {
		s += c.Score(float64(i%100)/25 - 2)
	}
	_ = s
}
