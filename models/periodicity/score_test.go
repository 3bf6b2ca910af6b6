package periodicity

import (
	"math"
	"slices"
	"testing"
	"time"
)

// scoringModel has a steady automated pair (96 calls a day, MAD 0), a human pair with a
// spread-out weekday volume, and a pair seen only in the last ten days.
func scoringModel(t testing.TB) (m *Model, job, human, fresh Pair) {
	t.Helper()
	job = Pair{"arn:aws:sts::1:assumed-role/job/s", "DescribeInstances"}
	human = Pair{"arn:aws:iam::1:user/alice", "ListBuckets"}
	fresh = Pair{"arn:aws:iam::1:user/bob", "GetCallerIdentity"}
	w := Window{monday, monday + 83}
	jobCounts := make([]int64, 84)
	for i := range jobCounts {
		jobCounts[i] = 96
	}
	humanCounts := repeat([]int64{4, 20, 0, 9, 30, 0, 0, 12, 2, 7, 0, 15, 1, 0}, 6)
	m = train(t, DefaultConfig(), w,
		dailySeries(job, monday, jobCounts),
		dailySeries(human, monday, humanCounts),
		dailySeries(fresh, w.Last-9, []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}),
	)
	return m, job, human, fresh
}

func TestScoreVolume(t *testing.T) {
	m, job, human, _ := scoringModel(t)
	day := monday + 84 // the Monday after the window
	s := m.Score(job.Principal, job.API, Observation{Day: day, Count: 960})
	// Spread floored at √96: z = (960-96)/√96.
	if !s.Known || !s.Automated || !s.HasVolume || s.Expected != 96 || math.Abs(s.VolumeZ-864/math.Sqrt(96)) > 1e-9 {
		t.Fatalf("10x burst on the job: %+v", s)
	}
	if !s.Reasons.Has(ReasonSteady|ReasonVolumeHigh) || s.ScoreNorm < 95 {
		t.Errorf("10x burst: score %.1f, reasons %v", s.ScoreNorm, s.Reasons.Codes())
	}
	normal := m.Score(job.Principal, job.API, Observation{Day: day, Count: 97})
	if normal.VolumeZ >= 1 || normal.ScoreNorm > 1 || normal.Reasons.Has(ReasonVolumeHigh) {
		t.Errorf("a normal day: z %.2f score %.2f", normal.VolumeZ, normal.ScoreNorm)
	}
	quiet := m.Score(job.Principal, job.API, Observation{Day: day, Count: 3})
	if quiet.VolumeZ >= 0 || quiet.ScoreNorm != 0 {
		t.Errorf("fewer calls than expected: z %.2f score %.2f", quiet.VolumeZ, quiet.ScoreNorm)
	}

	// The same z on a pair that is not automated scores lower (HumanWeight).
	hs, _ := m.Lookup(human.Principal, human.API)
	if hs.Automated() {
		t.Fatalf("the human pair trained as automated: %+v", hs)
	}
	base := hs.Weekday[time.Monday]
	spread := max(madToSigma*base.MAD, madToSigma*hs.ActiveMAD, math.Sqrt(base.Median), 1)
	count := int64(math.Ceil(base.Median + s.VolumeZ*spread))
	h := m.Score(human.Principal, human.API, Observation{Day: day, Count: count})
	if h.VolumeZ < s.VolumeZ || h.ScoreNorm >= s.ScoreNorm || h.Automated {
		t.Errorf("human at z %.1f scores %.1f, job at z %.1f scores %.1f: the human must score lower", h.VolumeZ, h.ScoreNorm, s.VolumeZ, s.ScoreNorm)
	}
}

func TestScoreMapping(t *testing.T) {
	m, job, _, _ := scoringModel(t)
	prev := -1.0
	for count := int64(96); count < 2000; count += 7 {
		s := m.Score(job.Principal, job.API, Observation{Day: monday + 84, Count: count})
		if s.ScoreNorm < prev || s.ScoreNorm < 0 || s.ScoreNorm > 100 {
			t.Fatalf("count %d: score %v after %v; must rise monotonically within 0..100", count, s.ScoreNorm, prev)
		}
		prev = s.ScoreNorm
		if math.Abs(s.VolumeZ-5) < 0.1 && math.Abs(s.ScoreNorm-50) > 2 {
			t.Errorf("z %.2f scores %.1f, want ~50 at Z50", s.VolumeZ, s.ScoreNorm)
		}
	}
}

func TestScoreDefinedBehaviours(t *testing.T) {
	m, job, _, fresh := scoringModel(t)
	unknown := m.Score("arn:aws:iam::1:user/zed", "ListBuckets", Observation{Day: monday + 90, Count: 4})
	if unknown.Known || unknown.HasVolume || unknown.DayCount != 4 || !math.IsNaN(unknown.Periodicity) ||
		!slices.Equal(unknown.Reasons.Codes(), []string{"api_pair_unknown"}) {
		t.Errorf("unknown pair: %+v", unknown)
	}
	late := m.Score(job.Principal, job.API, Observation{Day: monday + 80, Late: true})
	if !late.Known || late.HasVolume || !late.Reasons.Has(ReasonLate) || !late.Automated {
		t.Errorf("late event: %+v", late)
	}
	// Ten days of history: too short to judge, and no weekday has the 3 samples a baseline
	// needs.
	f := m.Score(fresh.Principal, fresh.API, Observation{Day: monday + 85, Count: 50})
	if !f.Known || f.Judged || f.Automated || f.HasVolume || !f.Reasons.Has(ReasonHistoryShort|ReasonNoBaseline) {
		t.Errorf("fresh pair: %+v reasons %v", f, f.Reasons.Codes())
	}
}

func TestReasonCodes(t *testing.T) {
	all := Reasons(1<<len(reasonCodes) - 1)
	if got := all.Codes(); !slices.Equal(got, reasonCodes[:]) {
		t.Errorf("codes %v", got)
	}
	if got := (Reasons(1<<15) | ReasonPeriodic).Codes(); !slices.Equal(got, []string{"api_periodic"}) {
		t.Errorf("an undefined bit must not produce a code: %v", got)
	}
}
