package kerberos

import (
	"errors"
	"math"
	"time"

	"github.com/siemscore/siemscore/models/calibrate"
)

// Model is a trained host clustering. It is immutable: the plugin shares one value between all
// flushes and swaps the pointer when a new bundle arrives.
type Model struct {
	window     time.Duration
	trainedAt  time.Time
	samples    int
	silhouette float64 // of the chosen k on the training samples; NaN when k was fixed

	mean, std [NumFeatures]float64 // of the transformed features
	centroids [][NumFeatures]float64
	fraction  []float64              // share of training samples in each cluster
	spread    [][NumFeatures]float64 // per cluster and feature: the members' RMS deviation (see TrainFeatures)

	// calib maps surprise to 0–100 (see TrainFeatures).
	calib *calibrate.Calibrator

	// Derived by prepare, not encoded: what Score would otherwise recompute per record.
	invSpread  [][NumFeatures]float64
	negLogFrac []float64
	invStd     [NumFeatures]float64
}

// prepare fills the derived fields once the encoded ones are set.
func (m *Model) prepare() {
	m.invSpread = make([][NumFeatures]float64, len(m.spread))
	m.negLogFrac = make([]float64, len(m.fraction))
	for c := range m.spread {
		for i, v := range m.spread[c] {
			m.invSpread[c][i] = 1 / v
		}
		m.negLogFrac[c] = -math.Log(m.fraction[c])
	}
	for i, v := range m.std {
		m.invStd[i] = 1 / v
	}
}

// Window is the window length the training features were computed over; a streaming state
// should use the same one.
func (m *Model) Window() time.Duration { return m.window }

// TrainedAt is when the model was trained.
func (m *Model) TrainedAt() time.Time { return m.trainedAt }

// Samples is the number of host windows the model was trained on.
func (m *Model) Samples() int { return m.samples }

// K is the number of clusters.
func (m *Model) K() int { return len(m.centroids) }

// Silhouette is the training silhouette of the chosen k, or NaN if k was fixed.
func (m *Model) Silhouette() float64 { return m.silhouette }

// ClusterFraction is the share of training samples in cluster c.
func (m *Model) ClusterFraction(c int) float64 { return m.fraction[c] }

// Deviation is how far one feature of a host lies from its cluster's centroid, in units of the
// cluster's spread in that feature (positive: above the centroid).
type Deviation struct {
	Feature Feature
	Z       float64
}

// TopDeviations is how many of the largest deviations a Score carries.
const TopDeviations = 3

// Score is what the model says about one host's features.
type Score struct {
	Cluster      int
	SizeFraction float64 // share of training samples in the host's cluster
	// Distance is the RMS over features of the distance to the cluster's centroid in units of
	// the cluster's spread: about 1 for a typical member, larger the more atypical.
	Distance float64
	// Surprise is −ln(SizeFraction · P[χ² ≥ Σ deviation²]) in nats, counting only deviations in
	// the direction an attack pushes a feature (see the package documentation). A host is
	// surprising when it is far from the cluster that explains it best, or when that cluster is
	// rare.
	Surprise float64
	// ScoreNorm maps Surprise to 0–100 (see the package documentation).
	ScoreNorm float64
	// Top are the features that contribute most to Surprise (deviations in the suspicious
	// direction, in units of the cluster's spread), largest first; only the first NTop are set.
	Top  [TopDeviations]Deviation
	NTop int
}

// ErrFeatures reports a feature vector that is not finite and non-negative.
var ErrFeatures = errors.New("kerberos: invalid features")

// Score scores a host's features. It does not allocate.
func (m *Model) Score(f *Features) (Score, error) {
	if err := f.validate(); err != nil {
		return Score{}, err
	}
	s := m.assess(f)
	s.ScoreNorm = m.calib.Score(s.Surprise)
	return s, nil
}

// assess is Score without the validation and the 0–100 mapping (which training fits on the
// surprises assess returns).
func (m *Model) assess(f *Features) Score {
	z := m.standardise(f)
	best, bestFit := 0, math.Inf(1)
	for c := range m.centroids {
		if fit := m.fit(&z, c); fit < bestFit {
			best, bestFit = c, fit
		}
	}
	s := Score{Cluster: best, SizeFraction: m.fraction[best]}
	centroid, inv := &m.centroids[best], &m.invSpread[best]
	var sq, suspicious float64
	for i := range NumFeatures {
		dev := Deviation{Feature: Feature(i), Z: (z[i] - centroid[i]) * inv[i]}
		sq += dev.Z * dev.Z
		if float64(direction[i])*dev.Z < 0 {
			continue // a deviation no attack causes: neither scored nor a reason
		}
		suspicious += dev.Z * dev.Z
		pos := s.NTop
		for pos > 0 && math.Abs(dev.Z) > math.Abs(s.Top[pos-1].Z) {
			pos--
		}
		if pos == TopDeviations {
			continue
		}
		copy(s.Top[pos+1:], s.Top[pos:TopDeviations-1])
		s.Top[pos] = dev
		s.NTop = min(s.NTop+1, TopDeviations)
	}
	s.Distance = math.Sqrt(sq / float64(NumFeatures))
	s.Surprise = chiSquareTail(suspicious) + m.negLogFrac[best]
	if !finite(s.Surprise) {
		// Only deviations around 1e150 spreads get here: as surprising as anything can be.
		s.Surprise = math.MaxFloat64
	}
	return s
}

// fit is ½·Σ((z−centroid)/spread)² + ln(1/fraction) for cluster c, deviations in either
// direction counting: the negative log-likelihood, up to a constant, of the host under cluster c
// read as a Gaussian with diagonal covariance, weighted by its share. The lowest fit is the
// cluster that explains the host best.
func (m *Model) fit(z *[NumFeatures]float64, c int) float64 {
	centroid, inv := &m.centroids[c], &m.invSpread[c]
	var sq float64
	for i := range z {
		d := (z[i] - centroid[i]) * inv[i]
		sq += d * d
	}
	return 0.5*sq + m.negLogFrac[c]
}

// NumFeatures must be even for chiSquareTail's closed form.
const _ = -uint(NumFeatures % 2)

// chiSquareTail is −ln P[X ≥ x] for X ~ χ² with NumFeatures degrees of freedom. With an even
// number 2n of degrees of freedom the tail is a Poisson sum, P = e^(−x/2)·Σ_{k<n} (x/2)^k/k!,
// so its logarithm is exact, cheap, and never underflows however far out x is.
func chiSquareTail(x float64) float64 {
	h := x / 2
	term, sum := 1.0, 1.0
	for k := 1; k < NumFeatures/2; k++ {
		term *= h / float64(k)
		sum += term
	}
	return h - math.Log(sum)
}

func (m *Model) standardise(f *Features) [NumFeatures]float64 {
	t := f.Transformed()
	for i := range t {
		t[i] = (t[i] - m.mean[i]) * m.invStd[i]
	}
	return t
}
