package demo

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/siemscore/siemscore/cmd/siemscore/internal/report"
	"github.com/siemscore/siemscore/models/eval"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/identity"
)

// IPSummary is what the IP model did on the held-out traffic.
type IPSummary struct {
	TrainPairs, Principals int
	// Normal and Planted are the evaluation set, the SageMaker tutorial's scheme: normal = the
	// held-out pairs of principals seen in training that training did not contain (a repeat of
	// a known pair is trivially normal), planted = the attacks.
	Normal, Planted int
	// HeldOutNormal is every held-out normal event scored, over HeldOutDays days.
	HeldOutNormal, HeldOutDays int
	// AUC is on the raw score (siemscore.ip.score), AUCNorm on score_norm, which ties at its
	// floor and cap.
	AUC, AUCNorm float64
	// TPRAt1FPR is the share of planted events the 1%-FPR threshold catches.
	TPRAt1FPR float64
	// Thresholds are the alert rules on score_norm: 1% FPR, 0.1% FPR and the best F1.
	Thresholds []Threshold
	// AlertsPerDay holds, per threshold, how many held-out normal events a day reach it (all
	// of them, not only the evaluation set: what an analyst would see).
	AlertsPerDay []float64
	// Baselines are the simple rules the model is judged against (eval.PrefixBaselines), on
	// the same evaluation set.
	Baselines []BaselineResult
	Top       []Anomaly
}

// BaselineResult is how one baseline separated the evaluation set.
type BaselineResult struct {
	Name      string
	AUC       float64
	TPRAt1FPR float64
}

// Anomaly is one of the highest-scored held-out events.
type Anomaly struct {
	Principal string // the principal's name
	Entity    string // what the model scored: the principal under the identity rule
	IP        netip.Addr
	ScoreNorm float64
	Score     float64
	Reasons   []string
	// Truth is what produced the event: "planted: attack_random", "normal: travel", ...
	Truth string
}

// ipScenario is the organisation's CloudTrail activity (models/synth/ipnet's organisation scenario).
type ipScenario struct {
	cfg ipnet.OrgConfig
	ds  *ipnet.Dataset
	// Scores of the evaluation set, kept for the figures; base* are the baselines'.
	normNormal, normPlanted, rawNormal, rawPlanted []float64
	baseNormal, basePlanted                        [3][]float64
}

func newIPScenario(cfg Config) (*ipScenario, error) {
	oc := ipnet.DefaultOrgConfig()
	oc.Seed = cfg.Seed
	oc.Orgs = scaled(oc.Orgs, cfg.Scale, 2)
	ds, err := ipnet.Org(oc)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return &ipScenario{cfg: oc, ds: ds}, nil
}

func (s *ipScenario) events() int { return len(s.ds.Train) + len(s.ds.Test) + len(s.ds.Attacks) }

// principal is the scorer's principal of an event, as its CloudTrail record names it.
func principal(e *ipnet.Event) identity.Principal {
	return identity.Record(e.Principal(), "", e.Identity.AccountID)
}

func (s *ipScenario) collect(col *train.Collector) error {
	for i := range s.ds.Train {
		e := &s.ds.Train[i]
		if err := col.AddPair(principal(e), e.IP, e.Time); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return nil
}

func (s *ipScenario) evaluate(ctx context.Context, r *run, res *train.Result) (IPSummary, error) {
	base := eval.NewPrefixBaselines()
	for i := range s.ds.Train {
		p := principal(&s.ds.Train[i])
		base.Add(p.ID, p.Account, s.ds.Train[i].IP)
	}
	base.Done()
	held := slices.Concat(s.ds.Test, s.ds.Attacks)
	sum := IPSummary{TrainPairs: len(s.ds.Train), Principals: res.IP.Principals(), HeldOutDays: s.cfg.Days - s.cfg.TrainDays}
	var all []Anomaly
	var heldNormal []float64
	n := 0
	err := r.stream(ctx, "cloudtrail (IP)", func(w io.Writer) error { return ipnet.WriteCloudTrail(w, s.cfg.Seed, held) },
		func(i int, rec *ecs.Record) {
			n++
			ip := &rec.Doc.SiemScore.IP
			if i >= len(held) || ip.Status != ecs.PartScored {
				return
			}
			e := &held[i]
			planted := e.Source.Attack()
			a := Anomaly{Principal: e.Identity.Name, Entity: ip.Entity, IP: e.IP, ScoreNorm: ip.ScoreNorm.V, Score: ip.Score.V, Reasons: ip.Reasons, Truth: "normal: " + e.Source.String()}
			id := principal(e).ID
			switch {
			case planted:
				a.Truth = "planted: " + e.Source.String()
				s.normPlanted, s.rawPlanted = append(s.normPlanted, a.ScoreNorm), append(s.rawPlanted, a.Score)
				for b, v := range base.Scores(id, e.IP) {
					s.basePlanted[b] = append(s.basePlanted[b], v)
				}
			case base.Known(id) && !base.Seen(id, e.IP):
				s.normNormal, s.rawNormal = append(s.normNormal, a.ScoreNorm), append(s.rawNormal, a.Score)
				for b, v := range base.Scores(id, e.IP) {
					s.baseNormal[b] = append(s.baseNormal[b], v)
				}
			}
			if !planted {
				heldNormal = append(heldNormal, a.ScoreNorm)
			}
			all = append(all, a)
		})
	if err != nil {
		return sum, err
	}
	if n != len(held) || len(all) != len(held) {
		return sum, fmt.Errorf("demo: IP: %d held-out events gave %d records, %d scored", len(held), n, len(all))
	}
	sum.Normal, sum.Planted, sum.HeldOutNormal = len(s.normNormal), len(s.normPlanted), len(heldNormal)
	sum.AUC, sum.AUCNorm = eval.AUC(s.rawNormal, s.rawPlanted), eval.AUC(s.normNormal, s.normPlanted)
	rt := eval.NewRates(s.normNormal, s.normPlanted)
	sum.Thresholds = []Threshold{{"1% FPR", rt.AtFPR(0.01)}, {"0.1% FPR", rt.AtFPR(0.001)}, {"best F1", rt.BestF1()}}
	sum.TPRAt1FPR = sum.Thresholds[0].TPR
	for b, name := range eval.BaselineNames {
		sum.Baselines = append(sum.Baselines, BaselineResult{Name: name, AUC: eval.AUC(s.baseNormal[b], s.basePlanted[b]),
			TPRAt1FPR: eval.NewRates(s.baseNormal[b], s.basePlanted[b]).AtFPR(0.01).TPR})
	}
	heldRates := eval.NewRates(heldNormal, nil)
	for _, t := range sum.Thresholds {
		sum.AlertsPerDay = append(sum.AlertsPerDay, float64(heldRates.At(t.Value).FalsePositives)/float64(sum.HeldOutDays))
	}
	slices.SortStableFunc(all, func(a, b Anomaly) int {
		return cmp.Or(cmp.Compare(b.ScoreNorm, a.ScoreNorm), cmp.Compare(b.Score, a.Score))
	})
	sum.Top = all[:min(10, len(all))]
	return sum, nil
}

func (s *ipScenario) section(sum *Summary) (report.Section, error) {
	ip := sum.IP
	sec := report.Section{
		ID:    "ip",
		Title: "IP anomaly model (CloudTrail)",
		Text: fmt.Sprintf(`%d organisations' people and service roles call AWS from offices, VPN pools, homes, mobile carriers and while travelling, over %d days; the model trained on the first %d, and the last %d were held out with %d planted attacks (a known principal at a random address or at another organisation's network).

Evaluation follows the SageMaker IP Insights tutorial: normal = held-out pairs of principals seen in training that training did not contain (%d), planted = the attacks (%d). The workshop chose its alert threshold by eyeballing two histograms; here the thresholds are read off the held-out scores: the most sensitive rule that keeps the false-positive rate at 1%% and at 0.1%%, and the rule with the best F1.`,
			s.cfg.Orgs, s.cfg.Days, s.cfg.TrainDays, ip.HeldOutDays, ip.Planted, ip.Normal, ip.Planted),
		Facts: []report.Fact{
			{Name: "Training pairs", Value: fmt.Sprintf("%d (%d principals)", ip.TrainPairs, ip.Principals)},
			{Name: "AUC", Value: fmt.Sprintf("%.4f on the raw score, %.4f on score_norm", ip.AUC, ip.AUCNorm)},
			{Name: "TPR at 1% FPR", Value: fmt.Sprintf("%.3f", ip.TPRAt1FPR)},
		},
	}
	for _, b := range ip.Baselines {
		sec.Facts = append(sec.Facts, report.Fact{Name: "Baseline: " + b.Name, Value: fmt.Sprintf("AUC %.4f, TPR at 1%% FPR %.3f", b.AUC, b.TPRAt1FPR)})
	}
	marks := make([]report.Mark, 0, len(ip.Thresholds))
	for _, t := range ip.Thresholds {
		if !math.IsInf(t.Value, 0) {
			marks = append(marks, report.Mark{Label: fmt.Sprintf("%s: score_norm ≥ %.1f", t.Name, t.Value), X: t.Value})
		}
	}
	hist, err := report.Histogram(report.HistogramSpec{
		ID: "ip-score-histogram", Title: "IP score_norm: normal vs planted", XLabel: "siemscore.ip.score_norm",
		Caption: "Share of each class per score bin, with the chosen thresholds. Most normal first uses of an address score near 0; the attacks pile up at the top of the scale.",
		Min:     0, Max: 100, Bins: 50,
		Classes: []report.Class{{Name: "normal (unseen pairs)", Values: s.normNormal}, {Name: "planted", Values: s.normPlanted}},
		Marks:   marks,
	})
	if err != nil {
		return sec, err
	}
	lo, hi := minMax(slices.Concat(s.rawNormal, s.rawPlanted))
	raw, err := report.Histogram(report.HistogramSpec{
		ID: "ip-raw-histogram", Title: "IP raw score: normal vs planted", XLabel: "siemscore.ip.score (log-odds of anomalous)",
		Caption: "The model's raw score, the log-odds its combiner gives the pair of being foreign to the principal. Calibration turns it into score_norm above.",
		Min:     lo, Max: hi, Bins: 60,
		Classes: []report.Class{{Name: "normal (unseen pairs)", Values: s.rawNormal}, {Name: "planted", Values: s.rawPlanted}},
	})
	if err != nil {
		return sec, err
	}
	sec.Figures = []report.Figure{hist, raw}
	for b, name := range eval.BaselineNames {
		f, err := report.Histogram(report.HistogramSpec{
			ID: fmt.Sprintf("ip-baseline-%d-histogram", b), Title: "Baseline, " + name + ": normal vs planted", XLabel: "bits of the address not shared (32 IPv4, 64 IPv6)",
			Caption: fmt.Sprintf("The same evaluation set scored by the %s baseline (AUC %.4f, TPR at 1%% FPR %.3f; the model: %.4f, %.3f). Its integer scores tie: a threshold takes or leaves a whole bar.", name, ip.Baselines[b].AUC, ip.Baselines[b].TPRAt1FPR, ip.AUC, ip.TPRAt1FPR),
			Min:     0, Max: 64, Bins: 64,
			Classes: []report.Class{{Name: "normal (unseen pairs)", Values: s.baseNormal[b]}, {Name: "planted", Values: s.basePlanted[b]}},
		})
		if err != nil {
			return sec, err
		}
		sec.Figures = append(sec.Figures, f)
	}
	vs := report.Table{Caption: "The model beside the baselines on the same evaluation set", Header: []string{"scorer", "AUC", "TPR at 1% FPR"}}
	vs.Rows = append(vs.Rows, []string{"siemscore IP model", fmt.Sprintf("%.4f", ip.AUC), fmt.Sprintf("%.3f", ip.TPRAt1FPR)})
	for _, b := range ip.Baselines {
		vs.Rows = append(vs.Rows, []string{"baseline: " + b.Name, fmt.Sprintf("%.4f", b.AUC), fmt.Sprintf("%.3f", b.TPRAt1FPR)})
	}
	th := report.Table{Caption: "Alert thresholds on score_norm", Header: []string{"rule", "score_norm ≥", "TPR", "FPR", "precision", "F1", "normal alerts/day (all held-out traffic)"}}
	for i, t := range ip.Thresholds {
		th.Rows = append(th.Rows, []string{t.Name, fmtThreshold(t.Value), fmt.Sprintf("%.3f", t.TPR), fmt.Sprintf("%.4f", t.FPR),
			fmt.Sprintf("%.3f", t.Precision), fmt.Sprintf("%.3f", t.F1), fmt.Sprintf("%.1f", ip.AlertsPerDay[i])})
	}
	top := report.Table{Caption: "Top held-out events by score", Header: []string{"principal", "entity", "source.ip", "score_norm", "score", "reasons", "ground truth"}}
	for _, a := range ip.Top {
		top.Rows = append(top.Rows, []string{a.Principal, a.Entity, a.IP.String(), fmt.Sprintf("%.1f", a.ScoreNorm), fmt.Sprintf("%.3f", a.Score), strings.Join(a.Reasons, ", "), a.Truth})
	}
	sec.Tables = []report.Table{vs, th, top}
	return sec, nil
}

func fmtThreshold(v float64) string {
	if math.IsInf(v, 1) {
		return "unreachable"
	}
	return fmt.Sprintf("%.1f", v)
}

func minMax(v []float64) (lo, hi float64) {
	if len(v) == 0 {
		return 0, 1
	}
	lo, hi = slices.Min(v), slices.Max(v)
	if !(hi > lo) {
		hi = lo + 1
	}
	return lo, hi
}
