package kerberos

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/siemscore/siemscore/models/kmeans"
)

// TrainConfig parameterises training. Zero fields take the defaults.
type TrainConfig struct {
	// Window is the length of the windows the samples cover (default DefaultWindow). Train
	// computes features over it; TrainFeatures only records it in the model.
	Window time.Duration
	// K fixes the number of clusters; 0 chooses it in [KMin, KMax] by silhouette.
	K          int
	KMin, KMax int // default 2 and 10
	NInit      int // k-means restarts, default 10
	Seed       uint64
	TrainedAt  time.Time
}

// Defaults for TrainConfig.
const (
	DefaultKMin = 2
	DefaultKMax = 10
)

// spreadPrior is the weight, in pseudo-members, with which a cluster's spread is shrunk towards
// the overall RMS radius. It keeps a cluster of one or two identical hosts (an attack the
// training window happened to contain) from having spread zero and making every neighbour
// infinitely far, while leaving clusters of dozens of hosts with their own spread.
const spreadPrior = 5

// minSpread floors a cluster's per-feature spread, in standard deviations of the feature over
// all samples. Counts are discrete: a cluster of workstations that all had exactly one client in
// the window has spread zero in distinct_clients, and without a floor the same workstation with
// its user and its machine account (two clients) would be infinitely surprising.
const minSpread = 0.5

// Calibration anchors: the median surprise of the records the training windows stand for maps
// to score 0 and their calibQuantile surprise to calibScore, so that about 1% of records reach the
// "minor" band and only hosts several times further out reach "critical".
const (
	calibQuantile = 0.99
	calibScore    = 25.0
)

// Train computes features over cfg.Window-long tumbling windows and trains on them.
func Train(reqs []Request, cfg TrainConfig) (*Model, error) {
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	windows, err := WindowFeatures(reqs, cfg.Window)
	if err != nil {
		return nil, err
	}
	samples := make([]Features, len(windows))
	for i, w := range windows {
		samples[i] = w.Features
	}
	return TrainFeatures(samples, cfg)
}

// TrainFeatures trains on precomputed host-window features (for instance computed by
// Elasticsearch aggregations with the definitions in the package documentation): standardise,
// cluster, keep each cluster's share and per-feature spread, and anchor the 0–100 mapping on the
// training samples' own surprises (see the package documentation for the formulas).
func TrainFeatures(samples []Features, cfg TrainConfig) (*Model, error) {
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.KMin == 0 {
		cfg.KMin = DefaultKMin
	}
	if cfg.KMax == 0 {
		cfg.KMax = DefaultKMax
	}
	n := len(samples)
	if n < 3 {
		return nil, fmt.Errorf("kerberos: train: %d samples, need at least 3", n)
	}
	for i := range samples {
		if err := samples[i].validate(); err != nil {
			return nil, fmt.Errorf("kerberos: train: sample %d: %w", i, err)
		}
	}

	m := &Model{window: cfg.Window, trainedAt: cfg.TrainedAt, samples: n, silhouette: math.NaN()}
	z := mat.NewDense(n, NumFeatures, nil)
	for i := range samples {
		t := samples[i].Transformed()
		z.SetRow(i, t[:])
	}
	col := make([]float64, n)
	for j := range NumFeatures {
		mat.Col(col, j, z)
		mean, std := stat.PopMeanStdDev(col, nil)
		if !(std > 1e-12) {
			std = 1
		}
		m.mean[j], m.std[j] = mean, std
		for i := range n {
			z.Set(i, j, (col[i]-mean)/std)
		}
	}

	kcfg := kmeans.Config{K: cfg.K, NInit: cfg.NInit, Seed: cfg.Seed}
	var res *kmeans.Result
	if cfg.K > 0 {
		r, err := kmeans.Fit(z, kcfg)
		if err != nil {
			return nil, fmt.Errorf("kerberos: train: %w", err)
		}
		res = r
	} else {
		ch, err := kmeans.ChooseK(z, cfg.KMin, min(cfg.KMax, n-1), kcfg)
		if err != nil {
			return nil, fmt.Errorf("kerberos: train: choose k: %w", err)
		}
		res, m.silhouette = ch.Result, ch.Scores[ch.K-cfg.KMin].Silhouette
	}

	k := len(res.Sizes)
	m.centroids = make([][NumFeatures]float64, k)
	for c := range k {
		mat.Row(m.centroids[c][:], c, res.Centroids)
	}
	if !(res.Inertia > 0) {
		return nil, fmt.Errorf("kerberos: train: all %d samples are identical", n)
	}
	within := make([][NumFeatures]float64, k)
	for i, c := range res.Labels {
		for j, v := range z.RawRowView(i) {
			d := v - m.centroids[c][j]
			within[c][j] += d * d
		}
	}
	m.fraction = make([]float64, k)
	m.spread = make([][NumFeatures]float64, k)
	for c, size := range res.Sizes {
		m.fraction[c] = float64(size) / float64(n)
		for j := range NumFeatures {
			// The prior variance is 1: the feature's variance over all samples, after standardising.
			v := (within[c][j] + spreadPrior) / (float64(size) + spreadPrior)
			m.spread[c][j] = max(math.Sqrt(v), minSpread)
		}
	}

	m.prepare()
	// Every request is scored with its host's window, so a window stands for as many scored
	// records as it has requests: weighting by them anchors the mapping on the records'
	// scores, where busy hosts weigh more than idle ones.
	type weighted struct{ surprise, requests float64 }
	ws := make([]weighted, n)
	for i := range samples {
		s, err := m.Score(&samples[i])
		if err != nil {
			return nil, fmt.Errorf("kerberos: train: sample %d: %w", i, err)
		}
		ws[i] = weighted{s.Surprise, max(samples[i][Requests], 1)}
	}
	slices.SortFunc(ws, func(a, b weighted) int { return cmp.Compare(a.surprise, b.surprise) })
	surprise, weight := make([]float64, n), make([]float64, n)
	for i, w := range ws {
		surprise[i], weight[i] = w.surprise, w.requests
	}
	m.median = stat.Quantile(0.5, stat.Empirical, surprise, weight)
	top := stat.Quantile(calibQuantile, stat.Empirical, surprise, weight)
	// −ln(1 − calibScore/100) is the exponent that puts the anchor quantile at calibScore. The
	// gap is floored at one nat so that training on near-identical hosts does not turn tiny
	// differences into critical scores.
	m.lambda = -math.Log1p(-calibScore/100) / max(top-m.median, 1)
	return m, m.Validate()
}
