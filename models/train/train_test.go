package train_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	synthkrb "github.com/siemscore/siemscore/models/synth/kerberos"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/identity"
	"github.com/siemscore/siemscore/processors/input"
)

// smallOrg is a two-organisation month of CloudTrail activity.
func smallOrg(t *testing.T) *ipnet.Dataset {
	t.Helper()
	cfg := ipnet.DefaultOrgConfig()
	cfg.Orgs, cfg.Members = 2, 6
	ds, err := ipnet.Org(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// process parses rendered records as the CLI does and hands each to add.
func process(t *testing.T, text []byte, add func(*ecs.Record)) {
	t.Helper()
	proc, err := processors.New(processors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := input.NewReader(bytes.NewReader(text), "test")
	if err != nil {
		t.Fatal(err)
	}
	var recs []ecs.Record
	for it := range rd.All() {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		recs = proc.Append(recs[:0], it.Body, time.Unix(0, 0))
		for i := range recs {
			add(&recs[i])
		}
	}
}

// fastConfig trains quickly: the tests check the plumbing, the models' own tests their quality.
func fastConfig() train.Config {
	cfg := train.DefaultConfig()
	cfg.IP.Embedding.Epochs, cfg.IP.Embedding.VectorDim = 1, 8
	cfg.Kerberos.K = 3
	cfg.Now = func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }
	return cfg
}

const noTimeCall = `{"eventVersion":"1.09","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEEXAMPLE02","arn":"arn:aws:iam::123456789012:user/bob","accountId":"123456789012"}}`

const awsServiceCall = `{"eventVersion":"1.09","eventTime":"2025-03-05T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"autoscaling.amazonaws.com","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEEXAMPLE01:session","arn":"arn:aws:sts::123456789012:assumed-role/r/session","accountId":"123456789012"}}`

// Records are turned into training data with the scorer's extraction rules: the IP dataset
// collected from parsed CloudTrail is, pair for pair, the (principal under the identity rule
// with its account, address, time) of every event, an AWS service calling on a principal's behalf is not an address, and a call
// without an event time is on no day.
func TestCollectorUsesTheScorersRules(t *testing.T) {
	ds := smallOrg(t)
	var ct bytes.Buffer
	if err := ipnet.WriteCloudTrail(&ct, 1, ds.Train); err != nil {
		t.Fatal(err)
	}
	ct.WriteString(awsServiceCall + "\n" + noTimeCall + "\n")
	kd, err := synthkrb.Generate(synthkrb.Config{Seed: 1, Workstations: 30})
	if err != nil {
		t.Fatal(err)
	}
	var zeek bytes.Buffer
	if err := synthkrb.WriteZeekTSV(&zeek, kd.Records, kd.Records[0].Time); err != nil {
		t.Fatal(err)
	}

	fromRecords := train.NewCollector()
	process(t, ct.Bytes(), fromRecords.Add)
	process(t, zeek.Bytes(), fromRecords.Add)
	st := fromRecords.Stats()
	if st.IPPairs != len(ds.Train)+1 || st.APICalls != len(ds.Train)+1 || st.KerberosRequests != len(kd.Records) {
		t.Errorf("collected %d pairs, %d calls, %d Kerberos requests; want %d, %d, %d",
			st.IPPairs, st.APICalls, st.KerberosRequests, len(ds.Train)+1, len(ds.Train)+1, len(kd.Records))
	}
	if st.Unused["ip: source_aws_service"] != 1 || st.Unused["api: no_event_time"] != 1 || st.Kinds[ecs.KindCloudTrail] != len(ds.Train)+2 {
		t.Errorf("unused %v, kinds %v", st.Unused, st.Kinds)
	}

	direct := train.NewCollector()
	for _, e := range ds.Train {
		p := identity.Principal{ID: identity.Parse(e.Principal()).ID, Account: e.Identity.AccountID}
		// CloudTrail's eventTime has second precision.
		if err := direct.AddPair(p, e.IP, e.Time.Truncate(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := direct.AddPair(identity.Principal{ID: "AIDAEXAMPLEEXAMPLE02", Account: "123456789012"}, netip.MustParseAddr("198.51.100.7"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig()
	cfg.Models = []string{train.ModelIP}
	a, err := train.Train(context.Background(), fromRecords.Data(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := train.Train(context.Background(), direct.Data(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.Bundle.Header().Fingerprint != b.Bundle.Header().Fingerprint {
		t.Error("the IP data collected from records differs from the events' (entity, address) pairs")
	}

	all, err := train.Train(context.Background(), fromRecords.Data(), fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(all.Bundle.Tags(), " "); got != "APIP IPIN KRBH" || len(all.Skipped) != 0 {
		t.Errorf("sections %q, skipped %v; want all three models", got, all.Skipped)
	}
	if !all.IP.Known(ds.Train[0].Identity.PrincipalID) {
		t.Error("a training principal is unknown to the IP model")
	}
	// The window spans the events: the Kerberos day comes first, the CloudTrail month last
	// (Zeek times have microseconds, CloudTrail's seconds).
	h := all.Bundle.Header()
	near := func(a, b time.Time) bool { return a.Sub(b).Abs() < time.Millisecond }
	if first, last := kd.Records[0].Time, ds.Train[len(ds.Train)-1].Time.Truncate(time.Second); !near(h.WindowStart, first) || !near(h.WindowEnd, last) {
		t.Errorf("window %v..%v, want %v..%v", h.WindowStart, h.WindowEnd, first, last)
	}
}

func pairs(t *testing.T, n int) *train.Collector {
	t.Helper()
	c := train.NewCollector()
	for i := range n {
		if err := c.AddPair(identity.Parse("AIDAEXAMPLE"+string(rune('A'+i%5))), netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestModelsTheDataAllows(t *testing.T) {
	ctx := context.Background()
	if _, err := train.Train(ctx, train.NewCollector().Data(), fastConfig()); !errors.Is(err, train.ErrNothingTrained) {
		t.Errorf("empty data: %v, want ErrNothingTrained", err)
	}

	res, err := train.Train(ctx, pairs(t, 150).Data(), fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	if res.IP == nil || res.Kerberos != nil || res.Periodicity != nil {
		t.Errorf("pairs only: trained ip %v kerberos %v api %v", res.IP != nil, res.Kerberos != nil, res.Periodicity != nil)
	}
	if res.Skipped[train.ModelKerberos] != "no training data" || res.Skipped[train.ModelPeriodicity] != "no training data" {
		t.Errorf("skipped %v", res.Skipped)
	}
	// Pairs carry no time: the window is the training time.
	if h := res.Bundle.Header(); !h.WindowStart.Equal(h.TrainedAt) || !h.WindowEnd.Equal(h.TrainedAt) {
		t.Errorf("window %v..%v, want the training time %v", h.WindowStart, h.WindowEnd, h.TrainedAt)
	}

	// Too few pairs: left out with the model's reason when not asked for, fatal when asked.
	if _, err := train.Train(ctx, pairs(t, 3).Data(), fastConfig()); !errors.Is(err, train.ErrNothingTrained) {
		t.Errorf("3 pairs: %v, want ErrNothingTrained", err)
	}
	cfg := fastConfig()
	cfg.Models = []string{train.ModelIP}
	if _, err := train.Train(ctx, pairs(t, 3).Data(), cfg); err == nil || !strings.Contains(err.Error(), "ip model") {
		t.Errorf("3 pairs, ip required: %v", err)
	}
	cfg.Models = []string{train.ModelKerberos}
	if _, err := train.Train(ctx, pairs(t, 150).Data(), cfg); err == nil || !strings.Contains(err.Error(), "kerberos model") {
		t.Errorf("kerberos required without Kerberos data: %v", err)
	}
	cfg.Models = []string{"dns"}
	if _, err := train.Train(ctx, pairs(t, 150).Data(), cfg); err == nil || !strings.Contains(err.Error(), `unknown model "dns"`) {
		t.Errorf("unknown model: %v", err)
	}
}

// A bundle replacing another gets a later version even when the clock says otherwise.
func TestVersionFollowsThePrevious(t *testing.T) {
	cfg := fastConfig()
	first, err := train.Train(context.Background(), pairs(t, 150).Data(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	later := bundle.Version{Time: cfg.Now().Add(time.Hour).Truncate(time.Second), Seq: 3}
	if cfg.Previous, err = first.At(later); err != nil {
		t.Fatal(err)
	}
	res, err := train.Train(context.Background(), pairs(t, 150).Data(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Bundle.Version(); v.Compare(later) <= 0 {
		t.Errorf("version %v is not after %v", v, later)
	}
}

func TestFingerprintIsTheData(t *testing.T) {
	fp := func(c *train.Collector) [32]byte {
		res, err := train.Train(context.Background(), c.Data(), fastConfig())
		if err != nil {
			t.Fatal(err)
		}
		return res.Bundle.Header().Fingerprint
	}
	same, other := pairs(t, 150), pairs(t, 150)
	if fp(same) != fp(pairs(t, 150)) {
		t.Error("the same data gave different fingerprints")
	}
	if err := other.AddPair(identity.Parse("AIDAEXAMPLEZ"), netip.MustParseAddr("2001:db8::1"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if fp(same) == fp(other) {
		t.Error("different data gave the same fingerprint")
	}
}
