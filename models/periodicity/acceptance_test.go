package periodicity_test

import (
	"fmt"
	"testing"

	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/synth/apicalls"
)

const trainDays = 84 // twelve weeks; the last four of the generated sixteen are scored

// trainOn trains on the first trainDays of a generated dataset and returns the model and the
// calls after it.
func trainOn(t testing.TB, ds *apicalls.Dataset) (*periodicity.Model, []periodicity.Call) {
	t.Helper()
	cut := ds.Day(trainDays)
	calls := ds.Calls()
	i := 0
	for i < len(calls) {
		if d, _ := periodicity.DayOf(calls[i].Time); d >= cut {
			break
		}
		i++
	}
	c := periodicity.NewCounts()
	c.AddCalls(calls[:i])
	m, err := periodicity.Train(c, periodicity.Window{First: ds.Day(0), Last: cut - 1}, periodicity.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return m, calls[i:]
}

// TestAcceptance is the model's contract on generated CloudTrail: automated pairs are found
// with precision and recall of at least 0.95, a 10x burst on an automated pair reaches a
// volume z of 5 while the automated pairs' normal days stay below 3, at every call of the day.
func TestAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and scores sixteen weeks of CloudTrail for several seeds")
	}
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ds, err := apicalls.Generate(apicalls.DefaultConfig(seed))
			if err != nil {
				t.Fatal(err)
			}
			m, test := trainOn(t, ds)

			var tp, fp, fn, tn int
			for i := range m.Len() {
				s := m.Stats(i)
				switch truth := ds.Automated(s.Pair); {
				case truth && s.Automated():
					tp++
				case truth:
					fn++
					t.Logf("missed %v (periodicity %.2f at lag %d, %d/%d active days)", s.Pair, s.Periodicity, s.BestLag, s.ActiveDays, s.HistoryDays)
				case s.Automated():
					fp++
					t.Logf("flagged human %v (periodicity %.2f at lag %d, %d/%d active days)", s.Pair, s.Periodicity, s.BestLag, s.ActiveDays, s.HistoryDays)
				default:
					tn++
				}
			}
			precision, recall := float64(tp)/float64(tp+fp), float64(tp)/float64(tp+fn)
			t.Logf("pairs %d: tp %d fp %d fn %d tn %d, precision %.3f recall %.3f", m.Len(), tp, fp, fn, tn, precision, recall)
			if precision < 0.95 || recall < 0.95 {
				t.Errorf("precision %.3f recall %.3f, want both >= 0.95", precision, recall)
			}

			// Stream the four scored weeks in time order, as the plugin would.
			state := periodicity.NewState(0)
			type pairDay struct {
				periodicity.Pair
				periodicity.Day
			}
			type dayMax struct{ z, score float64 }
			peak := map[pairDay]dayMax{}
			burstCrossed := -1
			var last periodicity.Score
			for _, c := range test {
				obs, ok := state.Observe(c.Principal, c.API, c.Time)
				if !ok {
					t.Fatalf("call %+v not counted", c)
				}
				s := m.Score(c.Principal, c.API, obs)
				if !s.HasVolume {
					continue
				}
				key := pairDay{periodicity.Pair{Principal: c.Principal, API: c.API}, obs.Day}
				if p, seen := peak[key]; !seen || s.VolumeZ > p.z {
					peak[key] = dayMax{s.VolumeZ, s.ScoreNorm}
				}
				if key.Pair == ds.BurstPair && key.Day == ds.BurstDay {
					last = s
					if burstCrossed < 0 && s.VolumeZ >= 5 {
						burstCrossed = int(s.DayCount)
					}
				}
			}
			// Normal days: every pair-day but the burst, by ground truth.
			var auto, human struct {
				days           int
				maxZ, maxScore float64
				minor, major   int // score_norm >= 25, >= 50
			}
			for k, p := range peak {
				if k.Pair == ds.BurstPair && k.Day == ds.BurstDay {
					continue
				}
				g := &human
				if ds.Automated(k.Pair) {
					g = &auto
					if p.z >= 3 {
						t.Errorf("normal day %v of automated %v reached z %.2f", k.Day, k.Pair, p.z)
					}
				}
				g.days++
				g.maxZ, g.maxScore = max(g.maxZ, p.z), max(g.maxScore, p.score)
				if p.score >= 25 {
					g.minor++
				}
				if p.score >= 50 {
					g.major++
				}
			}
			t.Logf("burst %v on %v: %d -> %d calls, expected %.0f, end-of-day z %.1f score %.1f, z >= 5 from call %d",
				ds.BurstPair, ds.BurstDay, ds.BurstCalls[0], ds.BurstCalls[1], last.Expected, last.VolumeZ, last.ScoreNorm, burstCrossed)
			t.Logf("normal automated pair-days %d: max z %.2f, max score %.1f; human pair-days %d: max z %.2f, max score %.1f, %d scored >= 25, %d >= 50",
				auto.days, auto.maxZ, auto.maxScore, human.days, human.maxZ, human.maxScore, human.minor, human.major)
			if last.VolumeZ < 5 || last.DayCount != int64(ds.BurstCalls[1]) {
				t.Errorf("burst ends the day at z %.2f with count %d (want z >= 5, count %d)", last.VolumeZ, last.DayCount, ds.BurstCalls[1])
			}
		})
	}
}
