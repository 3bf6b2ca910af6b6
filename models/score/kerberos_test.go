package score

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/kerberos"
	synth "github.com/siemscore/siemscore/models/synth/kerberos"
	"github.com/siemscore/siemscore/processors/ecs"
)

// krbFixture is two days of generated domain traffic with attacks on day two, parsed from Zeek
// JSON lines by the processors exactly as the plugin would, and a Kerberos model trained on day
// one.
type krbFixture struct {
	data    *synth.Dataset
	records []ecs.Record
	day2    int // index of the first day-two record
	model   *kerberos.Model
}

var krbOnce = sync.OnceValues(func() (*krbFixture, error) {
	d, err := synth.Generate(synth.Config{Seed: 7, Duration: 48 * time.Hour, Workstations: 250, AppServers: 12,
		FileServers: 4, TerminalServers: 2, DCs: 2, Attacks: synth.StandardAttacks(24 * time.Hour)})
	if err != nil {
		return nil, err
	}
	var lines bytes.Buffer
	if err := synth.WriteZeekJSON(&lines, d.Records); err != nil {
		return nil, err
	}
	f := &krbFixture{data: d}
	if f.records, err = process(&lines); err != nil {
		return nil, err
	}
	split := d.Records[0].Time.Add(24 * time.Hour)
	f.day2 = slices.IndexFunc(d.Records, func(r synth.Record) bool { return !r.Time.Before(split) })
	reqs := d.Requests()
	f.model, err = kerberos.Train(reqs[:f.day2], kerberos.TrainConfig{K: 6, Seed: 1})
	return f, err
})

func krbFixtureOf(t *testing.T) *krbFixture {
	t.Helper()
	f, err := krbOnce()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.records) != len(f.data.Records) {
		t.Fatalf("%d records from %d Zeek lines", len(f.records), len(f.data.Records))
	}
	return f
}

func krbHeader(seq uint16) bundle.Header {
	return bundle.Header{Version: bundle.Version{Time: t0, Seq: seq}, TrainedAt: t0, WindowStart: t0.AddDate(0, 0, -1), WindowEnd: t0}
}

func krbBundle(t testing.TB, m *kerberos.Model, seq uint16) *bundle.Bundle {
	t.Helper()
	b, err := bundle.New(krbHeader(seq), bundle.KerberosPart(m))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clone gives each test its own documents: scoring writes into them.
func clone(rec ecs.Record) *ecs.Record {
	doc := *rec.Doc
	rec.Doc = &doc
	return &rec
}

func TestKerberosRecordsEndToEnd(t *testing.T) {
	f := krbFixtureOf(t)
	s := New()
	if err := s.Load(krbBundle(t, f.model, 1)); err != nil {
		t.Fatal(err)
	}
	attackers := map[netip.Addr]synth.Planted{}
	for _, p := range f.data.Planted {
		attackers[p.Host] = p
	}
	peak := map[netip.Addr]*ecs.Record{}
	var warming, scored, withFeatures int
	for i := range f.records {
		rec := clone(f.records[i])
		if rec.Kind != ecs.KindKerberos {
			t.Fatalf("record %d is %v", i, rec.Kind)
		}
		if i == len(f.records)/4 {
			// A model swap mid-stream keeps every host's window.
			if err := s.Load(krbBundle(t, f.model, 2)); err != nil {
				t.Fatal(err)
			}
		}
		s.Score(rec)
		k := &rec.Doc.SiemScore.Kerberos
		// By default only records that score above 0 carry their host's features.
		unusual := k.Status == ecs.PartScored && k.ScoreNorm.V > 0
		if has := k.Features != (ecs.KerberosFeatures{}); has != unusual || has && k.Features.Requests < 1 {
			t.Fatalf("record %d (%s, score %+v): features %+v", i, k.Status, k.ScoreNorm, k.Features)
		}
		if unusual {
			withFeatures++
		}
		if k.Status != ecs.PartScored {
			if !slices.Equal(k.Reasons, []string{ReasonWindowIncomplete}) || rec.Doc.Event.RiskScoreNorm.Set {
				t.Fatalf("record %d unscored: %+v, risk %+v", i, k, rec.Doc.Event.RiskScoreNorm)
			}
			if rec.Doc.Timestamp.Sub(f.data.Records[0].Time) > time.Hour+5*time.Minute {
				t.Fatalf("record %d at %v still warming up", i, rec.Doc.Timestamp)
			}
			warming++
			continue
		}
		scored++
		if !k.Cluster.Set || !k.ClusterSizeFraction.Set || !k.Distance.Set || k.Severity != ecs.SeverityBand(k.ScoreNorm.V) {
			t.Fatalf("record %d: incomplete score %+v", i, k)
		}
		if rec.Doc.Event.RiskScoreNorm != k.ScoreNorm || rec.Doc.Event.RiskScore.Set {
			t.Fatalf("record %d: risk %+v, kerberos score %+v", i, rec.Doc.Event.RiskScoreNorm, k.ScoreNorm)
		}
		if i >= f.day2 {
			h := rec.Doc.Source.IP
			if p := peak[h]; p == nil || k.ScoreNorm.V > p.Doc.SiemScore.Kerberos.ScoreNorm.V {
				peak[h] = rec
			}
		}
	}
	if warming == 0 || scored < len(f.records)*9/10 {
		t.Errorf("%d records warming up, %d scored of %d", warming, scored, len(f.records))
	}
	if withFeatures == 0 || withFeatures > scored/2 {
		t.Errorf("%d of %d scored records carry features", withFeatures, scored)
	}

	expect := map[synth.AttackKind][]string{
		synth.Spray:      {"distinct_clients_high", "failures_high", "preauth_failures_high", "principal_unknown_high", "failure_ratio_high"},
		synth.Kerberoast: {"distinct_services_high", "weak_cipher_services_high"},
		synth.BruteForce: {"failures_high", "preauth_failures_high", "failure_ratio_high", "requests_high"},
	}
	for h, p := range attackers {
		k := peak[h].Doc.SiemScore.Kerberos
		t.Logf("%-11s %v peaks at %.1f (%s) reasons %v", p.Kind, h, k.ScoreNorm.V, k.Severity, k.Reasons)
		if k.Severity != ecs.SeverityCritical || k.Features.Requests < 1 {
			t.Errorf("%v host %v peaks at %.1f, features %+v", p.Kind, h, k.ScoreNorm.V, k.Features)
		}
		if !slices.ContainsFunc(k.Reasons, func(r string) bool { return slices.Contains(expect[p.Kind], r) }) {
			t.Errorf("%v host %v: reasons %v name none of %v", p.Kind, h, k.Reasons, expect[p.Kind])
		}
	}
}

// With every record's features shipped, an unscored record shows its host's window too.
func TestKerberosWithoutModelSectionStillUpdatesTheState(t *testing.T) {
	f := krbFixtureOf(t)
	b, err := bundle.New(krbHeader(1))
	if err != nil {
		t.Fatal(err)
	}
	s := New(WithKerberosFeatures(FeaturesAll))
	if err := s.Load(b); err != nil {
		t.Fatal(err)
	}
	host := f.records[0].Doc.Source.IP
	var last *ecs.KerberosScore
	for i := range 200 {
		rec := clone(f.records[i])
		s.Score(rec)
		k := rec.Doc.SiemScore.Kerberos
		if k.Status != ecs.PartUnscored || !slices.Equal(k.Reasons, []string{ReasonModelSectionAbsent}) || rec.Doc.Event.RiskScoreNorm.Set {
			t.Fatalf("record %d: %+v", i, k)
		}
		if rec.Doc.Source.IP == host {
			last = &k
		}
	}
	if last == nil || last.Features == (ecs.KerberosFeatures{}) || last.Features.Requests < 2 {
		t.Errorf("host %v window not kept: %+v", host, last)
	}
}

func TestKerberosWindowMismatch(t *testing.T) {
	f := krbFixtureOf(t)
	st, err := kerberos.NewState(kerberos.StateConfig{Window: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := NewWithKerberos(st)
	if err := s.Load(krbBundle(t, f.model, 1)); err != nil {
		t.Fatal(err)
	}
	rec := clone(f.records[0])
	s.Score(rec)
	if k := rec.Doc.SiemScore.Kerberos; !slices.Equal(k.Reasons, []string{ReasonWindowMismatch}) || st.Hosts() != 1 {
		t.Errorf("%+v, %d hosts in the state", k, st.Hosts())
	}
}

func TestKerberosRecordWithoutSource(t *testing.T) {
	f := krbFixtureOf(t)
	s := New()
	if err := s.Load(krbBundle(t, f.model, 1)); err != nil {
		t.Fatal(err)
	}
	for src, want := range map[*ecs.Endpoint]string{nil: ReasonSourceMissing, {Address: "ws01.corp"}: ReasonSourceNotIP} {
		rec := &ecs.Record{Kind: ecs.KindKerberos, Doc: &ecs.Document{Source: src}}
		s.Score(rec)
		if k := rec.Doc.SiemScore.Kerberos; k.Status != ecs.PartUnscored || !slices.Equal(k.Reasons, []string{want}) || k.Features != (ecs.KerberosFeatures{}) {
			t.Errorf("source %+v: %+v", src, k)
		}
	}
}

func TestKerberosRequestOf(t *testing.T) {
	at := time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)
	src, dst := netip.MustParseAddr("10.1.0.5"), netip.MustParseAddr("10.0.0.10")
	full := &ecs.Document{
		Timestamp: at, Source: &ecs.Endpoint{IP: src}, Destination: &ecs.Endpoint{IP: dst},
		User:  &ecs.User{Name: "alice", Domain: "CORP"},
		Event: ecs.Event{Action: "AS", Outcome: "failure"},
		Zeek: &ecs.Zeek{Kerberos: &ecs.ZeekKerberos{RequestType: "TGS", Client: "alice/CORP.EXAMPLE", Service: "cifs/fs01",
			Success: ecs.Bool(true), Cipher: "rc4-hmac", Error: ecs.ZeekKerberosError{Msg: "x"}}},
	}
	got, reason := KerberosRequestOf(full)
	want := kerberos.Request{Time: at, Source: src, Dest: dst, Client: "alice/CORP.EXAMPLE", Service: "cifs/fs01",
		RequestType: "TGS", Success: true, ErrorMsg: "x", Cipher: "rc4-hmac"}
	if reason != "" || got != want {
		t.Errorf("zeek fields: %+v (%q)", got, reason)
	}
	// Without zeek.kerberos the ECS fields stand in.
	bare := *full
	bare.Zeek = nil
	got, _ = KerberosRequestOf(&bare)
	want = kerberos.Request{Time: at, Source: src, Dest: dst, Client: "alice/CORP", RequestType: "AS"}
	if got != want {
		t.Errorf("ECS fallbacks: %+v", got)
	}
}

func BenchmarkScoreKerberos(b *testing.B) {
	f, err := krbOnce()
	if err != nil {
		b.Fatal(err)
	}
	s := New()
	if err := s.Load(krbBundle(b, f.model, 1)); err != nil {
		b.Fatal(err)
	}
	recs := make([]ecs.Record, len(f.records))
	for i := range recs {
		recs[i] = *clone(f.records[i])
	}
	i := 0
	for b.Loop() {
		s.Score(&recs[i%len(recs)])
		i++
	}
}

// Every list of up to three distinct deviations, with and without rare_cluster, gets its own
// reasons in order, and the same list again is the shared one.
func TestKerberosReasonsEveryList(t *testing.T) {
	dev := func(f kerberos.Feature, high bool) kerberos.Deviation {
		if high {
			return kerberos.Deviation{Feature: f, Z: 3}
		}
		return kerberos.Deviation{Feature: f, Z: -3}
	}
	name := func(d kerberos.Deviation) string {
		if d.Z > 0 {
			return d.Feature.String() + "_high"
		}
		return d.Feature.String() + "_low"
	}
	var lists [][]kerberos.Deviation
	var extend func(l []kerberos.Deviation)
	extend = func(l []kerberos.Deviation) {
		lists = append(lists, l)
		if len(l) == kerberos.TopDeviations {
			return
		}
		for f := range kerberos.Feature(kerberos.NumFeatures) {
			if slices.ContainsFunc(l, func(d kerberos.Deviation) bool { return d.Feature == f }) {
				continue
			}
			for _, high := range []bool{false, true} {
				extend(append(slices.Clone(l), dev(f, high)))
			}
		}
	}
	extend(nil)
	seen := map[string]bool{}
	for _, l := range lists {
		for _, rare := range []bool{false, true} {
			var want []string
			for _, d := range l {
				want = append(want, name(d))
			}
			if rare {
				want = append(want, "rare_cluster")
			}
			got := kerberosReasons(l, rare)
			if len(want) > 0 && !slices.Equal(got, want) || len(want) == 0 && len(got) != 0 {
				t.Fatalf("reasons of %v (rare %v) = %v, want %v", l, rare, got, want)
			}
			if cap(got) != len(got) || len(got) > 0 && &kerberosReasons(l, rare)[0] != &got[0] {
				t.Fatalf("reasons of %v (rare %v): not the shared, clipped list", l, rare)
			}
			seen[strings.Join(want, ",")] = true
		}
	}
	if len(seen) != 2*len(lists) {
		t.Errorf("%d distinct lists for %d inputs", len(seen), 2*len(lists))
	}
}
