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
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/processors/ecs"
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
	Top          []Anomaly
}

// Anomaly is one of the highest-scored held-out events.
type Anomaly struct {
	Principal string // the principal's name
	Entity    string // what the model scored: principalId up to ':'
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
	// Scores of the evaluation set, kept for the figures.
	normNormal, normPlanted, rawNormal, rawPlanted []float64
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

// entity is the scorer's entity of an event's principalId.
func entity(e *ipnet.Event) string { return score.EntityOf(e.Principal()) }

func (s *ipScenario) collect(col *train.Collector) error {
	for i := range s.ds.Train {
		if err := col.AddPair(entity(&s.ds.Train[i]), s.ds.Train[i].IP); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return nil
}

func (s *ipScenario) evaluate(ctx context.Context, r *run, res *train.Result) (IPSummary, error) {
	type pairKey struct {
		entity string
		ip     netip.Addr
	}
	seen, known := map[pairKey]bool{}, map[string]bool{}
	for i := range s.ds.Train {
		e := &s.ds.Train[i]
		seen[pairKey{entity(e), e.IP}], known[entity(e)] = true, true
	}
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
			switch {
			case planted:
				a.Truth = "planted: " + e.Source.String()
				s.normPlanted, s.rawPlanted = append(s.normPlanted, a.ScoreNorm), append(s.rawPlanted, a.Score)
			case known[entity(e)] && !seen[pairKey{entity(e), e.IP}]:
				s.normNormal, s.rawNormal = append(s.normNormal, a.ScoreNorm), append(s.rawNormal, a.Score)
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
		ID: "ip-raw-histogram", Title: "IP raw score: normal vs planted", XLabel: "siemscore.ip.score (−dot product)",
		Caption: "The workshop's view: the raw score is the negated SageMaker dot_product, so higher is more anomalous. Calibration turns it into score_norm above.",
		Min:     lo, Max: hi, Bins: 60,
		Classes: []report.Class{{Name: "normal (unseen pairs)", Values: s.rawNormal}, {Name: "planted", Values: s.rawPlanted}},
	})
	if err != nil {
		return sec, err
	}
	sec.Figures = []report.Figure{hist, raw}
	th := report.Table{Caption: "Alert thresholds on score_norm", Header: []string{"rule", "score_norm ≥", "TPR", "FPR", "precision", "F1", "normal alerts/day (all held-out traffic)"}}
	for i, t := range ip.Thresholds {
		th.Rows = append(th.Rows, []string{t.Name, fmtThreshold(t.Value), fmt.Sprintf("%.3f", t.TPR), fmt.Sprintf("%.4f", t.FPR),
			fmt.Sprintf("%.3f", t.Precision), fmt.Sprintf("%.3f", t.F1), fmt.Sprintf("%.1f", ip.AlertsPerDay[i])})
	}
	top := report.Table{Caption: "Top held-out events by score", Header: []string{"principal", "entity", "source.ip", "score_norm", "score", "reasons", "ground truth"}}
	for _, a := range ip.Top {
		top.Rows = append(top.Rows, []string{a.Principal, a.Entity, a.IP.String(), fmt.Sprintf("%.1f", a.ScoreNorm), fmt.Sprintf("%.3f", a.Score), strings.Join(a.Reasons, ", "), a.Truth})
	}
	sec.Tables = []report.Table{th, top}
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
