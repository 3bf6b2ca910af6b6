package kmeans

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// blobs draws n points around each of the given centres with standard deviation sd, returning
// the points and the index of the blob each came from.
func blobs(seed uint64, n int, sd float64, centres [][]float64) (*mat.Dense, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := len(centres[0])
	x := mat.NewDense(n*len(centres), d, nil)
	truth := make([]int, 0, n*len(centres))
	for c, centre := range centres {
		for i := range n {
			for j := range d {
				x.Set(c*n+i, j, centre[j]+rng.NormFloat64()*sd)
			}
			truth = append(truth, c)
		}
	}
	return x, truth
}

var fourCorners = [][]float64{{0, 0, 0}, {10, 0, 0}, {0, 10, 0}, {0, 0, 10}}

func TestFitRecoversSeparatedBlobs(t *testing.T) {
	x, truth := blobs(1, 200, 1, fourCorners)
	r, err := Fit(x, Config{K: 4, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	// Every blob maps to exactly one cluster and every cluster to one blob.
	blobOf := map[int]int{}
	for i, l := range r.Labels {
		if b, ok := blobOf[l]; ok && b != truth[i] {
			t.Fatalf("cluster %d holds points of blobs %d and %d", l, b, truth[i])
		}
		blobOf[l] = truth[i]
	}
	if len(blobOf) != 4 {
		t.Fatalf("found %d clusters, want 4", len(blobOf))
	}
	// Inertia of the true partition is about n·d·sd² = 800·3.
	if r.Inertia < 2000 || r.Inertia > 2800 {
		t.Errorf("inertia %.1f, want about 2400", r.Inertia)
	}
	if slices.Max(r.Sizes) != 200 || slices.Min(r.Sizes) != 200 {
		t.Errorf("sizes %v, want 200 each", r.Sizes)
	}
}

// TestFitIsALloydFixedPoint checks the defining properties of the result on data without clear
// structure, where the bounds have to do real work: every point carries its nearest centroid's
// label and every centroid is the mean of its points.
func TestFitIsALloydFixedPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	n, d := 3000, 4
	x := mat.NewDense(n, d, nil)
	for i := range n {
		for j := range d {
			x.Set(i, j, rng.ExpFloat64()*float64(j+1))
		}
	}
	r, err := Fit(x, Config{K: 7, Seed: 1, NInit: 3, Tol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	var inertia float64
	sums := mat.NewDense(7, d, nil)
	for i := range n {
		best, bestJ := math.Inf(1), -1
		for j := range 7 {
			if s := sqDist(x.RawRowView(i), r.Centroids.RawRowView(j)); s < best {
				best, bestJ = s, j
			}
		}
		if bestJ != r.Labels[i] {
			t.Fatalf("point %d labelled %d, nearest centroid is %d", i, r.Labels[i], bestJ)
		}
		inertia += best
		for j := range d {
			sums.Set(bestJ, j, sums.At(bestJ, j)+x.At(i, j))
		}
	}
	if math.Abs(inertia-r.Inertia) > 1e-9*inertia {
		t.Errorf("inertia %v, recomputed %v", r.Inertia, inertia)
	}
	for c := range 7 {
		for j := range d {
			mean := sums.At(c, j) / float64(r.Sizes[c])
			if math.Abs(mean-r.Centroids.At(c, j)) > 1e-6 {
				t.Errorf("centroid %d feature %d = %v, mean of its points %v", c, j, r.Centroids.At(c, j), mean)
			}
		}
	}
}

func TestFitDeterministicAcrossWorkers(t *testing.T) {
	x, _ := blobs(5, 300, 3, fourCorners)
	a, err := Fit(x, Config{K: 5, Seed: 42, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(x, Config{K: 5, Seed: 42, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if a.Inertia != b.Inertia || !slices.Equal(a.Labels, b.Labels) || !mat.Equal(a.Centroids, b.Centroids) {
		t.Errorf("results differ between 1 and 2 workers: inertia %v vs %v", a.Inertia, b.Inertia)
	}
}

func TestRestartsNeverWorsenInertia(t *testing.T) {
	x, _ := blobs(9, 100, 2.5, [][]float64{{0, 0}, {6, 0}, {0, 6}, {6, 6}, {3, 3}, {12, 12}})
	one, err := Fit(x, Config{K: 6, Seed: 11, NInit: 1})
	if err != nil {
		t.Fatal(err)
	}
	ten, err := Fit(x, Config{K: 6, Seed: 11, NInit: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Restart 0 of the ten-restart fit is the one-restart fit, so the best of ten cannot be worse.
	if ten.Inertia > one.Inertia {
		t.Errorf("10 restarts inertia %v > 1 restart %v", ten.Inertia, one.Inertia)
	}
}

func TestPlusPlusSpreadsCentres(t *testing.T) {
	// Four tight, far-apart blobs: D² sampling practically always puts one seed in each.
	x, truth := blobs(2, 50, 0.01, fourCorners)
	p, err := newPoints(x)
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(20) {
		c := plusPlus(p, 4, rand.New(rand.NewPCG(seed, 0)))
		hit := map[int]bool{}
		for j := range 4 {
			for i := range p.n {
				if sqDist(p.row(i), c[j*3:(j+1)*3]) == 0 {
					hit[truth[i]] = true
				}
			}
		}
		if len(hit) != 4 {
			t.Errorf("seed %d: seeds cover %d blobs, want 4", seed, len(hit))
		}
	}
}

func TestEmptyClusterTakesFarthestPoint(t *testing.T) {
	x := mat.NewDense(6, 1, []float64{0, 1, 2, 10, 11, 30})
	p, err := newPoints(x)
	if err != nil {
		t.Fatal(err)
	}
	// The third centre is far from everything, so it starts empty and must take 30, the point
	// farthest from its centre.
	l := newLloyd(p, []float64{1, 10.5, 1000})
	l.run(100, 0)
	r := l.result()
	if r.Sizes[2] == 0 {
		t.Fatalf("cluster 2 stayed empty: sizes %v", r.Sizes)
	}
	if r.Centroids.At(2, 0) != 30 {
		t.Errorf("cluster 2 centre %v, want 30", r.Centroids.At(2, 0))
	}
}

func TestDuplicatePointsMoreClustersThanValues(t *testing.T) {
	x := mat.NewDense(5, 2, []float64{1, 1, 1, 1, 1, 1, 2, 2, 2, 2})
	r, err := Fit(x, Config{K: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Inertia != 0 {
		t.Errorf("inertia %v, want 0", r.Inertia)
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	nan := mat.NewDense(2, 2, []float64{0, 1, math.NaN(), 2})
	inf := mat.NewDense(2, 1, []float64{0, math.Inf(-1)})
	ok := mat.NewDense(3, 1, []float64{0, 1, 2})
	for name, tc := range map[string]struct {
		x *mat.Dense
		k int
	}{
		"nan": {nan, 1}, "inf": {inf, 1}, "k>n": {ok, 4}, "k=0": {ok, 0}, "nil": {nil, 1},
	} {
		if _, err := Fit(tc.x, Config{K: tc.k}); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err %v, want ErrInput", name, err)
		}
	}
}

func TestFitHandlesStridedViews(t *testing.T) {
	x, _ := blobs(4, 100, 1, fourCorners)
	wide := mat.NewDense(400, 5, nil)
	wide.Slice(0, 400, 1, 4).(*mat.Dense).Copy(x)
	view := wide.Slice(0, 400, 1, 4).(*mat.Dense)
	a, err := Fit(x, Config{K: 4, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(view, Config{K: 4, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if a.Inertia != b.Inertia {
		t.Errorf("view inertia %v, dense %v", b.Inertia, a.Inertia)
	}
}
