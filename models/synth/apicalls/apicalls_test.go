package apicalls

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/processors/identity"
)

func generate(t *testing.T, cfg Config) *Dataset {
	t.Helper()
	ds, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func digest(t *testing.T, ds *Dataset) [32]byte {
	t.Helper()
	var b bytes.Buffer
	if err := ds.WriteCloudTrail(&b); err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b.Bytes())
}

func small(seed uint64) Config {
	cfg := DefaultConfig(seed)
	cfg.Days, cfg.CronRoles, cfg.Humans, cfg.Burst.Day = 21, 12, 6, 16
	return cfg
}

func TestDeterministic(t *testing.T) {
	a, b := generate(t, small(7)), generate(t, small(7))
	if digest(t, a) != digest(t, b) {
		t.Error("the same seed produced different records")
	}
	if digest(t, a) == digest(t, generate(t, small(8))) {
		t.Error("different seeds produced the same records")
	}
	// Adding principals does not change the existing ones' calls.
	more := small(7)
	more.Humans++
	c := generate(t, more)
	n := 0
	for _, e := range c.Events {
		if e.Principal < len(a.Principals) {
			n++
		}
	}
	if n != len(a.Events) {
		t.Errorf("one more human changed the others' calls: %d vs %d", n, len(a.Events))
	}
}

func TestRhythms(t *testing.T) {
	ds := generate(t, small(3))
	if !slices.IsSortedFunc(ds.Events, func(a, b Event) int { return a.Time.Compare(b.Time) }) {
		t.Fatal("events are not in time order")
	}
	perDay := map[int]map[periodicity.Day]int{}
	for _, e := range ds.Events {
		d, _ := periodicity.DayOf(e.Time)
		if perDay[e.Principal] == nil {
			perDay[e.Principal] = map[periodicity.Day]int{}
		}
		perDay[e.Principal][d]++
	}
	for i, p := range ds.Principals {
		days := perDay[i]
		weekend := 0
		for d := range days {
			if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
				weekend++
			}
		}
		bad := false
		switch p.rhythm {
		case rhythmBusinessHours, rhythmWeekdays:
			bad = weekend != 0 || len(days) < 3*5-1
		case rhythmInterval, rhythmDaily, rhythmWeekendSlow:
			bad = len(days) < ds.Config.Days-1 // a missed run is rare
		case rhythmWeekly:
			bad = len(days) < 2 || len(days) > 3
		default:
			bad = p.Automated || len(days) == 0 || weekend > len(days)/2
		}
		if bad {
			t.Errorf("%s (%s) called on %d of %d days, %d at weekends", p.ARN, p.Schedule, len(days), ds.Config.Days, weekend)
		}
	}
}

func TestBurstIsPlanted(t *testing.T) {
	ds := generate(t, small(5))
	if ds.BurstPair.Principal == "" || !ds.Automated(ds.BurstPair) || ds.BurstDay != ds.Day(16) {
		t.Fatalf("burst on %v day %v", ds.BurstPair, ds.BurstDay)
	}
	n := 0
	for _, c := range ds.Calls() {
		if d, _ := periodicity.DayOf(c.Time); d == ds.BurstDay && c.Principal == ds.BurstPair.Principal && c.API == ds.BurstPair.API {
			n++
		}
	}
	if before, after := ds.BurstCalls[0], ds.BurstCalls[1]; before < 1 || after != 10*before || n != after {
		t.Errorf("burst pair has %d calls that day, recorded %d -> %d", n, before, after)
	}
	none := small(5)
	none.Burst.Factor = 0
	if ds := generate(t, none); ds.BurstPair != (periodicity.Pair{}) {
		t.Errorf("burst planted with factor 0: %v", ds.BurstPair)
	}
}

func TestCloudTrailRecord(t *testing.T) {
	ds := generate(t, small(1))
	for _, i := range []int{0, len(ds.Events) / 2, len(ds.Events) - 1} {
		b, err := ds.CloudTrailRecord(i)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			EventTime    time.Time `json:"eventTime"`
			EventName    string    `json:"eventName"`
			EventSource  string    `json:"eventSource"`
			EventID      string    `json:"eventID"`
			UserIdentity struct {
				Type           string `json:"type"`
				ARN            string `json:"arn"`
				AccountID      string `json:"accountId"`
				SessionContext *struct {
					SessionIssuer struct {
						ARN string `json:"arn"`
					} `json:"sessionIssuer"`
				} `json:"sessionContext"`
			} `json:"userIdentity"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatalf("record %d: %v\n%s", i, err, b)
		}
		e := ds.Events[i]
		if !rec.EventTime.Equal(e.Time) || rec.EventName != e.API || identity.Parse(rec.UserIdentity.ARN).ID != e.Call.Principal ||
			!strings.HasSuffix(rec.EventSource, ".amazonaws.com") || len(rec.EventID) != 36 ||
			!strings.Contains(rec.UserIdentity.ARN, rec.UserIdentity.AccountID) {
			t.Errorf("record %d does not carry event %+v:\n%s", i, e, b)
		}
		if (rec.UserIdentity.Type == "AssumedRole") != (rec.UserIdentity.SessionContext != nil) {
			t.Errorf("record %d: %s identity with session context %v", i, rec.UserIdentity.Type, rec.UserIdentity.SessionContext)
		}
	}
	if _, err := ds.CloudTrailRecord(len(ds.Events)); err == nil {
		t.Error("out-of-range event accepted")
	}
}

// A role that renews its session every run shows a new session name on every day's records,
// all of them the role under the identity rule.
func TestRenewingRolesChangeSessionDaily(t *testing.T) {
	ds := generate(t, small(1))
	sessions, days := map[int]map[string]bool{}, map[int]map[periodicity.Day]bool{}
	for i, e := range ds.Events {
		if !ds.Principals[e.Principal].Renews {
			continue
		}
		b, err := ds.CloudTrailRecord(i)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			UserIdentity struct {
				ARN         string `json:"arn"`
				PrincipalID string `json:"principalId"`
			} `json:"userIdentity"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		if identity.Parse(rec.UserIdentity.ARN).ID != e.Call.Principal || identity.SessionOf(rec.UserIdentity.PrincipalID) != identity.SessionOf(rec.UserIdentity.ARN) {
			t.Fatalf("event %d of %s: record identity %+v", i, e.Call.Principal, rec.UserIdentity)
		}
		if sessions[e.Principal] == nil {
			sessions[e.Principal], days[e.Principal] = map[string]bool{}, map[periodicity.Day]bool{}
		}
		sessions[e.Principal][rec.UserIdentity.ARN] = true
		d, _ := periodicity.DayOf(e.Time)
		days[e.Principal][d] = true
	}
	if len(sessions) == 0 {
		t.Fatal("no role renews its session")
	}
	for p, s := range sessions {
		if len(s) != len(days[p]) {
			t.Errorf("%s: %d sessions on %d days with calls", ds.Principals[p].Key, len(s), len(days[p]))
		}
	}
}

func TestEveryAPIHasASource(t *testing.T) {
	for _, api := range append(append([]string{}, cronAPIs...), humanAPIs...) {
		if eventSources[api] == "" {
			t.Errorf("%s has no eventSource", api)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, mutate := range []func(*Config){
		func(c *Config) { c.Days = 0 },
		func(c *Config) { c.CronRoles, c.Humans = 0, 0 },
		func(c *Config) { c.Burst.Day = c.Days },
		func(c *Config) { c.Start = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		cfg := small(1)
		mutate(&cfg)
		if _, err := Generate(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
