package demo

import "github.com/siemscore/siemscore/models/eval"

// Threshold is a named alert rule "score_norm ≥ Value" and how it does on the evaluation set.
type Threshold struct {
	Name string
	eval.Threshold
}
