package kmeans

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// Defaults match scikit-learn's KMeans(n_init=10).
const (
	DefaultNInit   = 10
	DefaultMaxIter = 300
	DefaultTol     = 1e-4
)

// Config parameterises Fit. Zero fields take the defaults above.
type Config struct {
	K       int     // number of clusters, ≥ 1 and ≤ the number of points
	NInit   int     // restarts; the one with the lowest inertia wins
	MaxIter int     // Lloyd iterations per restart
	Tol     float64 // stop when Σ‖centre shift‖² ≤ Tol × mean per-feature variance
	Seed    uint64  // every result is a pure function of the data and Seed
	Workers int     // goroutines running restarts; default GOMAXPROCS
}

func (c Config) withDefaults() Config {
	if c.NInit <= 0 {
		c.NInit = DefaultNInit
	}
	if c.MaxIter <= 0 {
		c.MaxIter = DefaultMaxIter
	}
	if c.Tol <= 0 {
		c.Tol = DefaultTol
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// Result is a fitted clustering.
type Result struct {
	Centroids  *mat.Dense // K × d
	Labels     []int      // cluster of each point, in input order
	Sizes      []int      // points per cluster
	Inertia    float64    // Σ squared distance of each point to its centroid
	Iterations int        // Lloyd iterations of the winning restart
}

// ErrInput reports data Fit cannot cluster.
var ErrInput = errors.New("kmeans: invalid input")

// points is the data as one contiguous row-major slice, the layout the inner loops want.
type points struct {
	data []float64
	n, d int
}

func (p *points) row(i int) []float64 { return p.data[i*p.d : (i+1)*p.d : (i+1)*p.d] }

func newPoints(x *mat.Dense) (*points, error) {
	if x == nil || x.IsEmpty() {
		return nil, fmt.Errorf("%w: no points", ErrInput)
	}
	raw := x.RawMatrix()
	p := &points{n: raw.Rows, d: raw.Cols, data: raw.Data}
	if raw.Stride != raw.Cols {
		p.data = make([]float64, raw.Rows*raw.Cols)
		for i := range raw.Rows {
			copy(p.row(i), raw.Data[i*raw.Stride:i*raw.Stride+raw.Cols])
		}
	}
	for i, v := range p.data[:p.n*p.d] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: point %d feature %d is %v", ErrInput, i/p.d, i%p.d, v)
		}
	}
	return p, nil
}

// Fit clusters the rows of x into cfg.K clusters.
func Fit(x *mat.Dense, cfg Config) (*Result, error) {
	p, err := newPoints(x)
	if err != nil {
		return nil, err
	}
	return fitPoints(p, cfg)
}

func fitPoints(p *points, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	if cfg.K < 1 || cfg.K > p.n {
		return nil, fmt.Errorf("%w: k=%d with %d points", ErrInput, cfg.K, p.n)
	}
	tol := cfg.Tol * meanVariance(p)

	runs := make([]*lloyd, cfg.NInit)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(cfg.Workers, cfg.NInit) {
		wg.Go(func() {
			for i := range next {
				rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
				l := newLloyd(p, plusPlus(p, cfg.K, rng))
				l.run(cfg.MaxIter, tol)
				runs[i] = l
			}
		})
	}
	for i := range cfg.NInit {
		next <- i
	}
	close(next)
	wg.Wait()

	best := runs[0]
	for _, r := range runs[1:] {
		if r.inertia < best.inertia {
			best = r
		}
	}
	return best.result(), nil
}

// meanVariance is the mean over features of the population variance, the scale scikit-learn
// multiplies tol by so the stopping rule does not depend on the units of the data.
func meanVariance(p *points) float64 {
	col := make([]float64, p.n)
	var sum float64
	for j := range p.d {
		for i := range p.n {
			col[i] = p.data[i*p.d+j]
		}
		_, v := stat.PopMeanVariance(col, nil)
		sum += v
	}
	return sum / float64(p.d)
}

func sqDist(a, b []float64) float64 {
	b = b[:len(a)]
	var s float64
	for i, v := range a {
		d := v - b[i]
		s += d * d
	}
	return s
}
