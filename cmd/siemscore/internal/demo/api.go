package demo

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/siemscore/siemscore/cmd/siemscore/internal/report"
	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/models/synth/apicalls"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/processors/ecs"
)

// apiTrainDays is the periodicity model's training window: twelve weeks, the history its
// documentation asks for; the last four of the sixteen generated weeks are held out.
const apiTrainDays = 84

// acfLags is how many lags the autocorrelation chart shows: two weeks, so a weekly rhythm
// shows at 7 and again at 14 (the model itself looks at 1..7).
const acfLags = 14

// APISummary is what the periodicity model found.
type APISummary struct {
	Pairs, Judged int
	// TP, FP, FN and TN compare the pairs judged automated with the ground truth (the pair's
	// principal is a cron-like role).
	TP, FP, FN, TN    int
	Precision, Recall float64
	Burst             Burst
	// NormalAutomatedDays are the held-out days of truly automated pairs other than the burst;
	// NormalAutomatedMaxZ is the highest volume_z any of them reached.
	NormalAutomatedDays int
	NormalAutomatedMaxZ float64
	// Top are the busiest automated pairs, at most one per principal, plotted in the report.
	Top []periodicity.PairStats
}

// Burst is the planted volume anomaly and what the Scorer made of it.
type Burst struct {
	Pair     periodicity.Pair
	Day      periodicity.Day
	Calls    [2]int // the pair's calls that day before and after planting
	Expected float64
	// VolumeZ and ScoreNorm are the day's peak siemscore.api.volume_z and its score_norm.
	VolumeZ, ScoreNorm float64
}

// apiScenario is CloudTrail API activity of cron-like roles and people (models/synth/apicalls) over
// sixteen weeks, with one automated pair bursting to ten times its calls on one held-out day.
type apiScenario struct {
	ds       *apicalls.Dataset
	cut      periodicity.Day // first held-out day
	heldFrom int             // index of the first held-out event
	// counts holds every generated call, for the daily series and autocorrelations.
	counts *periodicity.Counts
	model  *periodicity.Model
}

func newAPIScenario(cfg Config) (*apiScenario, error) {
	ac := apicalls.DefaultConfig(cfg.Seed)
	ac.CronRoles = scaled(ac.CronRoles, cfg.Scale, 4)
	ac.Humans = scaled(ac.Humans, cfg.Scale, 4)
	ds, err := apicalls.Generate(ac)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	s := &apiScenario{ds: ds, cut: ds.Day(apiTrainDays), counts: periodicity.NewCounts()}
	s.heldFrom = slices.IndexFunc(ds.Events, func(e apicalls.Event) bool {
		d, _ := periodicity.DayOf(e.Time)
		return d >= s.cut
	})
	if s.heldFrom < 0 {
		return nil, fmt.Errorf("demo: the API generator produced no held-out calls")
	}
	s.counts.AddCalls(ds.Calls())
	return s, nil
}

func (s *apiScenario) trainWindow() periodicity.Window {
	return periodicity.Window{First: s.ds.Day(0), Last: s.cut - 1}
}

func (s *apiScenario) collect(col *train.Collector) error {
	for _, e := range s.ds.Events[:s.heldFrom] {
		if !col.AddCall(e.Call) {
			return fmt.Errorf("demo: generated call %+v cannot be counted", e.Call)
		}
	}
	return nil
}

func (s *apiScenario) evaluate(ctx context.Context, r *run, res *train.Result) (APISummary, error) {
	m := res.Periodicity
	s.model = m
	var sum APISummary
	sum.Pairs = m.Len()
	for i := range m.Len() {
		st := m.Stats(i)
		if st.Judged {
			sum.Judged++
		}
		switch truth := s.ds.Automated(st.Pair); {
		case truth && st.Automated():
			sum.TP++
		case truth:
			sum.FN++
		case st.Automated():
			sum.FP++
		default:
			sum.TN++
		}
	}
	sum.Precision = float64(sum.TP) / math.Max(1, float64(sum.TP+sum.FP))
	sum.Recall = float64(sum.TP) / math.Max(1, float64(sum.TP+sum.FN))
	sum.Burst = Burst{Pair: s.ds.BurstPair, Day: s.ds.BurstDay, Calls: s.ds.BurstCalls}

	type pairDay struct {
		periodicity.Pair
		periodicity.Day
	}
	peak := map[pairDay]float64{}
	write := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for i := s.heldFrom; i < len(s.ds.Events); i++ {
			b, err := s.ds.CloudTrailRecord(i)
			if err != nil {
				return err
			}
			bw.Write(b)
			bw.WriteByte('\n')
		}
		return bw.Flush()
	}
	err := r.stream(ctx, "cloudtrail (API)", write, func(_ int, rec *ecs.Record) {
		a := &rec.Doc.SiemScore.API
		call, reason := score.APICallOf(rec.Doc, res.Periodicity.Config().SessionKeys)
		if reason != "" || !a.VolumeZ.Set {
			return
		}
		day, _ := periodicity.DayOf(call.Time)
		key := pairDay{periodicity.Pair{Principal: call.Principal, API: call.API}, day}
		if z, ok := peak[key]; !ok || a.VolumeZ.V > z {
			peak[key] = a.VolumeZ.V
		}
		if key.Pair == sum.Burst.Pair && day == sum.Burst.Day && a.VolumeZ.V >= sum.Burst.VolumeZ {
			sum.Burst.VolumeZ, sum.Burst.ScoreNorm, sum.Burst.Expected = a.VolumeZ.V, a.ScoreNorm.V, a.Expected.V
		}
	})
	if err != nil {
		return sum, err
	}
	for k, z := range peak {
		if k.Day == sum.Burst.Day && k.Pair == sum.Burst.Pair || !s.ds.Automated(k.Pair) {
			continue
		}
		sum.NormalAutomatedDays++
		sum.NormalAutomatedMaxZ = math.Max(sum.NormalAutomatedMaxZ, z)
	}
	sum.Top = s.topAutomated(4)
	return sum, nil
}

// topAutomated returns the n busiest pairs judged automated, at most one per principal so the
// plots show different jobs, and the burst pair if it is not among them.
func (s *apiScenario) topAutomated(n int) []periodicity.PairStats {
	var auto []periodicity.PairStats
	for i := range s.model.Len() {
		if st := s.model.Stats(i); st.Automated() {
			auto = append(auto, st)
		}
	}
	slices.SortStableFunc(auto, func(a, b periodicity.PairStats) int { return cmp.Compare(b.Total, a.Total) })
	var top []periodicity.PairStats
	seen := map[string]bool{}
	for _, st := range auto {
		if len(top) < n && !seen[st.Principal] {
			top, seen[st.Principal] = append(top, st), true
		}
	}
	if st, ok := s.model.Lookup(s.ds.BurstPair.Principal, s.ds.BurstPair.API); ok && !slices.ContainsFunc(top, func(t periodicity.PairStats) bool { return t.Pair == st.Pair }) {
		top = append(top, st)
	}
	return top
}

// busiestHuman returns the busiest judged pair the model did not find automated, for contrast.
func (s *apiScenario) busiestHuman() (periodicity.PairStats, bool) {
	var best periodicity.PairStats
	found := false
	for i := range s.model.Len() {
		if st := s.model.Stats(i); st.Judged && !st.Automated() && (!found || st.Total > best.Total) {
			best, found = st, true
		}
	}
	return best, found
}

// shortARN drops "arn:partition:service:region:account:" from an ARN.
func shortARN(arn string) string {
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
		return parts[5]
	}
	return arn
}

func pairName(p periodicity.Pair) string { return shortARN(p.Principal) + " " + p.API }

func (s *apiScenario) section(sum *Summary) (report.Section, error) {
	a := sum.API
	sec := report.Section{
		ID:    "api",
		Title: "API periodicity model (CloudTrail)",
		Text: fmt.Sprintf(`%d cron-like roles and %d people call AWS APIs for sixteen weeks. The model learnt each (principal, API) pair's daily counts over the first twelve (the notebook's autocorrelation test at lags 1 to 7, plus a steadiness test) and each weekday's usual volume; the last four weeks streamed through the Scorer, with one automated pair making ten times its calls on %s.`,
			s.ds.Config.CronRoles, s.ds.Config.Humans, a.Burst.Day),
		Facts: []report.Fact{
			{Name: "Pairs", Value: fmt.Sprintf("%d, %d with enough history to judge", a.Pairs, a.Judged)},
			{Name: "Automated pairs found", Value: fmt.Sprintf("precision %.3f, recall %.3f (tp %d, fp %d, fn %d, tn %d)", a.Precision, a.Recall, a.TP, a.FP, a.FN, a.TN)},
			{Name: "Burst", Value: fmt.Sprintf("%s on %s: %d calls instead of %d (expected %.0f), volume_z %.1f, score_norm %.1f",
				pairName(a.Burst.Pair), a.Burst.Day, a.Burst.Calls[1], a.Burst.Calls[0], a.Burst.Expected, a.Burst.VolumeZ, a.Burst.ScoreNorm)},
			{Name: "Other automated pair-days", Value: fmt.Sprintf("%d, highest volume_z %.2f", a.NormalAutomatedDays, a.NormalAutomatedMaxZ)},
		},
	}
	all := periodicity.Window{First: s.ds.Day(0), Last: s.ds.Day(s.ds.Config.Days - 1)}
	for i, st := range a.Top {
		first, series, ok := s.counts.Series(st.Pair, all)
		if !ok {
			continue
		}
		line := report.Line{Name: pairName(st.Pair), Times: make([]time.Time, len(series)), Values: series}
		for j := range series {
			line.Times[j] = (first + periodicity.Day(j)).Time()
		}
		marks := []report.TimeMark{{Label: "held out from here", T: s.cut.Time()}}
		if st.Pair == a.Burst.Pair {
			marks = append(marks, report.TimeMark{Label: "planted burst", T: a.Burst.Day.Time()})
		}
		fig, err := report.Series(report.SeriesSpec{
			ID: fmt.Sprintf("api-series-%d", i+1), Title: pairName(st.Pair), YLabel: "calls per day",
			Caption: fmt.Sprintf("Daily calls of %s: %s, periodicity %.2f at lag %d, %d of %d days active.",
				pairName(st.Pair), rhythm(st), st.Periodicity, st.BestLag, st.ActiveDays, st.HistoryDays),
			Lines: []report.Line{line}, Marks: marks,
		})
		if err != nil {
			return sec, err
		}
		sec.Figures = append(sec.Figures, fig)
	}
	acf, err := s.acfFigure(a)
	if err != nil {
		return sec, err
	}
	sec.Figures = append(sec.Figures, acf)
	tt := report.Table{Caption: "Busiest automated pairs", Header: []string{"principal", "API", "rhythm", "periodicity", "best lag", "active days", "calls in training"}}
	for _, st := range a.Top {
		tt.Rows = append(tt.Rows, []string{shortARN(st.Principal), st.API, rhythm(st), fmt.Sprintf("%.2f", st.Periodicity), fmt.Sprint(st.BestLag),
			fmt.Sprintf("%d of %d", st.ActiveDays, st.HistoryDays), fmt.Sprint(st.Total)})
	}
	sec.Tables = []report.Table{tt}
	return sec, nil
}

// acfFigure charts the training-window autocorrelation of the top automated pairs and of the
// busiest human pair, the notebook's plot_acf.
func (s *apiScenario) acfFigure(a APISummary) (report.Figure, error) {
	pairs := a.Top[:min(3, len(a.Top))]
	if h, ok := s.busiestHuman(); ok {
		pairs = append(slices.Clone(pairs), h)
	}
	cats := make([]string, acfLags)
	for l := range acfLags {
		cats[l] = fmt.Sprint(l + 1)
	}
	var groups []report.Class
	for _, st := range pairs {
		_, series, ok := s.counts.Series(st.Pair, s.model.Window())
		if !ok {
			continue
		}
		vals := make([]float64, acfLags)
		for l := range acfLags {
			vals[l] = periodicity.Autocorr(series, l+1)
		}
		groups = append(groups, report.Class{Name: fmt.Sprintf("%s (%s)", pairName(st.Pair), rhythm(st)), Values: vals})
	}
	th := s.model.Config().Threshold
	return report.Bars(report.BarsSpec{
		ID: "api-acf", Title: "Autocorrelation of daily calls (training window)", XLabel: "lag (days)", YLabel: "autocorrelation",
		Caption:    fmt.Sprintf("Autocorrelation at lags 1 to %d; a pair is periodic when its largest |autocorrelation| over lags 1 to 7 reaches %.1f (dashed). A constant series has none (no bar).", acfLags, th),
		Categories: cats, Groups: groups, HLines: []float64{th, -th},
	})
}

func rhythm(st periodicity.PairStats) string {
	switch {
	case st.Periodic && st.Steady:
		return "periodic, steady"
	case st.Periodic:
		return "periodic"
	case st.Steady:
		return "steady"
	}
	return "irregular"
}
