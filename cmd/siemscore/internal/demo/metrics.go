package demo

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"
)

// auc is the area under the ROC curve of scores (higher = more anomalous) separating planted
// from normal; ties count half.
func auc(normal, planted []float64) float64 {
	if len(normal) == 0 || len(planted) == 0 {
		return math.NaN()
	}
	y := append(slices.Clone(normal), planted...)
	classes := make([]bool, len(y))
	for i := len(normal); i < len(y); i++ {
		classes[i] = true
	}
	stat.SortWeightedLabeled(y, classes, nil)
	tpr, fpr, _ := stat.ROC(nil, y, classes, nil)
	return integrate.Trapezoidal(fpr, tpr)
}

// Threshold is an alert rule "score_norm ≥ Value" and how it does on the evaluation set.
type Threshold struct {
	Name  string
	Value float64 // +Inf when no score reaches the target
	TPR   float64 // share of planted events at or above Value
	FPR   float64 // share of normal events at or above Value
	// Precision and F1 are on the evaluation set as it is, with its ratio of planted to normal.
	Precision, F1 float64
}

// rates counts, for alert rule "score ≥ t", the shares of two sorted samples at or above t.
type rates struct{ normal, planted []float64 }

func newRates(normal, planted []float64) rates {
	r := rates{slices.Clone(normal), slices.Clone(planted)}
	slices.Sort(r.normal)
	slices.Sort(r.planted)
	return r
}

func atOrAbove(sorted []float64, t float64) int {
	i, _ := slices.BinarySearch(sorted, t) // first index with sorted[i] >= t
	return len(sorted) - i
}

func (r rates) at(name string, t float64) Threshold {
	th := Threshold{Name: name, Value: t}
	fp, tp := atOrAbove(r.normal, t), atOrAbove(r.planted, t)
	if len(r.normal) > 0 {
		th.FPR = float64(fp) / float64(len(r.normal))
	}
	if len(r.planted) > 0 {
		th.TPR = float64(tp) / float64(len(r.planted))
	}
	if tp > 0 {
		th.Precision = float64(tp) / float64(tp+fp)
		th.F1 = 2 * th.Precision * th.TPR / (th.Precision + th.TPR)
	}
	return th
}

// candidates are the scores a threshold can usefully take: every distinct observed value.
func (r rates) candidates() []float64 {
	c := slices.Concat(r.normal, r.planted)
	slices.Sort(c)
	return slices.Compact(c)
}

// atFPR returns the lowest threshold whose false-positive rate is at most fpr (the most
// sensitive rule the alert budget allows); its Value is +Inf when even the highest score is
// reached by more normal events than that.
func (r rates) atFPR(name string, fpr float64) Threshold {
	for _, t := range r.candidates() {
		if th := r.at(name, t); th.FPR <= fpr {
			return th
		}
	}
	return r.at(name, math.Inf(1))
}

// bestF1 returns the threshold with the highest F1 (the lowest one on ties).
func (r rates) bestF1(name string) Threshold {
	best := r.at(name, math.Inf(1))
	for _, t := range r.candidates() {
		if th := r.at(name, t); th.F1 > best.F1 {
			best = th
		}
	}
	return best
}
