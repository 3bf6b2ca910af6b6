package kmeans

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// SilhouetteExactMax is the number of points above which the silhouette is computed on a seeded
// sample of this size instead of on every point. The exact score costs n² distances; at 3000
// points that is 9·10⁶ distances (tens of milliseconds), and the sampled score's standard error
// is about 0.01, well below the differences between candidate k that matter.
const SilhouetteExactMax = 3000

// Silhouette is the mean silhouette coefficient of the clustering, in [-1, 1]: for each point,
// (b−a)/max(a, b) with a its mean distance to the rest of its cluster and b its mean distance to
// the nearest other cluster; a point alone in its cluster counts 0 (scikit-learn's convention).
// Above SilhouetteExactMax points it is computed on a sample drawn with seed.
func Silhouette(x *mat.Dense, labels []int, seed uint64) (float64, error) {
	p, err := newPoints(x)
	if err != nil {
		return 0, err
	}
	return silhouette(p, labels, SilhouetteExactMax, seed, runtime.GOMAXPROCS(0))
}

// silhouette samples sampleMax points when there are more.
func silhouette(p *points, labels []int, sampleMax int, seed uint64, workers int) (float64, error) {
	if len(labels) != p.n {
		return 0, fmt.Errorf("%w: %d labels for %d points", ErrInput, len(labels), p.n)
	}
	idx := make([]int, p.n)
	for i := range idx {
		idx[i] = i
	}
	if p.n > sampleMax {
		rng := rand.New(rand.NewPCG(seed, 0))
		for i := range sampleMax { // partial Fisher–Yates: a uniform sample
			j := i + rng.IntN(p.n-i)
			idx[i], idx[j] = idx[j], idx[i]
		}
		idx = idx[:sampleMax]
	}

	k := 0
	for _, l := range labels {
		if l < 0 {
			return 0, fmt.Errorf("%w: negative label %d", ErrInput, l)
		}
		k = max(k, l+1)
	}
	counts := make([]int, k)
	nonEmpty := 0
	for _, i := range idx {
		if counts[labels[i]] == 0 {
			nonEmpty++
		}
		counts[labels[i]]++
	}
	if nonEmpty < 2 || nonEmpty > len(idx)-1 {
		return 0, fmt.Errorf("%w: silhouette needs 2 to n-1 clusters, got %d for %d points", ErrInput, nonEmpty, len(idx))
	}

	s := make([]float64, len(idx))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			sums := make([]float64, k)
			for n := w; n < len(idx); n += workers {
				clear(sums)
				xi := p.row(idx[n])
				for _, j := range idx {
					sums[labels[j]] += math.Sqrt(sqDist(xi, p.row(j)))
				}
				own := labels[idx[n]]
				if counts[own] == 1 {
					continue
				}
				a := sums[own] / float64(counts[own]-1)
				b := math.Inf(1)
				for c, cnt := range counts {
					if c != own && cnt > 0 {
						b = min(b, sums[c]/float64(cnt))
					}
				}
				if m := max(a, b); m > 0 {
					s[n] = (b - a) / m
				}
			}
		})
	}
	wg.Wait()
	var total float64
	for _, v := range s {
		total += v
	}
	return total / float64(len(s)), nil
}

// KScore is one candidate k's fit quality.
type KScore struct {
	K          int
	Silhouette float64
	Inertia    float64
}

// SilhouetteTolerance is how far below the best silhouette a smaller k may score and still be
// chosen. Silhouettes of real data often plateau as k grows, and differences within the sampled
// score's standard error (about 0.01) are noise; preferring the smaller k then gives fewer,
// better-populated clusters.
const SilhouetteTolerance = 0.01

// Choice is the outcome of ChooseK.
type Choice struct {
	K      int      // the smallest k whose silhouette is within SilhouetteTolerance of the best
	Scores []KScore // every candidate, by increasing k
	Result *Result  // the clustering for K
}

// ChooseK fits every k in [kMin, kMax] with cfg (cfg.K is ignored) and keeps the smallest k
// whose silhouette is within SilhouetteTolerance of the highest. Every k's silhouette is computed
// on the same sample, so they compare.
func ChooseK(x *mat.Dense, kMin, kMax int, cfg Config) (*Choice, error) {
	p, err := newPoints(x)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if kMin < 2 || kMax < kMin || kMax >= p.n {
		return nil, fmt.Errorf("%w: k range [%d, %d] with %d points (need 2 ≤ kMin ≤ kMax < n)", ErrInput, kMin, kMax, p.n)
	}
	ch := &Choice{}
	results := make([]*Result, 0, kMax-kMin+1)
	for k := kMin; k <= kMax; k++ {
		c := cfg
		c.K = k
		r, err := fitPoints(p, c)
		if err != nil {
			return nil, err
		}
		sil, err := silhouette(p, r.Labels, SilhouetteExactMax, cfg.Seed, cfg.Workers)
		if err != nil {
			return nil, fmt.Errorf("kmeans: silhouette for k=%d: %w", k, err)
		}
		ch.Scores = append(ch.Scores, KScore{K: k, Silhouette: sil, Inertia: r.Inertia})
		results = append(results, r)
	}
	i := pick(ch.Scores)
	ch.K, ch.Result = ch.Scores[i].K, results[i]
	return ch, nil
}

// pick is the index of the first score within SilhouetteTolerance of the best.
func pick(scores []KScore) int {
	best := math.Inf(-1)
	for _, s := range scores {
		best = max(best, s.Silhouette)
	}
	for i, s := range scores {
		if s.Silhouette >= best-SilhouetteTolerance {
			return i
		}
	}
	return 0
}
