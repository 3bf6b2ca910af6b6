package kerberos_test

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	krb "github.com/siemscore/siemscore/models/kerberos"
	synth "github.com/siemscore/siemscore/models/synth/kerberos"
)

// TestPlantedAttackersRankInTopTwoPercent is the model's acceptance test. Two days of generated
// domain traffic: the model is trained on day one, then both days stream through one State (day
// one only warms it up) and every day-two record is scored as the plugin would score it. A host's
// anomaly score is the highest surprise of any of its records; the hosts that sprayed,
// kerberoasted and brute-forced on day two must all rank in the top 2% of hosts.
//
// Some cases train on a day one that holds its own attacks (on other hosts), as a retrained
// production model would: the day-two attacks must stand out all the same.
func TestPlantedAttackersRankInTopTwoPercent(t *testing.T) {
	cases := []struct {
		name              string
		seed              uint64
		k                 int // 0: chosen by silhouette
		attacksInTraining bool
	}{
		{"seed1/auto-k", 1, 0, false},
		{"seed2/k6", 2, 6, false},
		{"seed3/k6", 3, 6, false},
		{"seed4/k6/attacks-in-training", 4, 6, true},
		{"seed5/auto-k/attacks-in-training", 5, 0, true},
	}
	if testing.Short() {
		cases = cases[1:2]
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attacks := synth.StandardAttacks(24 * time.Hour)
			if tc.attacksInTraining {
				attacks = append(synth.StandardAttacks(0), attacks...)
			}
			d, err := synth.Generate(synth.Config{Seed: tc.seed, Duration: 48 * time.Hour, Attacks: attacks})
			if err != nil {
				t.Fatal(err)
			}
			reqs := d.Requests()
			split := slices.IndexFunc(reqs, func(r krb.Request) bool { return !r.Time.Before(d.Records[0].Time.Add(24 * time.Hour)) })
			m, err := krb.Train(reqs[:split], krb.TrainConfig{K: tc.k, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if tc.k == 0 && (m.K() < 3 || m.K() > krb.DefaultKMax || m.Silhouette() < 0.3) {
				t.Errorf("chose k=%d with silhouette %.3f", m.K(), m.Silhouette())
			}

			planted := map[netip.Addr]synth.Planted{}
			for _, p := range d.Planted {
				if !p.Start.Before(reqs[split].Time) {
					planted[p.Host] = p
				}
			}
			s, err := krb.NewState(krb.StateConfig{})
			if err != nil {
				t.Fatal(err)
			}
			worst := map[netip.Addr]krb.Score{}
			var benign, minor int
			for i := range reqs {
				o, err := s.Observe(&reqs[i])
				if err != nil {
					t.Fatal(err)
				}
				if i < split {
					continue
				}
				if !o.Complete {
					t.Fatalf("record %d: state still warming up after a day", i)
				}
				sc, err := m.Score(&o.Features)
				if err != nil {
					t.Fatal(err)
				}
				if w, ok := worst[reqs[i].Source]; !ok || sc.Surprise > w.Surprise {
					worst[reqs[i].Source] = sc
				}
				if _, ok := planted[reqs[i].Source]; !ok {
					benign++
					if sc.ScoreNorm >= 25 {
						minor++
					}
				}
			}

			hosts := make([]netip.Addr, 0, len(worst))
			for h := range worst {
				hosts = append(hosts, h)
			}
			slices.SortFunc(hosts, func(a, b netip.Addr) int { return cmp.Compare(worst[b].Surprise, worst[a].Surprise) })
			limit := int(math.Ceil(0.02 * float64(len(hosts))))
			for _, p := range planted {
				rank := slices.Index(hosts, p.Host) + 1
				sc := worst[p.Host]
				t.Logf("%-11s %-12v rank %d of %d (top-2%% limit %d), score %.1f, k=%d", p.Kind, p.Host, rank, len(hosts), limit, sc.ScoreNorm, m.K())
				if rank < 1 || rank > limit {
					t.Errorf("%v attacker %v ranks %d of %d hosts, want ≤ %d", p.Kind, p.Host, rank, len(hosts), limit)
				}
				// With clean training every attack is beyond anything calibrated: critical. When
				// the training day held attacks too, the calibrator took them for normal and its
				// tail is wider, so a repeat of a known attack ranks at the top but may score
				// lower: only the rank is required then.
				if !tc.attacksInTraining && sc.ScoreNorm < 75 {
					t.Errorf("%v attacker %v peaks at %.1f, want critical (≥ 75)", p.Kind, p.Host, sc.ScoreNorm)
				}
			}
			// Ordinary records rarely reach minor, and critical stays exceptional: a handful of
			// ordinary hosts at most (one that is odd for a while emits many critical records,
			// so hosts, not records, are counted).
			criticalHosts := 0
			for h, sc := range worst {
				if _, ok := planted[h]; !ok && sc.ScoreNorm >= 75 {
					criticalHosts++
				}
			}
			t.Logf("benign records: %d, %.2f%% ≥ minor; benign hosts reaching critical: %d of %d", benign, 100*float64(minor)/float64(benign), criticalHosts, len(hosts)-len(planted))
			if float64(minor) > 0.05*float64(benign) || criticalHosts > len(hosts)/100 {
				t.Errorf("%d of %d benign records ≥ minor; %d benign hosts critical", minor, benign, criticalHosts)
			}
		})
	}
}
