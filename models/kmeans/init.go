package kmeans

import (
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/floats"
)

// plusPlus seeds k centres with greedy k-means++ (scikit-learn's _kmeans_plusplus with unit
// sample weights): each new centre is the best of 2+⌊ln k⌋ D²-sampled candidates. Greedy trials
// matter on data with a few far outliers, where a single D² draw lands on an outlier and wastes a
// centre on it.
func plusPlus(p *points, k int, rng *rand.Rand) []float64 {
	centers := make([]float64, 0, k*p.d)
	trials := 2 + int(math.Log(float64(k)))

	first := p.row(rng.IntN(p.n))
	centers = append(centers, first...)
	closest := make([]float64, p.n)
	for i := range p.n {
		closest[i] = sqDist(p.row(i), first)
	}
	pot := floats.Sum(closest)

	cum := make([]float64, p.n)
	cand := make([][]float64, trials)
	for t := range cand {
		cand[t] = make([]float64, p.n)
	}
	ids := make([]int, trials)
	for len(centers) < k*p.d {
		floats.CumSum(cum, closest)
		for t := range trials {
			// SearchFloat64s is numpy's searchsorted(side="left"); rounding in the cumulative
			// sum can push the draw past the end, hence the clamp (as scikit-learn clips).
			ids[t] = min(sort.SearchFloat64s(cum, rng.Float64()*pot), p.n-1)
		}
		bestT, bestPot := 0, math.Inf(1)
		for t, id := range ids {
			c := p.row(id)
			d := cand[t]
			var s float64
			for i := range p.n {
				d[i] = min(closest[i], sqDist(p.row(i), c))
				s += d[i]
			}
			if s < bestPot {
				bestT, bestPot = t, s
			}
		}
		centers = append(centers, p.row(ids[bestT])...)
		closest, cand[bestT] = cand[bestT], closest
		pot = bestPot
	}
	return centers
}
