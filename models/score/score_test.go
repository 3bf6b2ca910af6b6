package score

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/identity"
)

// fixture is a model trained on a small organisation scenario, and one of its principals with
// a network it uses.
type fixture struct {
	model     *ipanomaly.Model
	principal string // a principalId as CloudTrail writes it (role ID + session)
	familiar  netip.Addr
}

var fixtures sync.Map // dim -> *fixture

func trained(t testing.TB, dim int) *fixture {
	t.Helper()
	if f, ok := fixtures.Load(dim); ok {
		return f.(*fixture)
	}
	cfg := ipnet.DefaultOrgConfig()
	cfg.Orgs, cfg.Members, cfg.Days, cfg.TrainDays = 4, 15, 15, 14
	data, err := ipnet.Org(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ds := ipanomaly.NewDataset()
	f := &fixture{}
	for i := range data.Train {
		e := &data.Train[i]
		if f.principal == "" && e.Identity.Type == "AssumedRole" && e.Source == ipnet.SourceService {
			f.principal, f.familiar = e.Principal(), e.IP
		}
		if err := ds.Add(identity.Principal{ID: e.Identity.PrincipalID, Account: e.Identity.AccountID}, e.IP, e.Time); err != nil {
			t.Fatal(err)
		}
	}
	mc := ipanomaly.DefaultConfig()
	mc.Embedding.VectorDim = dim
	if f.model, err = ipanomaly.Train(context.Background(), ds, mc, nil); err != nil {
		t.Fatal(err)
	}
	fixtures.Store(dim, f)
	return f
}

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newBundle(t testing.TB, m *ipanomaly.Model, seq uint16) *bundle.Bundle {
	t.Helper()
	b, err := bundle.New(bundle.Header{
		Version:   bundle.Version{Time: t0, Seq: seq},
		TrainedAt: t0.Add(-time.Hour), WindowStart: t0.AddDate(0, 0, -14), WindowEnd: t0,
	}, bundle.IPPart(m))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cloudTrail(principal, source string) *ecs.Record {
	doc := &ecs.Document{User: &ecs.User{ID: principal}, Source: &ecs.Endpoint{Address: source}}
	if ip, err := netip.ParseAddr(source); err == nil {
		doc.Source.IP = ip
	}
	return &ecs.Record{Kind: ecs.KindCloudTrail, Doc: doc}
}

func guardDuty(principal, remote string, severity float64) *ecs.Record {
	rec := cloudTrail("", remote)
	rec.Kind = ecs.KindGuardDuty
	rec.Doc.User = nil
	rec.Doc.AWS = &ecs.AWS{GuardDuty: &ecs.GuardDuty{
		Severity: ecs.GuardDutySeverity{Code: ecs.Float(severity)},
		Resource: ecs.GuardDutyResource{AccessKeyDetails: ecs.AccessKeyDetails{PrincipalID: principal}},
	}}
	return rec
}

func TestModelStatus(t *testing.T) {
	f := trained(t, 16)
	s := New()
	rec := cloudTrail(f.principal, f.familiar.String())
	s.Score(rec)
	if rec.Doc.SiemScore.Model.Status != ecs.ModelUntrained || rec.Doc.SiemScore.IP.Status != "" || rec.Doc.Event.RiskScoreNorm.Set {
		t.Errorf("no bundle: %+v", rec.Doc.SiemScore)
	}
	if err := s.Load(newBundle(t, f.model, 1)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []ecs.Kind{ecs.KindGeneric, ecs.Kind(200)} {
		gen := &ecs.Record{Kind: k, Doc: &ecs.Document{}}
		s.Score(gen)
		if gen.Doc.SiemScore.Model != (ecs.ModelInfo{Status: ecs.ModelNoModel}) {
			t.Errorf("%v: model = %+v", k, gen.Doc.SiemScore.Model)
		}
	}
	s.Score(rec)
	m := rec.Doc.SiemScore.Model
	if m.Status != ecs.ModelScored || m.Version != "20250601T120000Z.0001" || !m.TrainedAt.V.Equal(t0.Add(-time.Hour)) {
		t.Errorf("scored: model = %+v", m)
	}
	s.Score(&ecs.Record{Kind: ecs.KindCloudTrail}) // nil document: nothing to do, no panic
}

func TestCloudTrailIPScore(t *testing.T) {
	f := trained(t, 16)
	s := New()
	s.Load(newBundle(t, f.model, 1))

	familiar := cloudTrail(f.principal, f.familiar.String())
	s.Score(familiar)
	ip := familiar.Doc.SiemScore.IP
	entity := identity.Parse(f.principal).ID
	if ip.Status != ecs.PartScored || ip.Entity != entity || !ip.Score.Set || !ip.ScoreNorm.Set {
		t.Fatalf("familiar: %+v", ip)
	}
	if slices.Contains(ip.Reasons, "ip_new_for_principal") || ip.ScoreNorm.V > 25 {
		t.Errorf("a principal's usual address: score %.1f reasons %v", ip.ScoreNorm.V, ip.Reasons)
	}
	ev := familiar.Doc.Event
	if ev.RiskScoreNorm != ecs.Float(ip.ScoreNorm.V) || ev.RiskScore.Set {
		t.Errorf("risk = %+v/%+v, want the IP score as the normalised risk only", ev.RiskScore, ev.RiskScoreNorm)
	}

	foreign := cloudTrail(f.principal, "203.0.113.77")
	s.Score(foreign)
	fip := foreign.Doc.SiemScore.IP
	if fip.ScoreNorm.V < 25 || fip.ScoreNorm.V < ip.ScoreNorm.V+25 || !slices.Contains(fip.Reasons, "network_never_seen") {
		t.Errorf("never-seen network: score %.1f %s reasons %v", fip.ScoreNorm.V, fip.Severity, fip.Reasons)
	}
	if fip.Score.V <= ip.Score.V {
		t.Errorf("raw anomaly must be higher for the foreign address: %v <= %v", fip.Score.V, ip.Score.V)
	}

	for _, tc := range []struct{ principal, source, reason string }{
		{f.principal, "ec2.amazonaws.com", ReasonSourceAWSService},
		{f.principal, "Lambda.AmazonAWS.com", ReasonSourceAWSService},
		{f.principal, "AWS Internal", ReasonSourceNotIP},
		{f.principal, "", ReasonSourceMissing},
		{"", "192.0.2.1", ReasonPrincipalMissing},
	} {
		rec := cloudTrail(tc.principal, tc.source)
		rec.Doc.Event.RiskScoreNorm = ecs.Float(42) // a processor's value must survive
		s.Score(rec)
		got := rec.Doc.SiemScore.IP
		if got.Status != ecs.PartUnscored || !slices.Equal(got.Reasons, []string{tc.reason}) || got.ScoreNorm.Set {
			t.Errorf("%q from %q: %+v, want unscored %s", tc.principal, tc.source, got, tc.reason)
		}
		if rec.Doc.Event.RiskScoreNorm != ecs.Float(42) {
			t.Errorf("%q from %q: risk changed to %+v", tc.principal, tc.source, rec.Doc.Event.RiskScoreNorm)
		}
	}
	// Scoring twice gives the same document (a retried chunk is re-scored).
	again := *foreign.Doc
	s.Score(&ecs.Record{Kind: ecs.KindCloudTrail, Doc: &again})
	if !slices.Equal(again.SiemScore.IP.Reasons, fip.Reasons) || again.SiemScore.IP.ScoreNorm != fip.ScoreNorm {
		t.Error("re-scoring changed the result")
	}
}

func TestUnknownPrincipal(t *testing.T) {
	f := trained(t, 16)
	s := New()
	s.Load(newBundle(t, f.model, 1))
	// An unknown principal is scored by what the model knows of the address: an address the
	// organisation uses is less anomalous than one nobody has used. (Without its own history
	// the model is less sure either way: a newcomer at a new network is only a few decades
	// rarer than normal traffic, not critical.)
	known := cloudTrail("AIDANEVERSEENBEFORE0", f.familiar.String())
	never := cloudTrail("AIDANEVERSEENBEFORE0", "203.0.113.77")
	s.Score(known)
	s.Score(never)
	k, n := known.Doc.SiemScore.IP, never.Doc.SiemScore.IP
	if !slices.Contains(k.Reasons, "principal_unknown") || k.Status != ecs.PartScored {
		t.Fatalf("unknown principal: %+v", k)
	}
	if !(k.ScoreNorm.V+5 < n.ScoreNorm.V) || !slices.Contains(n.Reasons, "network_never_seen") {
		t.Errorf("unknown principal: org network scores %.1f, never-seen network %.1f", k.ScoreNorm.V, n.ScoreNorm.V)
	}
}

func TestGuardDutyFusion(t *testing.T) {
	f := trained(t, 16)
	s := New()
	s.Load(newBundle(t, f.model, 1))
	for _, tc := range []struct {
		remote   string
		severity float64
		reasons  []string
	}{
		{f.familiar.String(), 5, []string{ReasonIPFused}},
		{"203.0.113.77", 5, []string{ReasonIPFused}},
		{f.familiar.String(), 9.5, []string{ReasonIPFused}},
		{"AWS Internal", 6, []string{ReasonIPUnscored}},
	} {
		rec := guardDuty(f.principal, tc.remote, tc.severity)
		s.Score(rec)
		gd, ip, ev := rec.Doc.SiemScore.GuardDuty, rec.Doc.SiemScore.IP, rec.Doc.Event
		if gd.Status != ecs.PartScored || !slices.Equal(gd.Reasons, tc.reasons) || gd.SeverityNorm != ecs.Float(10*tc.severity) {
			t.Errorf("%s sev %v: %+v", tc.remote, tc.severity, gd)
		}
		want := 10 * tc.severity
		if ip.Status == ecs.PartScored {
			want = FuseGuardDuty(tc.severity, ip.ScoreNorm.V)
		}
		if !near(gd.ScoreNorm, want) || gd.Severity != ecs.SeverityBand(want) || (tc.severity >= 9 && want < 75) {
			t.Errorf("%s sev %v: fused %+v, want %v", tc.remote, tc.severity, gd.ScoreNorm, want)
		}
		// GuardDuty keeps its own severity as risk_score; the fused score is the normalised risk.
		if ev.RiskScore != ecs.Float(tc.severity) || ev.RiskScoreNorm != gd.ScoreNorm {
			t.Errorf("%s sev %v: risk %+v / %+v", tc.remote, tc.severity, ev.RiskScore, ev.RiskScoreNorm)
		}
	}
	rec := guardDuty(f.principal, "203.0.113.77", 0)
	rec.Doc.AWS.GuardDuty.Severity = ecs.GuardDutySeverity{}
	s.Score(rec)
	if gd := rec.Doc.SiemScore.GuardDuty; gd.Status != ecs.PartUnscored || !slices.Equal(gd.Reasons, []string{ReasonSeverityMissing}) || rec.Doc.Event.RiskScoreNorm.Set {
		t.Errorf("finding without severity: %+v", gd)
	}
}

func TestFuseGuardDutyProperties(t *testing.T) {
	for s := 0.0; s <= 10; s += 0.25 {
		prev := -1.0
		for a := 0.0; a <= 100; a += 2.5 {
			v := FuseGuardDuty(s, a)
			if v < 0 || v > 100 || v < prev {
				t.Fatalf("FuseGuardDuty(%v, %v) = %v after %v: must be in [0,100] and non-decreasing in the IP score", s, a, v, prev)
			}
			if s >= 0.25 && v < FuseGuardDuty(s-0.25, a) {
				t.Fatalf("FuseGuardDuty not non-decreasing in severity at (%v, %v)", s, a)
			}
			prev = v
		}
	}
	// The neutral IP score leaves the severity as it is (within the clamp).
	for _, s := range []float64{0.5, 2, 5, 8} {
		if got := FuseGuardDuty(s, fuseNeutral); math.Abs(got-10*s) > 1e-9 {
			t.Errorf("FuseGuardDuty(%v, neutral) = %v, want %v", s, got, 10*s)
		}
	}
	if FuseGuardDuty(9, 0) < 75 {
		t.Error("GuardDuty's critical band (9-10) must stay in ours whatever the IP score")
	}
	if FuseGuardDuty(5, 0) >= 50 || FuseGuardDuty(5, 100) < 75 {
		t.Errorf("a familiar address must lower a medium finding (%v), a foreign one raise it to critical (%v)", FuseGuardDuty(5, 0), FuseGuardDuty(5, 100))
	}
	if !math.IsNaN(FuseGuardDuty(math.NaN(), 1)) || !math.IsNaN(FuseGuardDuty(1, math.NaN())) {
		t.Error("NaN must propagate")
	}
}

func TestBundleWithoutIPSection(t *testing.T) {
	b, err := bundle.New(bundle.Header{Version: bundle.Version{Time: t0}, TrainedAt: t0, WindowStart: t0, WindowEnd: t0})
	if err != nil {
		t.Fatal(err)
	}
	s := New()
	s.Load(b)
	rec := cloudTrail("AIDAX", "192.0.2.1")
	s.Score(rec)
	if ip := rec.Doc.SiemScore.IP; ip.Status != ecs.PartUnscored || !slices.Equal(ip.Reasons, []string{ReasonModelSectionAbsent}) {
		t.Errorf("%+v", ip)
	}
}

func TestLoadNeverGoesBackwards(t *testing.T) {
	f := trained(t, 16)
	s := New()
	if err := s.Load(newBundle(t, f.model, 5)); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint16{5, 4} {
		if err := s.Load(newBundle(t, f.model, seq)); !errors.Is(err, ErrNotNewer) {
			t.Errorf("loading version seq %d over 5: %v", seq, err)
		}
	}
	if err := s.Load(nil); err == nil {
		t.Error("nil bundle accepted")
	}
	if s.Bundle().Version().Seq != 5 {
		t.Error("a refused load changed the bundle")
	}
}

// Swapping bundles while records are being scored: every record carries the version of the
// bundle that scored it, and its score is that bundle's (never a mix).
func TestSwapScoresEachRecordWithOneVersion(t *testing.T) {
	f := trained(t, 16)
	other := trained(t, 8) // a different model, so versions are distinguishable by score
	s := New()
	bundles := map[string]*ipanomaly.Model{}
	var mu sync.Mutex
	load := func(m *ipanomaly.Model, seq uint16) {
		b := newBundle(t, m, seq)
		mu.Lock()
		bundles[b.VersionString()] = m
		mu.Unlock()
		if err := s.Load(b); err != nil {
			t.Error(err)
		}
	}
	load(f.model, 1)
	entity := identity.Record(f.principal, "", "")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				rec := cloudTrail(f.principal, "198.51.100.9")
				s.Score(rec)
				mu.Lock()
				m := bundles[rec.Doc.SiemScore.Model.Version]
				mu.Unlock()
				want, _ := m.Score(entity, netip.MustParseAddr("198.51.100.9"))
				if !near(rec.Doc.SiemScore.IP.Score, want.Raw) {
					t.Error("a record's score does not match the version it names")
					return
				}
			}
		})
	}
	for seq := uint16(2); seq < 200; seq++ {
		m := f.model
		if seq%2 == 0 {
			m = other.model
		}
		load(m, seq)
	}
	close(stop)
	wg.Wait()
}

func TestIPPairOf(t *testing.T) {
	ct := cloudTrail("AROAEXAMPLE:alice@example.com", "::ffff:192.0.2.1")
	p, reason := IPPairOf(ecs.KindCloudTrail, ct.Doc)
	if reason != "" || p.Principal.ID != "AROAEXAMPLE" || p.IP != netip.MustParseAddr("::ffff:192.0.2.1") {
		t.Errorf("CloudTrail pair %+v %q", p, reason)
	}
	gd := guardDuty("AIDAEXAMPLE", "2001:db8::1", 5)
	if p, reason := IPPairOf(ecs.KindGuardDuty, gd.Doc); reason != "" || p.Principal.ID != "AIDAEXAMPLE" || !p.IP.Is6() {
		t.Errorf("GuardDuty pair %+v %q", p, reason)
	}
	gd.Doc.AWS = nil
	if _, reason := IPPairOf(ecs.KindGuardDuty, gd.Doc); reason != ReasonPrincipalMissing {
		t.Errorf("GuardDuty without details: %q", reason)
	}
	if _, reason := IPPairOf(ecs.KindKerberos, &ecs.Document{}); reason != ReasonNotApplicable {
		t.Errorf("Kerberos: %q", reason)
	}
	noUser := cloudTrail("", "192.0.2.1")
	noUser.Doc.User = nil
	if _, reason := IPPairOf(ecs.KindCloudTrail, noUser.Doc); reason != ReasonPrincipalMissing {
		t.Errorf("no user: %q", reason)
	}
	if testing.AllocsPerRun(100, func() { IPPairOf(ecs.KindCloudTrail, ct.Doc) }) != 0 {
		t.Error("IPPairOf allocates")
	}
	// The identity rule (processors/identity): a user ARN is kept whole with its account, an
	// assumed-role ARN without a principal ID is its role.
	withARN := cloudTrail("", "192.0.2.1")
	withARN.Doc.User = nil
	withARN.Doc.AWS = &ecs.AWS{CloudTrail: &ecs.CloudTrail{UserIdentity: ecs.UserIdentity{ARN: "arn:aws:sts::123456789012:assumed-role/Deploy/i-0abc"}}}
	if p, reason := IPPairOf(ecs.KindCloudTrail, withARN.Doc); reason != "" || p.Principal != (identity.Principal{ID: "arn:aws:iam::123456789012:role/Deploy", Account: "123456789012"}) {
		t.Errorf("assumed-role ARN: %+v %q", p, reason)
	}
}

// process routes JSON-lines records through the processors as the plugin does.
func process(lines io.Reader) ([]ecs.Record, error) {
	proc, err := processors.New(processors.Options{})
	if err != nil {
		return nil, err
	}
	var recs []ecs.Record
	dec := json.NewDecoder(lines)
	for dec.More() {
		var body map[string]any
		if err := dec.Decode(&body); err != nil {
			return nil, err
		}
		recs = proc.Append(recs, body, time.Time{})
	}
	return recs, nil
}

// near reports whether o holds want to the Digits significant digits the scorer writes.
func near(o ecs.OptFloat, want float64) bool {
	return o.Set && math.Abs(o.V-want) <= 5e-6*math.Abs(want)
}
