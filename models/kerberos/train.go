package kerberos

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/siemscore/siemscore/models/calibrate"
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

// Train computes features over cfg.Window-long tumbling windows and clusters them, then
// calibrates the 0–100 mapping on the scores the training records themselves get when they
// stream through a State, as the plugin will score records: every record of the data after the
// first complete window, with its host's sliding-window features at that moment. Those include
// the partial windows streaming sees (the first failed logon of a host's hour, before the
// retries that follow it), which window-end samples never show.
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
	m, err := cluster(samples, cfg)
	if err != nil {
		return nil, err
	}
	s, err := NewState(StateConfig{Window: cfg.Window, MaxHosts: 64 * len(samples), MaxServers: 64 * len(samples)})
	if err != nil {
		return nil, err
	}
	var records []float64
	for _, i := range timeOrder(reqs) {
		o, err := s.Observe(&reqs[i])
		if err != nil {
			return nil, fmt.Errorf("kerberos: train: %w", err)
		}
		if o.Complete {
			records = append(records, m.assess(&o.Features).Surprise)
		}
	}
	return m.calibrated(records)
}

// TrainFeatures trains on precomputed host-window features (for instance computed by
// Elasticsearch aggregations with the definitions in the package documentation). Without the
// records, the 0–100 mapping is calibrated on the windows' own surprises, each counted once per
// request in the window (each request is scored with its host's window, so busy hosts weigh more
// than idle ones); that misses the partial windows streaming sees, so prefer Train when the
// records are at hand.
func TrainFeatures(samples []Features, cfg TrainConfig) (*Model, error) {
	m, err := cluster(samples, cfg)
	if err != nil {
		return nil, err
	}
	var records []float64
	for i := range samples {
		s := m.assess(&samples[i])
		for range max(int(math.Round(samples[i][Requests])), 1) {
			records = append(records, s.Surprise)
		}
	}
	return m.calibrated(records)
}

// cluster standardises the samples, clusters them and keeps each cluster's share and
// per-feature spread (see the package documentation): a model without its calibrator.
func cluster(samples []Features, cfg TrainConfig) (*Model, error) {
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
	if n < calibrate.MinSamples {
		return nil, fmt.Errorf("kerberos: train: %d samples, need at least %d", n, calibrate.MinSamples)
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
	return m, nil
}

// calibrated fits m's 0–100 mapping on the surprises of the records it will be judged against.
func (m *Model) calibrated(records []float64) (*Model, error) {
	calib, err := calibrate.Fit(records, calibrate.DefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("kerberos: train: calibrate: %w", err)
	}
	m.calib = calib
	return m, m.Validate()
}
