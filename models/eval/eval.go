// Package eval measures how well anomaly scores (higher = more anomalous) separate planted
// anomalies from normal events: the area under the ROC curve, and alert thresholds chosen by a
// false-positive budget or by F1. The models' acceptance tests and `siemscore demo` report the
// same numbers through it.
package eval

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"
)

// AUC is the area under the ROC curve of scores separating anomalous from normal; ties count
// half. It is NaN when either side is empty.
func AUC(normal, anomalous []float64) float64 {
	if len(normal) == 0 || len(anomalous) == 0 {
		return math.NaN()
	}
	y := slices.Concat(normal, anomalous)
	classes := make([]bool, len(y))
	for i := len(normal); i < len(y); i++ {
		classes[i] = true
	}
	stat.SortWeightedLabeled(y, classes, nil)
	tpr, fpr, _ := stat.ROC(nil, y, classes, nil)
	return integrate.Trapezoidal(fpr, tpr)
}

// Threshold is an alert rule "score ≥ Value" and how it does on an evaluation set.
type Threshold struct {
	Value float64 // +Inf when no score reaches the target
	// FalsePositives and TruePositives count the normal and anomalous scores at or above Value.
	FalsePositives, TruePositives int
	TPR                           float64 // share of anomalous scores at or above Value
	FPR                           float64 // share of normal scores at or above Value
	// Precision and F1 are on the evaluation set as it is, with its ratio of anomalous to normal.
	Precision, F1 float64
}

// Rates evaluates alert rules "score ≥ t" on two samples of scores.
type Rates struct{ normal, anomalous []float64 }

// NewRates copies and sorts the samples.
func NewRates(normal, anomalous []float64) Rates {
	r := Rates{slices.Clone(normal), slices.Clone(anomalous)}
	slices.Sort(r.normal)
	slices.Sort(r.anomalous)
	return r
}

func atOrAbove(sorted []float64, t float64) int {
	i, _ := slices.BinarySearch(sorted, t) // first index with sorted[i] >= t
	return len(sorted) - i
}

// At is how the rule "score ≥ t" does.
func (r Rates) At(t float64) Threshold {
	th := Threshold{Value: t, FalsePositives: atOrAbove(r.normal, t), TruePositives: atOrAbove(r.anomalous, t)}
	fp, tp := th.FalsePositives, th.TruePositives
	if len(r.normal) > 0 {
		th.FPR = float64(fp) / float64(len(r.normal))
	}
	if len(r.anomalous) > 0 {
		th.TPR = float64(tp) / float64(len(r.anomalous))
	}
	if tp > 0 {
		th.Precision = float64(tp) / float64(tp+fp)
		th.F1 = 2 * th.Precision * th.TPR / (th.Precision + th.TPR)
	}
	return th
}

// candidates are the scores a threshold can usefully take: every distinct observed value.
func (r Rates) candidates() []float64 {
	c := slices.Concat(r.normal, r.anomalous)
	slices.Sort(c)
	return slices.Compact(c)
}

// AtFPR returns the lowest threshold whose false-positive rate is at most fpr (the most
// sensitive rule the alert budget allows), so its TPR is the TPR at that FPR. Its Value is +Inf
// when even the highest score is reached by more normal scores than that.
func (r Rates) AtFPR(fpr float64) Threshold {
	for _, t := range r.candidates() {
		if th := r.At(t); th.FPR <= fpr {
			return th
		}
	}
	return r.At(math.Inf(1))
}

// BestF1 returns the threshold with the highest F1 (the lowest one on ties).
func (r Rates) BestF1() Threshold {
	best := r.At(math.Inf(1))
	for _, t := range r.candidates() {
		if th := r.At(t); th.F1 > best.F1 {
			best = th
		}
	}
	return best
}
