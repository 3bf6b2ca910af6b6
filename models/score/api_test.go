package score

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/synth/apicalls"
	"github.com/siemscore/siemscore/processors/ecs"
)

// apiFixture is sixteen weeks of generated CloudTrail (cron roles, people, a 10x burst on an
// automated pair in the last week) parsed from CloudTrail JSON by the processors exactly as the
// plugin would, and a periodicity model trained on the first twelve weeks of the parsed
// records.
type apiFixture struct {
	data    *apicalls.Dataset
	records []ecs.Record
	split   int // index of the first scored (week 13) record
	model   *periodicity.Model
}

const apiTrainDays = 84

var apiOnce = sync.OnceValues(func() (*apiFixture, error) {
	cfg := apicalls.DefaultConfig(11)
	cfg.CronRoles, cfg.Humans = 6, 8
	d, err := apicalls.Generate(cfg)
	if err != nil {
		return nil, err
	}
	var lines bytes.Buffer
	if err := d.WriteCloudTrail(&lines); err != nil {
		return nil, err
	}
	f := &apiFixture{data: d}
	if f.records, err = process(&lines); err != nil {
		return nil, err
	}
	cut := d.Day(apiTrainDays).Time()
	f.split = slices.IndexFunc(d.Events, func(e apicalls.Event) bool { return !e.Time.Before(cut) })
	var calls []periodicity.Call
	for _, rec := range f.records[:f.split] {
		if call, reason := APICallOf(rec.Doc, false); reason == "" {
			calls = append(calls, call)
		}
	}
	c := periodicity.NewCounts()
	c.AddCalls(calls)
	f.model, err = periodicity.Train(c, periodicity.Window{First: d.Day(0), Last: d.Day(apiTrainDays - 1)}, periodicity.DefaultConfig())
	return f, err
})

func apiFixtureOf(t *testing.T) *apiFixture {
	t.Helper()
	f, err := apiOnce()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.records) != len(f.data.Events) {
		t.Fatalf("%d records from %d CloudTrail lines", len(f.records), len(f.data.Events))
	}
	return f
}

func apiBundle(t testing.TB, m *periodicity.Model, seq uint16) *bundle.Bundle {
	t.Helper()
	b, err := bundle.New(krbHeader(seq), bundle.PeriodicityPart(m))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAPICallsFromProcessedRecords(t *testing.T) {
	f := apiFixtureOf(t)
	for i, rec := range f.records {
		call, reason := APICallOf(rec.Doc, false)
		if rec.Kind != ecs.KindCloudTrail || reason != "" || call != f.data.Events[i].Call {
			t.Fatalf("record %d (%v): call %+v (%q), generated %+v", i, rec.Kind, call, reason, f.data.Events[i].Call)
		}
	}
	// Training on the parsed records is training on the generated calls.
	c := periodicity.NewCounts()
	c.AddCalls(f.data.Calls()[:f.split])
	direct, err := periodicity.Train(c, f.model.Window(), periodicity.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := direct.AppendBinary(nil)
	b, _ := f.model.AppendBinary(nil)
	if !bytes.Equal(a, b) {
		t.Error("the model trained from processed records differs from the one trained on the calls")
	}
}

func TestAPIRecordsEndToEnd(t *testing.T) {
	f := apiFixtureOf(t)
	s := New()
	if err := s.Load(apiBundle(t, f.model, 1)); err != nil {
		t.Fatal(err)
	}
	type pairDay struct {
		periodicity.Pair
		periodicity.Day
	}
	counts := map[pairDay]int64{}
	var last *ecs.Record // the burst pair's last record of the burst day
	var normalMax float64
	test := f.records[f.split:]
	for i := range test {
		if i == len(test)/3 {
			// A model swap mid-stream keeps every pair's count for the day.
			if err := s.Load(apiBundle(t, f.model, 2)); err != nil {
				t.Fatal(err)
			}
		}
		rec := clone(test[i])
		s.Score(rec)
		call, _ := APICallOf(rec.Doc, false)
		day, _ := periodicity.DayOf(call.Time)
		key := pairDay{periodicity.Pair{Principal: call.Principal, API: call.API}, day}
		counts[key]++
		a := &rec.Doc.SiemScore.API
		if a.DayCount != ecs.Int(counts[key]) {
			t.Fatalf("record %d: day_count %+v, counted %d", i, a.DayCount, counts[key])
		}
		stats, known := f.model.Lookup(call.Principal, call.API)
		switch {
		case !known:
			if a.Status != ecs.PartUnscored || !slices.Equal(a.Reasons, []string{"api_pair_unknown"}) || a.VolumeZ.Set {
				t.Fatalf("record %d of an unknown pair: %+v", i, a)
			}
			continue
		case a.Status != ecs.PartScored:
			t.Fatalf("record %d of known pair %v not scored: %+v", i, key.Pair, a)
		case a.Automated != ecs.Bool(stats.Automated()) || a.Severity != ecs.SeverityBand(a.ScoreNorm.V):
			t.Fatalf("record %d: automated %+v (model %v), severity %q for %v", i, a.Automated, stats.Automated(), a.Severity, a.ScoreNorm.V)
		case !rec.Doc.Event.RiskScoreNorm.Set || rec.Doc.Event.RiskScoreNorm.V < a.ScoreNorm.V:
			t.Fatalf("record %d: risk %+v below the API score %v", i, rec.Doc.Event.RiskScoreNorm, a.ScoreNorm.V)
		}
		if key.Pair == f.data.BurstPair && day == f.data.BurstDay {
			last = rec
		} else if f.data.Automated(key.Pair) {
			normalMax = max(normalMax, a.VolumeZ.V)
		}
	}
	if last == nil {
		t.Fatal("no record of the burst")
	}
	a := &last.Doc.SiemScore.API
	t.Logf("burst %v: day_count %d, expected %.0f, volume_z %.1f, score_norm %.1f (%s), reasons %v; normal automated days max z %.2f",
		f.data.BurstPair, a.DayCount.V, a.Expected.V, a.VolumeZ.V, a.ScoreNorm.V, a.Severity, a.Reasons, normalMax)
	if a.DayCount.V != int64(f.data.BurstCalls[1]) || a.VolumeZ.V < 5 || a.ScoreNorm.V < 75 ||
		a.Automated != ecs.Bool(true) || !slices.Contains(a.Reasons, "api_volume_high") || last.Doc.Event.RiskScoreNorm.V < a.ScoreNorm.V {
		t.Errorf("burst scored %+v, risk %+v", a, last.Doc.Event.RiskScoreNorm)
	}
	if normalMax >= 3 {
		t.Errorf("a normal day of an automated pair reached volume_z %.2f", normalMax)
	}
}

func TestAPIWithoutModelSectionStillCounts(t *testing.T) {
	f := apiFixtureOf(t)
	s := New()
	empty, err := bundle.New(krbHeader(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(empty); err != nil {
		t.Fatal(err)
	}
	p := f.data.BurstPair
	rec := func(at time.Time) *ecs.Record {
		doc := &ecs.Document{Timestamp: at, Event: ecs.Event{Action: p.API},
			AWS: &ecs.AWS{CloudTrail: &ecs.CloudTrail{UserIdentity: ecs.UserIdentity{ARN: p.Principal}}}}
		return &ecs.Record{Kind: ecs.KindCloudTrail, Doc: doc}
	}
	at := f.data.BurstDay.Time().Add(time.Hour)
	for range 4 {
		r := rec(at)
		s.Score(r)
		if a := r.Doc.SiemScore.API; a.Status != ecs.PartUnscored || !slices.Equal(a.Reasons, []string{ReasonModelSectionAbsent}) {
			t.Fatalf("without a periodicity section: %+v", a)
		}
	}
	if err := s.Load(apiBundle(t, f.model, 2)); err != nil {
		t.Fatal(err)
	}
	r := rec(at.Add(time.Minute))
	s.Score(r)
	if a := r.Doc.SiemScore.API; a.DayCount != ecs.Int(5) || a.Status != ecs.PartScored {
		t.Errorf("after loading the model the day's count continues: %+v", a)
	}
}

func TestAPICallOf(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	withARN := &ecs.Document{Timestamp: at, Event: ecs.Event{Action: "ListUsers"}, User: &ecs.User{ID: "AIDAEXAMPLE"},
		AWS: &ecs.AWS{CloudTrail: &ecs.CloudTrail{UserIdentity: ecs.UserIdentity{ARN: "arn:aws:iam::1:user/alice"}}}}
	if call, reason := APICallOf(withARN, false); reason != "" || call != (periodicity.Call{Time: at, Principal: "arn:aws:iam::1:user/alice", API: "ListUsers"}) {
		t.Errorf("ARN: %+v %q", call, reason)
	}
	// An assumed role's sessions count as the role, unless sessions are asked for.
	session := &ecs.Document{Timestamp: at, Event: ecs.Event{Action: "ListUsers"}, User: &ecs.User{ID: "AROAEXAMPLE:i-0abc"},
		AWS: &ecs.AWS{CloudTrail: &ecs.CloudTrail{UserIdentity: ecs.UserIdentity{ARN: "arn:aws:sts::123456789012:assumed-role/Nightly/i-0abc"}}}}
	if call, _ := APICallOf(session, false); call.Principal != "arn:aws:iam::123456789012:role/Nightly" {
		t.Errorf("assumed role by role: %q", call.Principal)
	}
	if call, _ := APICallOf(session, true); call.Principal != "arn:aws:sts::123456789012:assumed-role/Nightly/i-0abc" {
		t.Errorf("assumed role by session: %q", call.Principal)
	}
	noARN := &ecs.Document{Timestamp: at, Event: ecs.Event{Action: "ListUsers"}, User: &ecs.User{ID: "AIDAEXAMPLE"}}
	if call, reason := APICallOf(noARN, false); reason != "" || call.Principal != "AIDAEXAMPLE" {
		t.Errorf("user.id fallback: %+v %q", call, reason)
	}
	if _, reason := APICallOf(&ecs.Document{Event: ecs.Event{Action: "ListUsers"}}, false); reason != ReasonPrincipalMissing {
		t.Errorf("no principal: %q", reason)
	}
	if _, reason := APICallOf(&ecs.Document{User: &ecs.User{ID: "AIDAEXAMPLE"}}, false); reason != ReasonActionMissing {
		t.Errorf("no action: %q", reason)
	}
}

func TestAPIUnscoredRecords(t *testing.T) {
	f := apiFixtureOf(t)
	s := New()
	if err := s.Load(apiBundle(t, f.model, 1)); err != nil {
		t.Fatal(err)
	}
	ct := func(doc *ecs.Document) *ecs.Record {
		return &ecs.Record{Kind: ecs.KindCloudTrail, Doc: doc}
	}
	for _, tc := range []struct {
		name string
		rec  *ecs.Record
		want string
	}{
		{"no action", ct(&ecs.Document{Timestamp: t0, User: &ecs.User{ID: "AIDAEXAMPLE"}}), ReasonActionMissing},
		{"no principal", ct(&ecs.Document{Timestamp: t0, Event: ecs.Event{Action: "ListUsers"}}), ReasonPrincipalMissing},
		{"time before 1970", ct(&ecs.Document{Timestamp: time.Unix(-86400, 0), Event: ecs.Event{Action: "ListUsers"}, User: &ecs.User{ID: "AIDAEXAMPLE"}}), ReasonTimeInvalid},
	} {
		s.Score(tc.rec)
		a := tc.rec.Doc.SiemScore.API
		if a.Status != ecs.PartUnscored || !slices.Equal(a.Reasons, []string{tc.want}) || a.DayCount.Set || tc.rec.Doc.Event.RiskScoreNorm.Set {
			t.Errorf("%s: %+v, risk %+v", tc.name, a, tc.rec.Doc.Event.RiskScoreNorm)
		}
	}
}

// BenchmarkScoreCloudTrailAPI scores parsed CloudTrail records of the scored weeks through the
// Scorer with a bundle holding the periodicity section: day counting plus the API part.
func BenchmarkScoreCloudTrailAPI(b *testing.B) {
	f, err := apiOnce()
	if err != nil {
		b.Fatal(err)
	}
	s := New()
	if err := s.Load(apiBundle(b, f.model, 1)); err != nil {
		b.Fatal(err)
	}
	recs := make([]ecs.Record, len(f.records)-f.split)
	for i := range recs {
		recs[i] = *clone(f.records[f.split+i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Score(&recs[i%len(recs)])
		i++
	}
}
