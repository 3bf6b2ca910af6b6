package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/models/kerberos"
)

// ErrInvalid wraps every validation failure: a model or bundle that must not be published.
var ErrInvalid = errors.New("train: invalid model")

// probes is how many training inputs a validation scores.
const probes = 2000

// sane reports a 0–100 score.
func sane(v float64) bool { return v >= 0 && v <= 100 }

// normalMedian is the highest median score the training data itself may get: training data is
// what normal looks like, and the calibrations put most of it at 0 (models/calibrate), so a
// median in the upper half means the calibration is broken.
const normalMedian = 50

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func mean(v []float64) float64 {
	var sum float64
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

// spread picks up to n evenly spaced indices of a slice of length l.
func spread(l, n int) []int {
	out := make([]int, 0, min(l, n))
	for i := range min(l, n) {
		out = append(out, i*l/min(l, n))
	}
	return out
}

// validateIP scores training pairs and, for the same principals, random addresses: every score
// must be a number in 0–100, the training pairs' median must be low, and the random addresses
// must score above the training pairs on average (the model tells familiar from unfamiliar).
func validateIP(m *ipanomaly.Model, ds *ipanomaly.Dataset, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 0x1b))
	var known, random []float64
	for _, i := range spread(ds.Len(), probes) {
		entity, ip := ds.Pair(i)
		res, ok := m.Score(entity, ip)
		if !ok || !sane(res.ScoreNorm) || math.IsNaN(res.Raw) {
			return fmt.Errorf("%w: IP model scores %s at %s as %v (raw %v)", ErrInvalid, entity.ID, ip, res.ScoreNorm, res.Raw)
		}
		known = append(known, res.ScoreNorm)
		addr := netip.AddrFrom4([4]byte{byte(1 + r.IntN(222)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))})
		res, ok = m.Score(entity, addr)
		if !ok || !sane(res.ScoreNorm) {
			return fmt.Errorf("%w: IP model scores %s at %s as %v", ErrInvalid, entity.ID, addr, res.ScoreNorm)
		}
		random = append(random, res.ScoreNorm)
	}
	if len(known) == 0 {
		return fmt.Errorf("%w: IP model: nothing to validate with", ErrInvalid)
	}
	if med := median(known); med > normalMedian {
		return fmt.Errorf("%w: IP model: median score of its own training pairs is %.1f (> %d): calibration is broken", ErrInvalid, med, normalMedian)
	}
	if mk, mr := mean(known), mean(random); mr <= mk {
		return fmt.Errorf("%w: IP model: random addresses score %.1f on average, familiar ones %.1f: it does not discriminate", ErrInvalid, mr, mk)
	}
	return nil
}

// validateKerberos scores training host windows: every score must be a number in 0–100 and
// their median low.
func validateKerberos(m *kerberos.Model, samples []kerberos.Features) error {
	var scores []float64
	for _, i := range spread(len(samples), probes) {
		s, err := m.Score(&samples[i])
		if err != nil || !sane(s.ScoreNorm) || math.IsNaN(s.Surprise) {
			return fmt.Errorf("%w: Kerberos model scores a training window as %v (surprise %v): %v", ErrInvalid, s.ScoreNorm, s.Surprise, err)
		}
		scores = append(scores, s.ScoreNorm)
	}
	if len(scores) == 0 {
		return fmt.Errorf("%w: Kerberos model: nothing to validate with", ErrInvalid)
	}
	if med := median(scores); med > normalMedian {
		return fmt.Errorf("%w: Kerberos model: median score of its own training windows is %.1f (> %d): calibration is broken", ErrInvalid, med, normalMedian)
	}
	return nil
}

// Validate checks a bundle as every consumer will: it must encode, and the bytes must decode
// (bundle.Decode rejects non-finite weights, inconsistent sections and broken calibrators).
// Training models pass their own behavioural checks before they get here.
func Validate(b *bundle.Bundle, key []byte) ([]byte, error) {
	data, err := b.Encode(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := bundle.Decode(data, bundle.DecodeOptions{Key: key}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return data, nil
}
