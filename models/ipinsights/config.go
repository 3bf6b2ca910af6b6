package ipinsights

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Config holds the hyperparameters. DefaultConfig documents the defaults; they follow the
// SageMaker IP Insights workshop (20000 entity vectors, mini-batch 1000, 5 epochs, learning
// rate 0.01, 5 negatives per pair) except where the prefix encoder changes the trade-off (see
// VectorDim).
type Config struct {
	// VectorDim is the embedding dimension. Default 16: the workshop used 128 with a single
	// learned IP encoder; here every prefix level has its own vectors, which carry the network
	// structure, and the embedding is one signal of models/ipanomaly among exact histories,
	// where 16 dimensions measure as well as 64 at a quarter of the memory and training time.
	VectorDim int
	// NumEntityVectors caps the rows of the entity table (default 20000, the workshop value).
	// Principals get rows in the order of their hashed keys; more principals than rows share
	// rows (reported as entity_vector_shared).
	NumEntityVectors int
	// MaxPrefixRows caps the rows of each prefix table (default 131072): beyond it, prefixes
	// share rows, which bounds memory (rows × (VectorDim + 4) bytes per table).
	MaxPrefixRows int
	// MinPrefixPrincipals is the least number of distinct principals a prefix must have been
	// used by to get its own vector (default 2); rarer prefixes share their level's unseen
	// vector. A prefix one principal used says nothing about co-usage, which is what the
	// embedding is for (the principal's own history is kept exactly by models/ipanomaly), and
	// most prefixes are such: the threshold keeps the model a few MB where one vector per
	// address made it grow with every address.
	MinPrefixPrincipals int
	// RandomNegatives is the number of negatives per pair made of the principal and a uniformly
	// random address of the same family (default 2). They teach that an unfamiliar part of the
	// Internet is anomalous.
	RandomNegatives int
	// ShuffledNegatives is the number of negatives per pair made of the principal and the
	// address of another random training pair (default 3). They teach that a network that is
	// familiar to someone else is still anomalous for this principal.
	ShuffledNegatives int
	// PopulationRate is the share of pairs also shown, with RandomNegatives negatives, as
	// positives of the population vector: the organisation seen as one principal, against which
	// unknown principals are scored (default 0.25).
	PopulationRate float64
	// Epochs over the training pairs (default 5).
	Epochs int
	// BatchSize is the number of pairs per synchronous update (default 1000).
	BatchSize int
	// LearningRate of the Adam optimiser (default 0.01).
	LearningRate float64
	// WeightDecay is the decoupled L2 decay of AdamW applied to every updated row (default 0:
	// novelty masking and the negatives regularise enough on the acceptance scenarios).
	WeightDecay float64
	// MaxNovelty caps the measured rate at which principals use new prefixes, which sets how
	// often a positive pair is shown with its finest levels masked as unseen (default 0.5).
	MaxNovelty float64
	// Seed makes training deterministic (default 1).
	Seed uint64
	// Workers is the number of goroutines that compute gradients (0: GOMAXPROCS). The result
	// does not depend on it, so it is not stored with the model.
	Workers int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		VectorDim:           16,
		NumEntityVectors:    20000,
		MaxPrefixRows:       1 << 17,
		MinPrefixPrincipals: 2,
		RandomNegatives:     2,
		ShuffledNegatives:   3,
		PopulationRate:      0.25,
		Epochs:              5,
		BatchSize:           1000,
		LearningRate:        0.01,
		MaxNovelty:          0.5,
		Seed:                1,
	}
}

// Limits that keep a model's memory bounded and its encoding sane.
const (
	MaxVectorDim     = 1024
	maxEntityVectors = 1 << 24
	maxPrefixRowsCap = 1 << 24
	maxNegatives     = 100
	maxEpochs        = 10000
	maxBatchSize     = 1 << 20
)

// Validate reports the first invalid hyperparameter.
func (c Config) Validate() error {
	switch {
	case c.VectorDim < 1 || c.VectorDim > MaxVectorDim:
		return fmt.Errorf("ipinsights: vector dim %d outside [1, %d]", c.VectorDim, MaxVectorDim)
	case c.NumEntityVectors < 1 || c.NumEntityVectors > maxEntityVectors:
		return fmt.Errorf("ipinsights: num entity vectors %d outside [1, %d]", c.NumEntityVectors, maxEntityVectors)
	case c.MaxPrefixRows < 1 || c.MaxPrefixRows > maxPrefixRowsCap:
		return fmt.Errorf("ipinsights: max prefix rows %d outside [1, %d]", c.MaxPrefixRows, maxPrefixRowsCap)
	case c.RandomNegatives < 0 || c.ShuffledNegatives < 0 || c.RandomNegatives+c.ShuffledNegatives > maxNegatives:
		return fmt.Errorf("ipinsights: negatives (%d random, %d shuffled) must be non-negative and at most %d in total",
			c.RandomNegatives, c.ShuffledNegatives, maxNegatives)
	case c.RandomNegatives+c.ShuffledNegatives == 0:
		return errors.New("ipinsights: at least one negative per pair is needed, or every pair looks normal")
	case c.Epochs < 1 || c.Epochs > maxEpochs:
		return fmt.Errorf("ipinsights: epochs %d outside [1, %d]", c.Epochs, maxEpochs)
	case c.BatchSize < 1 || c.BatchSize > maxBatchSize:
		return fmt.Errorf("ipinsights: batch size %d outside [1, %d]", c.BatchSize, maxBatchSize)
	case !(c.LearningRate > 0 && c.LearningRate <= 1):
		return fmt.Errorf("ipinsights: learning rate %v outside (0, 1]", c.LearningRate)
	case !(c.WeightDecay >= 0 && c.LearningRate*c.WeightDecay < 1):
		return fmt.Errorf("ipinsights: weight decay %v must be >= 0 and below 1/learning rate", c.WeightDecay)
	case !(c.PopulationRate > 0 && c.PopulationRate <= 1):
		return fmt.Errorf("ipinsights: population rate %v outside (0, 1]", c.PopulationRate)
	case !(c.MaxNovelty >= 0 && c.MaxNovelty <= 1):
		return fmt.Errorf("ipinsights: max novelty %v outside [0, 1]", c.MaxNovelty)
	case c.MinPrefixPrincipals < 1 || c.MinPrefixPrincipals > 1<<16:
		return fmt.Errorf("ipinsights: min prefix principals %d outside [1, 65536]", c.MinPrefixPrincipals)
	case c.Workers < 0:
		return fmt.Errorf("ipinsights: negative worker count %d", c.Workers)
	}
	return nil
}

func (c Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Progress is reported after every epoch.
type Progress struct {
	Epoch, Epochs int
	// Loss is the mean logistic loss over the epoch's positive and negative examples.
	Loss float64
	// PairsPerSec is the epoch's throughput in training pairs (each with its negatives).
	PairsPerSec float64
	Elapsed     time.Duration
}
