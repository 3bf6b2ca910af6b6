package kmeans

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestSilhouetteByHand(t *testing.T) {
	// Clusters {0, 1} and {10}: the singleton counts 0; for 0, a=1, b=10; for 1, a=1, b=9.
	x := mat.NewDense(3, 1, []float64{0, 1, 10})
	got, err := Silhouette(x, []int{0, 0, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := ((10.0-1)/10 + (9.0-1)/9 + 0) / 3
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("silhouette %v, want %v", got, want)
	}
	// Swapping a point into the wrong cluster must lower the score.
	worse, err := Silhouette(x, []int{0, 1, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if worse >= got {
		t.Errorf("misassigned silhouette %v ≥ correct %v", worse, got)
	}
}

func TestSampledSilhouetteTracksExact(t *testing.T) {
	x, truth := blobs(8, 1500, 3, fourCorners)
	p, err := newPoints(x)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := silhouette(p, truth, p.n, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	sampled, err := silhouette(p, truth, 1000, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(exact-sampled) > 0.03 {
		t.Errorf("sampled silhouette %v, exact %v", sampled, exact)
	}
}

func TestSilhouetteRejectsDegenerateLabels(t *testing.T) {
	x := mat.NewDense(3, 1, []float64{0, 1, 2})
	for name, labels := range map[string][]int{
		"one cluster": {0, 0, 0}, "all singletons": {0, 1, 2}, "short": {0, 1}, "negative": {0, -1, 1},
	} {
		if _, err := Silhouette(x, labels, 0); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err %v, want ErrInput", name, err)
		}
	}
}

func TestChooseKFindsTheBlobCount(t *testing.T) {
	for _, want := range []int{3, 4} {
		x, _ := blobs(uint64(want), 150, 1, fourCorners[:want])
		ch, err := ChooseK(x, 2, 8, Config{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if ch.K != want {
			t.Errorf("%d blobs: chose k=%d, scores %+v", want, ch.K, ch.Scores)
		}
		if len(ch.Scores) != 7 || ch.Result == nil || len(ch.Result.Sizes) != ch.K {
			t.Errorf("%d blobs: incomplete choice %+v", want, ch)
		}
	}
}

func TestPickPrefersSmallerKOnAPlateau(t *testing.T) {
	scores := []KScore{{K: 2, Silhouette: 0.30}, {K: 3, Silhouette: 0.395}, {K: 4, Silhouette: 0.40}, {K: 5, Silhouette: 0.404}}
	if got := scores[pick(scores)].K; got != 3 {
		t.Errorf("picked k=%d, want 3 (within %.2f of the best)", got, SilhouetteTolerance)
	}
	scores[1].Silhouette = 0.39
	if got := scores[pick(scores)].K; got != 4 {
		t.Errorf("picked k=%d, want 4", got)
	}
}
