package ipanomaly

import (
	"fmt"
	"math"

	"github.com/siemscore/siemscore/models/calibrate"
	"github.com/siemscore/siemscore/models/ipinsights"
)

// Config holds the hyperparameters; DefaultConfig documents the defaults.
type Config struct {
	// Embedding configures the IP Insights embedding behind the affinity signal.
	Embedding ipinsights.Config
	// HoldoutFraction is the share of observations, the latest, held out of the history the
	// combiner learns from: their first uses of addresses are its examples of normal novelty
	// (default 0.2, at most 0.4). A second time split holds out twice as many.
	HoldoutFraction float64
	// NegativesPerPositive is the number of anomalous examples drawn per normal one: a random
	// address, another principal's, another account's (default 3).
	NegativesPerPositive int
	// MaxPositives caps the normal examples, sampled uniformly (default 100000).
	MaxPositives int
	// MaxCliqueUsers is the most users of one network linked to each other directly when
	// grouping co-users (default 32; see coUserGroups).
	MaxCliqueUsers int
	// Smoothness ties each bin's weight to its neighbours' with the strength of this many
	// examples (default 20): a bin with few examples follows its neighbours.
	Smoothness float64
	// Prior pulls each weight towards the prior (the baselines' ranking: more shared prefix,
	// more familiar) with the strength of this many examples (default 2), which is what a model
	// trained on almost no data scores with.
	Prior float64
	// MinPrincipalEvents is the number of training events under which a principal's score
	// carries principal_few_events (default 10).
	MinPrincipalEvents int
	// CalibrationSample is the most held-out events scored to calibrate (default 200000).
	CalibrationSample int
	// Calibration configures the 0–100 calibration (default calibrate.DefaultOptions() with a
	// cap of 4 decades: 100 at a tail probability of 1e-4, 50 at about 3e-3). Its normal
	// reference holds first uses of addresses at their natural rate, and the most foreign
	// pairs are only a few decades rarer than those: with the usual 7 decades no attack would
	// reach the major band the alert rules use.
	Calibration calibrate.Options
	// Seed makes training deterministic (default 1).
	Seed uint64
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Embedding:            ipinsights.DefaultConfig(),
		HoldoutFraction:      0.2,
		NegativesPerPositive: 3,
		MaxPositives:         100000,
		MaxCliqueUsers:       32,
		Smoothness:           3,
		Prior:                0.3,
		MinPrincipalEvents:   10,
		CalibrationSample:    200000,
		Calibration:          ipCalibration(),
		Seed:                 1,
	}
}

func ipCalibration() calibrate.Options {
	o := calibrate.DefaultOptions()
	o.CapDecades = 4
	return o
}

// maxHoldout is the largest HoldoutFraction: the second time split, which holds out twice
// as much, keeps a fifth of the observations as its history.
const maxHoldout = 0.4

// Validate reports the first invalid hyperparameter.
func (c Config) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !(c.HoldoutFraction > 0 && c.HoldoutFraction <= maxHoldout):
		return fmt.Errorf("ipanomaly: holdout fraction %v outside (0, %v]", c.HoldoutFraction, maxHoldout)
	case c.NegativesPerPositive < 1 || c.NegativesPerPositive > 100:
		return fmt.Errorf("ipanomaly: negatives per positive %d outside [1, 100]", c.NegativesPerPositive)
	case c.MaxPositives < 1 || c.MaxPositives > 1<<24:
		return fmt.Errorf("ipanomaly: max positives %d outside [1, 2^24]", c.MaxPositives)
	case c.MaxCliqueUsers < 2 || c.MaxCliqueUsers > 1024:
		return fmt.Errorf("ipanomaly: max clique users %d outside [2, 1024]", c.MaxCliqueUsers)
	case !finite(c.Smoothness) || c.Smoothness < 0 || !finite(c.Prior) || c.Prior <= 0:
		return fmt.Errorf("ipanomaly: smoothness %v must be >= 0 and prior %v > 0", c.Smoothness, c.Prior)
	case c.MinPrincipalEvents < 0 || c.MinPrincipalEvents > 1<<30:
		return fmt.Errorf("ipanomaly: min principal events %d out of range", c.MinPrincipalEvents)
	case c.CalibrationSample < calibrate.MinSamples || c.CalibrationSample > 1<<24:
		return fmt.Errorf("ipanomaly: calibration sample %d outside [%d, 2^24]", c.CalibrationSample, calibrate.MinSamples)
	}
	if err := c.Calibration.Validate(); err != nil {
		return fmt.Errorf("ipanomaly: %w", err)
	}
	if err := c.Embedding.Validate(); err != nil {
		return err
	}
	return nil
}
