package periodicity

import "math"

// Autocorr is pandas' Series.autocorr(lag): the Pearson correlation of x with x shifted by lag
// (x[i] paired with x[i-lag]), computed the way pandas 3.x does it (Series.corr ->
// nanops.nancorr -> _pearson_corr), so that the numbers match the SEC351 notebook:
//
//   - pairs where either side is NaN are dropped (a shift past either end gives NaN);
//   - fewer than 2 pairs, or a side with no variation, gives NaN;
//   - each side is centred on its own mean (numpy's pairwise summation, reproduced bit for bit,
//     so that "no variation" is decided exactly as numpy decides it), scaled by its largest
//     absolute deviation, and the result is clipped to [-1, 1].
//
// The remaining differences are the rounding of the dot products (numpy uses BLAS): they stay
// far below 1e-9, as the committed parity run (parity_test.go, testdata/parity) shows.
func Autocorr(x []float64, lag int) float64 {
	n := len(x)
	if lag >= n || lag <= -n {
		return math.NaN()
	}
	lo, hi := lag, n
	if lag < 0 {
		lo, hi = 0, n+lag
	}
	a := make([]float64, 0, hi-lo)
	b := make([]float64, 0, hi-lo)
	for i := lo; i < hi; i++ {
		if va, vb := x[i], x[i-lag]; !math.IsNaN(va) && !math.IsNaN(vb) {
			a = append(a, va)
			b = append(b, vb)
		}
	}
	return pearson(a, b)
}

// pearson follows pandas' _pearson_corr step by step; a and b are centred and scaled in place.
func pearson(a, b []float64) float64 {
	if len(a) < 2 {
		return math.NaN()
	}
	aScale := centre(a)
	bScale := centre(b)
	if aScale == 0 || bScale == 0 {
		return math.NaN()
	}
	for i := range a {
		a[i] /= aScale
		b[i] /= bScale
	}
	fact := float64(len(a) - 1)
	divisor := math.Sqrt(dot(a, a) / fact)
	if divisor == 0 {
		return math.NaN()
	}
	r := dot(a, b) / fact / divisor
	divisor = math.Sqrt(dot(b, b) / fact)
	if divisor == 0 {
		return math.NaN()
	}
	return math.Max(-1, math.Min(1, r/divisor))
}

// centre subtracts the mean from v and returns the largest absolute deviation.
func centre(v []float64) float64 {
	mean := numpySum(v) / float64(len(v))
	scale := 0.0
	for i := range v {
		v[i] -= mean
		scale = math.Max(scale, math.Abs(v[i]))
	}
	return scale
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// numpySum is numpy's pairwise summation of a contiguous float64 array (pairwise_sum_DOUBLE:
// eight running sums over blocks of up to 128, recursive halving above). Matching its rounding
// matters only for the constant-series test: a series of 0.1s has a numpy mean that is not
// exactly 0.1 for some lengths, and pandas then returns 1.0 instead of NaN.
func numpySum(v []float64) float64 {
	const block = 128
	n := len(v)
	switch {
	case n < 8:
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s
	case n <= block:
		var r [8]float64
		copy(r[:], v[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += v[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += v[i]
		}
		return s
	default:
		h := n / 2
		h -= h % 8
		return numpySum(v[:h]) + numpySum(v[h:])
	}
}
