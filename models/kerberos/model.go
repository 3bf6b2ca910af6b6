package kerberos

import (
	"errors"
	"math"
	"time"
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

	// Calibration: ScoreNorm = 100·(1 − exp(−lambda·max(0, surprise − median))).
	median, lambda float64
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

// Deviation is how far one standardised feature of a host lies from its cluster's centroid, in
// standard deviations of that feature over the training samples.
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
	// Distance is the distance to the cluster's centroid divided by the cluster's spread: about
	// 1 for a typical member, larger the more atypical.
	Distance float64
	// Surprise is ½·Distance² + ln(1/SizeFraction): the negative log-likelihood of the host
	// under the k-means clusters read as a mixture of round Gaussians, up to a constant. A host
	// is surprising when it is far from its cluster or when its cluster is rare.
	Surprise float64
	// ScoreNorm maps Surprise to 0–100 (see Train for the calibration).
	ScoreNorm float64
	// Top are the features farthest from the centroid, largest first; only the first NTop are
	// set.
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
	z := m.standardise(f)
	best, bestSurprise := 0, math.Inf(1)
	for c := range m.centroids {
		if s := m.surprise(&z, c); s < bestSurprise {
			best, bestSurprise = c, s
		}
	}
	s := Score{Cluster: best, SizeFraction: m.fraction[best], Surprise: bestSurprise}
	centroid, spread := &m.centroids[best], &m.spread[best]
	var sq float64
	for i := range NumFeatures {
		dev := Deviation{Feature: Feature(i), Z: (z[i] - centroid[i]) / spread[i]}
		sq += dev.Z * dev.Z
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
	s.ScoreNorm = m.normalise(s.Surprise)
	return s, nil
}

// surprise is ½·Σ((z−centroid)/spread)² + ln(1/fraction) for cluster c.
func (m *Model) surprise(z *[NumFeatures]float64, c int) float64 {
	centroid, spread := &m.centroids[c], &m.spread[c]
	var sq float64
	for i := range z {
		d := (z[i] - centroid[i]) / spread[i]
		sq += d * d
	}
	return 0.5*sq - math.Log(m.fraction[c])
}

func (m *Model) standardise(f *Features) [NumFeatures]float64 {
	t := f.transformed()
	for i := range t {
		t[i] = (t[i] - m.mean[i]) / m.std[i]
	}
	return t
}

func (m *Model) normalise(surprise float64) float64 {
	return 100 * -math.Expm1(-m.lambda*max(0, surprise-m.median))
}

func sqDist(a, b *[NumFeatures]float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}
