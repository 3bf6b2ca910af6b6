package kmeans

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func benchData(n, d int) *mat.Dense {
	rng := rand.New(rand.NewPCG(1, 2))
	x := mat.NewDense(n, d, nil)
	for i := range n {
		c := float64(rng.IntN(6)) * 3
		for j := range d {
			x.Set(i, j, c+rng.NormFloat64())
		}
	}
	return x
}

func BenchmarkFit10kx8(b *testing.B) {
	x := benchData(10_000, 8)
	for b.Loop() {
		if _, err := Fit(x, Config{K: 6, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSilhouette3k(b *testing.B) {
	x := benchData(3000, 8)
	r, err := Fit(x, Config{K: 6, Seed: 1, NInit: 1})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Silhouette(x, r.Labels, 1); err != nil {
			b.Fatal(err)
		}
	}
}
