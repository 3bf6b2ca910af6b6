package train_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors/identity"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/kerberos"
	synthkrb "github.com/siemscore/siemscore/models/synth/kerberos"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/models/train/traintest"
)

// normalPercentiles scores the scenario's normal events of the training window with b: the 99th
// and 99.9th percentiles of what ordinary traffic gets.
func normalPercentiles(t *testing.T, s *traintest.Moving, b *bundle.Bundle) (p99, p999 float64) {
	t.Helper()
	var scores []float64
	for _, e := range s.Normal {
		if e.Time.After(s.Now.Add(-21 * 24 * time.Hour)) {
			scores = append(scores, scoreIP(t, b, e.Identity.PrincipalID, e.IP))
		}
	}
	slices.Sort(scores)
	return scores[len(scores)*99/100], scores[len(scores)*999/1000]
}

func config(s *traintest.Moving) train.ESConfig {
	cfg := train.DefaultESConfig()
	cfg.CloudTrailIndex = s.CloudTrail
	cfg.KerberosIndex = s.Kerberos
	cfg.Window = 21 * 24 * time.Hour
	cfg.ProgressEvery = time.Hour
	return cfg
}

// fromES trains on the scenario's index as the companion does, keeping prev's models that
// cannot be retrained.
func fromES(t *testing.T, es *esclient.Client, s *traintest.Moving, now time.Time, prev *bundle.Bundle) (*train.Result, train.ReadStats) {
	t.Helper()
	cfg := train.DefaultConfig()
	cfg.Previous, cfg.KeepPrevious = prev, true
	res, st, err := train.FromES(context.Background(), es, config(s), cfg, now, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	return res, st
}

func scoreIP(t *testing.T, b *bundle.Bundle, entity string, ip netip.Addr) float64 {
	t.Helper()
	m := b.IP()
	if m == nil {
		t.Fatal("the bundle has no IP model")
	}
	res, ok := m.Score(identity.Parse(entity), ip)
	if !ok {
		t.Fatalf("cannot score %s at %s", entity, ip)
	}
	return res.ScoreNorm
}

func build(t *testing.T, r *train.Result, sec int) *bundle.Bundle {
	t.Helper()
	b, err := r.At(bundle.Version{Time: time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.Validate(b, nil); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRetrainingLearnsFromElasticsearch trains on the index a week before and at the end of the
// move: before, the new network is anomalous for the person; after retraining from the index,
// a new address in it scores as normal, while an attack on someone else still scores high.
func TestRetrainingLearnsFromElasticsearch(t *testing.T) {
	url := estest.URL(t)
	es := readertest.Client(t, url)
	s := traintest.Index(t, url)

	before, _ := fromES(t, es, s, s.Now.Add(-7*24*time.Hour), nil)
	after, st := fromES(t, es, s, s.Now, nil)
	b0, b1 := build(t, before, 0), build(t, after, 1)
	was, is := scoreIP(t, b0, s.Person, s.Probe), scoreIP(t, b1, s.Person, s.Probe)
	attack := scoreIP(t, b1, s.Other, s.Attack)
	p99, p999 := normalPercentiles(t, s, b1)
	t.Logf("normal traffic: p99 %.1f, p99.9 %.1f; person at the new network: %.1f before, %.1f after retraining; attack on a service role: %.1f",
		p99, p999, was, is, attack)
	if was <= p99 || was < 20 {
		t.Errorf("before the move the new network scored %.1f for the person: not anomalous (normal p99 %.1f)", was, p99)
	}
	// Normal: below the minor band, and a fraction of what it was. (A new address in a network
	// the person used only lately is not the same as one it used for weeks: a few points.)
	if is >= 25 || is > was/3 {
		t.Errorf("after retraining the new network scores %.1f for the person (was %.1f): not normal", is, was)
	}
	if attack < 50 || attack <= p999 {
		t.Errorf("after retraining an attack from %s on %s scores only %.1f (normal p99.9 %.1f)", s.Attack, s.Other, attack, p999)
	}

	if st.IPPairs == 0 || st.APIPairs == 0 || st.IPDocs < st.IPPairs {
		t.Errorf("stats %+v", st)
	}
	if fmt.Sprint(after.Trained()) != fmt.Sprint([]string{train.ModelIP, train.ModelPeriodicity}) || len(after.Kept) != 0 {
		t.Errorf("trained %v kept %v; want IP and periodicity trained, Kerberos absent (no data)", after.Trained(), after.Kept)
	}
	if b1.Header().Fingerprint == b0.Header().Fingerprint || !b1.Header().WindowEnd.Equal(s.Now) {
		t.Errorf("header %+v does not describe the second run", b1.Header())
	}

	// A model without data keeps the previous bundle's section.
	prev := kerberosBundle(t)
	kept, _ := fromES(t, es, s, s.Now, prev)
	if fmt.Sprint(kept.Kept) != fmt.Sprint([]string{train.ModelKerberos}) {
		t.Errorf("kept %v, want the previous Kerberos section", kept.Kept)
	}
	if b := build(t, kept, 2); b.Kerberos() == nil || b.IP() == nil {
		t.Error("the bundle lacks the carried-over Kerberos model or the trained IP model")
	}
}

// kerberosBundle is a bundle with only a Kerberos model.
func kerberosBundle(t *testing.T) *bundle.Bundle {
	t.Helper()
	gen, err := synthkrb.Generate(synthkrb.Config{Seed: 2, Workstations: 40, Duration: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	m, err := trainKerberos(gen)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1e9, 0).UTC()
	b, err := bundle.New(bundle.Header{Version: bundle.Version{Time: at}, TrainedAt: at, WindowStart: at, WindowEnd: at}, bundle.KerberosPart(m))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFromESFailsWhenElasticsearchIsUnreachable(t *testing.T) {
	dead, err := esclient.New(esclient.Config{
		Hosts: []string{"http://127.0.0.1:1"}, RequestTimeout: time.Second,
		RetryBackoff: esclient.Backoff{Min: time.Millisecond, Max: time.Millisecond},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := train.DefaultConfig()
	cfg.Previous, cfg.KeepPrevious = kerberosBundle(t), true
	_, _, err = train.FromES(context.Background(), dead, train.DefaultESConfig(), cfg, time.Now(), nil)
	var re *train.ReadError
	if !errors.As(err, &re) || errors.Is(err, train.ErrInvalid) {
		t.Fatalf("run against no Elasticsearch: %v; want a read error, not a bundle with carried-over models", err)
	}
}

func trainKerberos(gen *synthkrb.Dataset) (*kerberos.Model, error) {
	return kerberos.Train(gen.Requests(), kerberos.TrainConfig{Seed: 1})
}
