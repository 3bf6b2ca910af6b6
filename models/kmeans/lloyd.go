package kmeans

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// lloyd is one restart: Lloyd's iterations with Hamerly's bounds. For every point it keeps an
// upper bound on the distance to its own centre and a lower bound on the distance to every other
// centre; when the upper bound is below both the lower bound and half the distance from its centre
// to the nearest other centre, the point cannot change cluster and no distance is computed. On
// the low-dimensional host features this skips most of the n×k distance computations after the
// first few iterations.
type lloyd struct {
	p       *points
	k       int
	centers []float64 // k×d, row-major
	labels  []int32
	upper   []float64
	lower   []float64

	prev     []int32
	sums     []float64
	counts   []int
	shift    []float64
	halfNear []float64 // half the distance from each centre to its nearest other centre

	inertia    float64
	iterations int
}

func newLloyd(p *points, centers []float64) *lloyd {
	k := len(centers) / p.d
	l := &lloyd{
		p: p, k: k, centers: centers,
		labels: make([]int32, p.n), prev: make([]int32, p.n),
		upper: make([]float64, p.n), lower: make([]float64, p.n),
		sums: make([]float64, k*p.d), counts: make([]int, k),
		shift: make([]float64, k), halfNear: make([]float64, k),
	}
	l.resetBounds()
	for i := range l.prev {
		l.prev[i] = -1
	}
	return l
}

func (l *lloyd) center(j int) []float64 { return l.centers[j*l.p.d : (j+1)*l.p.d : (j+1)*l.p.d] }

// resetBounds forces an exact assignment of every point on the next pass.
func (l *lloyd) resetBounds() {
	for i := range l.upper {
		l.upper[i] = math.Inf(1)
		l.lower[i] = 0
	}
}

// run iterates as scikit-learn's _kmeans_single_lloyd does: assign, move centres, stop on
// unchanged labels ("strict convergence") or on a total squared shift within tol.
func (l *lloyd) run(maxIter int, tol float64) {
	strict := false
	for l.iterations < maxIter {
		l.iterations++
		l.assign()
		l.moveCenters()
		if slices.Equal(l.labels, l.prev) {
			strict = true
			break
		}
		var total float64
		for _, s := range l.shift {
			total += s * s
		}
		if total <= tol {
			break
		}
		copy(l.prev, l.labels)
	}
	if !strict {
		l.assign()
	}
	l.inertia = 0
	for i := range l.p.n {
		l.inertia += sqDist(l.p.row(i), l.center(int(l.labels[i])))
	}
}

// assign labels every point with its nearest centre (ties to the lowest index, as argmin does).
func (l *lloyd) assign() {
	d := l.p.d
	for j := range l.k {
		near := math.Inf(1)
		for j2 := range l.k {
			if j2 != j {
				near = min(near, sqDist(l.center(j), l.center(j2)))
			}
		}
		l.halfNear[j] = math.Sqrt(near) / 2
	}
	for i := range l.p.n {
		a := l.labels[i]
		bound := max(l.halfNear[a], l.lower[i])
		if l.upper[i] <= bound {
			continue
		}
		x := l.p.data[i*d : (i+1)*d : (i+1)*d]
		if !math.IsInf(l.upper[i], 1) {
			l.upper[i] = math.Sqrt(sqDist(x, l.center(int(a))))
			if l.upper[i] <= bound {
				continue
			}
		}
		best, second := math.Inf(1), math.Inf(1)
		var bestJ int32
		for j := range l.k {
			s := sqDist(x, l.center(j))
			if s < best {
				best, second, bestJ = s, best, int32(j)
			} else if s < second {
				second = s
			}
		}
		l.labels[i] = bestJ
		l.upper[i] = math.Sqrt(best)
		l.lower[i] = math.Sqrt(second)
	}
}

// moveCenters sets every centre to the mean of its points, gives an empty cluster the point
// farthest from its own centre (scikit-learn's relocation: the point's label is left for the next
// assignment to correct), and shifts the bounds by how far the centres moved.
func (l *lloyd) moveCenters() {
	d := l.p.d
	clear(l.sums)
	clear(l.counts)
	for i, a := range l.labels {
		floats.Add(l.sums[int(a)*d:(int(a)+1)*d], l.p.row(i))
		l.counts[a]++
	}
	relocated := l.relocateEmpty()

	maxShift, secondShift, maxJ := 0.0, 0.0, -1
	for j := range l.k {
		c := l.center(j)
		sum := l.sums[j*d : (j+1)*d]
		if l.counts[j] > 0 {
			floats.Scale(1/float64(l.counts[j]), sum)
		} else {
			copy(sum, c) // only when every point coincides with its centre: nothing to move
		}
		l.shift[j] = math.Sqrt(sqDist(c, sum))
		copy(c, sum)
		if l.shift[j] > maxShift {
			maxShift, secondShift, maxJ = l.shift[j], maxShift, j
		} else if l.shift[j] > secondShift {
			secondShift = l.shift[j]
		}
	}
	if relocated {
		l.resetBounds()
		return
	}
	for i, a := range l.labels {
		l.upper[i] += l.shift[a]
		if int(a) == maxJ {
			l.lower[i] -= secondShift
		} else {
			l.lower[i] -= maxShift
		}
	}
}

func (l *lloyd) relocateEmpty() bool {
	var empty []int
	for j, c := range l.counts {
		if c == 0 {
			empty = append(empty, j)
		}
	}
	if len(empty) == 0 {
		return false
	}
	dist := make([]float64, l.p.n)
	order := make([]int, l.p.n)
	for i, a := range l.labels {
		dist[i] = sqDist(l.p.row(i), l.center(int(a)))
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return -cmpFloat(dist[a], dist[b]) })
	if dist[order[0]] == 0 {
		return false // more clusters than distinct points: relocating cannot help
	}
	d := l.p.d
	for n, j := range empty {
		far := order[n]
		old := int(l.labels[far])
		x := l.p.row(far)
		floats.Sub(l.sums[old*d:(old+1)*d], x)
		l.counts[old]--
		copy(l.sums[j*d:(j+1)*d], x)
		l.counts[j] = 1
	}
	return true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	default:
		return 0
	}
}

func (l *lloyd) result() *Result {
	r := &Result{
		Centroids:  mat.NewDense(l.k, l.p.d, slices.Clone(l.centers)),
		Labels:     make([]int, l.p.n),
		Sizes:      make([]int, l.k),
		Inertia:    l.inertia,
		Iterations: l.iterations,
	}
	for i, a := range l.labels {
		r.Labels[i] = int(a)
		r.Sizes[a]++
	}
	return r
}
