// Package apicalls generates deterministic CloudTrail-like API activity with known ground truth,
// for measuring the periodicity model: cron-like roles (all-day interval jobs, business-hours
// weekday jobs, daily and weekly batch jobs, jobs that slow down at weekends) calling several
// APIs each with time jitter, retries and missed runs, next to human users (irregular working
// days in their own time zone, weekends mostly off, vacations, bursty sessions), plus one
// planted burst: a day on which an automated pair makes Factor times its usual calls.
//
// The same Config always produces the same calls, as periodicity.Calls and as CloudTrail JSON
// records that the processors can parse.
package apicalls

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/siemscore/siemscore/models/periodicity"
)

// Config says what to generate.
type Config struct {
	Seed uint64
	// Start is the first day (truncated to UTC midnight); Days days are generated.
	Start     time.Time
	Days      int
	CronRoles int
	Humans    int
	// Burst plants the anomaly: on day index Burst.Day one automated pair with calls that day
	// gets Burst.Factor times its calls, the extra ones spread over the day. Factor < 2 plants
	// nothing.
	Burst Burst
}

// Burst places the planted volume anomaly.
type Burst struct {
	Day    int
	Factor int
}

// DefaultConfig is sixteen weeks from Monday 2024-01-01: twelve to train on (see
// models/periodicity for why twelve) and four to score, with a 10x burst on the Wednesday of
// the last week.
func DefaultConfig(seed uint64) Config {
	return Config{
		Seed:      seed,
		Start:     time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Days:      112,
		CronRoles: 30,
		Humans:    40,
		Burst:     Burst{Day: 107, Factor: 10},
	}
}

// Principal is one generated identity.
type Principal struct {
	// ARN is the identity's userIdentity.arn; a role that renews its session every run
	// (Renews) has a new one every day, of which ARN is the first.
	ARN string
	// Key is what its calls are counted by: the identity rule's principal
	// (processors/identity), the role for assumed roles.
	Key       string
	AccountID string
	// Renews is set for roles that get a new session name every run (EC2 instance profiles,
	// ECS tasks): by session they would never build a history.
	Renews bool
	// Automated is the ground truth: true for cron-like roles.
	Automated bool
	// Schedule describes the rhythm, for test failure messages.
	Schedule string
	APIs     []string

	identityType string
	principalID  string
	accessKeyID  string
	userName     string
	issuerARN    string
	sourceIP     string
	userAgent    string
	region       string
	rhythm       int // one of the rhythm constants; -1 for a human
}

// Event is one generated call and the index of its principal.
type Event struct {
	periodicity.Call
	Principal int
}

// Dataset is a generated set of calls, sorted by time.
type Dataset struct {
	Config     Config
	Principals []Principal
	Events     []Event
	// Burst is the planted anomaly; Pair is empty when none was planted.
	BurstPair periodicity.Pair
	BurstDay  periodicity.Day
	// BurstCalls is the pair's number of calls on the burst day before and after planting.
	BurstCalls [2]int

	seed uint64
}

// Generate builds the dataset.
func Generate(cfg Config) (*Dataset, error) {
	switch {
	case cfg.Days < 1 || cfg.Days > 3660:
		return nil, fmt.Errorf("apicalls: days %d not in 1..3660", cfg.Days)
	case cfg.CronRoles < 0 || cfg.Humans < 0 || cfg.CronRoles+cfg.Humans == 0:
		return nil, errors.New("apicalls: need at least one cron role or human")
	case cfg.Burst.Factor >= 2 && (cfg.Burst.Day < 0 || cfg.Burst.Day >= cfg.Days):
		return nil, fmt.Errorf("apicalls: burst day %d outside 0..%d", cfg.Burst.Day, cfg.Days-1)
	}
	start := cfg.Start.UTC().Truncate(24 * time.Hour)
	if _, ok := periodicity.DayOf(start); !ok {
		return nil, fmt.Errorf("apicalls: start %v outside 1970..9999", cfg.Start)
	}
	cfg.Start = start
	ds := &Dataset{Config: cfg, seed: cfg.Seed}
	for i := range cfg.CronRoles {
		ds.addCron(i)
	}
	for i := range cfg.Humans {
		ds.addHuman(i)
	}
	ds.sort()
	if cfg.Burst.Factor >= 2 {
		if err := ds.plantBurst(); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// rng gives every principal (and the burst) its own stream, so that changing the number of
// principals does not change the others' calls.
func (ds *Dataset) rng(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(ds.seed, stream))
}

func (ds *Dataset) emit(p int, api string, t time.Time) {
	t = t.Truncate(time.Second) // CloudTrail's eventTime has second precision
	end := ds.Config.Start.AddDate(0, 0, ds.Config.Days)
	if t.Before(ds.Config.Start) || !t.Before(end) {
		return
	}
	ds.Events = append(ds.Events, Event{Call: periodicity.Call{Time: t, Principal: ds.Principals[p].Key, API: api}, Principal: p})
}

func (ds *Dataset) sort() {
	slices.SortStableFunc(ds.Events, func(a, b Event) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Principal, b.Principal), cmp.Compare(a.API, b.API))
	})
}

// plantBurst multiplies one automated pair's calls on the burst day.
func (ds *Dataset) plantBurst() error {
	day, _ := periodicity.DayOf(ds.Config.Start.AddDate(0, 0, ds.Config.Burst.Day))
	counts := map[periodicity.Pair]int{}
	owner := map[periodicity.Pair]int{}
	var candidates []periodicity.Pair
	for _, e := range ds.Events {
		if d, _ := periodicity.DayOf(e.Time); d != day || !ds.Principals[e.Principal].Automated {
			continue
		}
		p := periodicity.Pair{Principal: e.Call.Principal, API: e.API}
		if counts[p] == 0 {
			candidates = append(candidates, p)
			owner[p] = e.Principal
		}
		counts[p]++
	}
	if len(candidates) == 0 {
		return fmt.Errorf("apicalls: no automated pair has calls on burst day %s", day)
	}
	slices.SortFunc(candidates, func(a, b periodicity.Pair) int {
		return cmp.Or(cmp.Compare(a.Principal, b.Principal), cmp.Compare(a.API, b.API))
	})
	r := ds.rng(1 << 40)
	p := candidates[r.IntN(len(candidates))]
	n := counts[p]
	extra := n * (ds.Config.Burst.Factor - 1)
	for range extra {
		ds.emit(owner[p], p.API, day.Time().Add(time.Duration(r.Int64N(int64(24*time.Hour)))))
	}
	ds.BurstPair, ds.BurstDay, ds.BurstCalls = p, day, [2]int{n, n + extra}
	ds.sort()
	return nil
}

// Calls returns the calls in time order.
func (ds *Dataset) Calls() []periodicity.Call {
	calls := make([]periodicity.Call, len(ds.Events))
	for i, e := range ds.Events {
		calls[i] = e.Call
	}
	return calls
}

// Automated reports the ground truth for a pair: whether its principal is a cron-like role.
func (ds *Dataset) Automated(p periodicity.Pair) bool {
	for i := range ds.Principals {
		if ds.Principals[i].Key == p.Principal {
			return ds.Principals[i].Automated
		}
	}
	return false
}

// Day returns the day with index i (0 is Config.Start).
func (ds *Dataset) Day(i int) periodicity.Day {
	d, _ := periodicity.DayOf(ds.Config.Start.AddDate(0, 0, i))
	return d
}
