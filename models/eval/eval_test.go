package eval

import (
	"math"
	"testing"
)

func TestAUC(t *testing.T) {
	for _, tc := range []struct {
		normal, anomalous []float64
		want              float64
	}{
		{[]float64{1, 2, 3}, []float64{4, 5}, 1},
		{[]float64{4, 5}, []float64{1, 2, 3}, 0},
		{[]float64{1, 1}, []float64{1, 1}, 0.5},  // all tied: chance
		{[]float64{1, 3}, []float64{2, 4}, 0.75}, // 3 of the 4 (normal, anomalous) pairs ordered right
	} {
		if got := AUC(tc.normal, tc.anomalous); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("AUC(%v, %v) = %v, want %v", tc.normal, tc.anomalous, got, tc.want)
		}
	}
	if !math.IsNaN(AUC(nil, []float64{1})) || !math.IsNaN(AUC([]float64{1}, nil)) {
		t.Error("AUC with an empty side is not NaN")
	}
}

func TestThresholds(t *testing.T) {
	// 10 normal scores 0..9, 5 anomalous at 5, 8, 9, 20, 30.
	var normal []float64
	for i := range 10 {
		normal = append(normal, float64(i))
	}
	r := NewRates(normal, []float64{5, 8, 9, 20, 30})

	th := r.AtFPR(0.1) // at most 1 of the 10 normal scores may alert: ≥ 9
	if th.Value != 9 || th.FPR != 0.1 || th.TPR != 0.6 || th.FalsePositives != 1 || th.TruePositives != 3 {
		t.Errorf("10%% FPR: %+v, want ≥ 9 with FPR 0.1 (1 alert) and TPR 0.6 (3 caught)", th)
	}
	if th := r.AtFPR(0); th.Value != 20 || th.TPR != 0.4 || th.FPR != 0 {
		t.Errorf("0%% FPR: %+v, want ≥ 20 with TPR 0.4", th)
	}
	// At ≥ 8: 4 anomalous and 2 normal alert, precision 2/3 and recall 4/5, F1 8/11; ≥ 5 has
	// precision 1/2 and recall 1 (F1 2/3), ≥ 9 precision 3/4 and recall 3/5 (F1 2/3).
	if best := r.BestF1(); best.Value != 8 || math.Abs(best.F1-8.0/11) > 1e-12 {
		t.Errorf("best F1: %+v, want ≥ 8 with F1 8/11", best)
	}
	// Every normal score ties with the highest: no threshold keeps the FPR at 1%.
	if th := NewRates([]float64{100, 100}, []float64{100}).AtFPR(0.01); !math.IsInf(th.Value, 1) || th.TPR != 0 {
		t.Errorf("unreachable target: %+v, want +Inf and TPR 0", th)
	}
}
