package ipinsights

import (
	"context"
	"math/bits"
	"net/netip"
	"slices"
	"testing"

	"github.com/siemscore/siemscore/models/eval"
	"github.com/siemscore/siemscore/models/synth/ipnet"
)

// entityOf is the scorer's extraction rule (principalId up to the first ':'), repeated here
// because models/score imports this package.
func entityOf(e *ipnet.Event) string { return e.Identity.PrincipalID }

// evalSet is an evaluation: normal = test-period pairs of principals seen in training that
// were not themselves seen in training; attacks = the planted ones.
type evalSet struct {
	normal, attacks []ipnet.Event
}

func newEvalSet(ds *ipnet.Dataset) evalSet {
	type key struct {
		p string
		a netip.Addr
	}
	seen := map[key]bool{}
	known := map[string]bool{}
	for i := range ds.Train {
		seen[key{entityOf(&ds.Train[i]), ds.Train[i].IP}] = true
		known[entityOf(&ds.Train[i])] = true
	}
	var es evalSet
	for i := range ds.Test {
		e := &ds.Test[i]
		if known[entityOf(e)] && !seen[key{entityOf(e), e.IP}] {
			es.normal = append(es.normal, *e)
		}
	}
	es.attacks = ds.Attacks
	return es
}

func trainOn(t testing.TB, events []ipnet.Event, cfg Config) *Model {
	t.Helper()
	ds := NewDataset()
	for i := range events {
		if err := ds.Add(entityOf(&events[i]), events[i].IP); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Train(context.Background(), ds, cfg, func(p Progress) {
		t.Logf("epoch %d/%d loss %.4f %.0f pairs/s", p.Epoch, p.Epochs, p.Loss, p.PairsPerSec)
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func scoreAll(m *Model, events []ipnet.Event) []float64 {
	out := make([]float64, len(events))
	for i := range events {
		r, _ := m.Score(entityOf(&events[i]), events[i].IP)
		out[i] = r.Raw
	}
	return out
}

// lcpBaseline scores a pair by how little of the address it shares with the principal's own
// past addresses: 1 − (longest common prefix with any of them) / (the family's host boundary:
// 32 bits for IPv4, 64 for IPv6). It is the per-principal memory the model must beat.
type lcpBaseline map[string][]netip.Addr // sorted addresses per principal

func newLCPBaseline(train []ipnet.Event) lcpBaseline {
	b := lcpBaseline{}
	for i := range train {
		b[entityOf(&train[i])] = append(b[entityOf(&train[i])], train[i].IP)
	}
	for p, addrs := range b {
		slices.SortFunc(addrs, netip.Addr.Compare)
		b[p] = slices.Compact(addrs)
	}
	return b
}

// score uses that, in sorted order, the longest common prefix with any member of a set is
// reached at one of the two neighbours of the insertion point.
func (b lcpBaseline) score(e *ipnet.Event) float64 {
	boundary := 32
	if e.IP.Is6() {
		boundary = 64
	}
	addrs := b[entityOf(e)]
	i, _ := slices.BinarySearchFunc(addrs, e.IP, netip.Addr.Compare)
	best := 0
	for _, j := range []int{i - 1, i} {
		if j >= 0 && j < len(addrs) && addrs[j].Is4() == e.IP.Is4() {
			best = max(best, min(boundary, commonPrefix(addrs[j], e.IP)))
		}
	}
	return 1 - float64(best)/float64(boundary)
}

// commonPrefix returns the number of leading bits a and b (of one family) share.
func commonPrefix(a, b netip.Addr) int {
	x, y := a.AsSlice(), b.AsSlice()
	n := 0
	for i := range x {
		if x[i] != y[i] {
			return n + bits.LeadingZeros8(x[i]^y[i])
		}
		n += 8
	}
	return n
}

// compare trains the model on ds, evaluates it and the baseline, and logs AUCs overall and by
// source.
func compare(t *testing.T, name string, ds *ipnet.Dataset) (model, base float64) {
	m := trainOn(t, ds.Train, DefaultConfig())
	es := newEvalSet(ds)
	b := newLCPBaseline(ds.Train)
	mn, ma := scoreAll(m, es.normal), scoreAll(m, es.attacks)
	bn, ba := make([]float64, len(es.normal)), make([]float64, len(es.attacks))
	for i := range es.normal {
		bn[i] = b.score(&es.normal[i])
	}
	for i := range es.attacks {
		ba[i] = b.score(&es.attacks[i])
	}
	model, base = eval.AUC(mn, ma), eval.AUC(bn, ba)
	t.Logf("%s: %d training pairs, %d normal unseen test pairs, %d attacks: model AUC %.4f, LCP baseline AUC %.4f",
		name, len(ds.Train), len(es.normal), len(es.attacks), model, base)
	type split struct{ m, b []float64 }
	normal, attack := map[ipnet.Source]*split{}, map[ipnet.Source]*split{}
	for i, e := range es.normal {
		if normal[e.Source] == nil {
			normal[e.Source] = &split{}
		}
		normal[e.Source].m, normal[e.Source].b = append(normal[e.Source].m, mn[i]), append(normal[e.Source].b, bn[i])
	}
	for i, e := range es.attacks {
		if attack[e.Source] == nil {
			attack[e.Source] = &split{}
		}
		attack[e.Source].m, attack[e.Source].b = append(attack[e.Source].m, ma[i]), append(attack[e.Source].b, ba[i])
	}
	for src := ipnet.SourceHome; src <= ipnet.SourceAttackOtherOrg; src++ {
		if v := normal[src]; v != nil {
			t.Logf("  normal %-16s n=%6d  model %.4f  baseline %.4f (against all attacks)", src, len(v.m), eval.AUC(v.m, ma), eval.AUC(v.b, ba))
		}
		if v := attack[src]; v != nil {
			t.Logf("  attack %-16s n=%6d  model %.4f  baseline %.4f (against all normal)", src, len(v.m), eval.AUC(mn, v.m), eval.AUC(bn, v.b))
		}
	}
	return model, base
}

// The SageMaker tutorial's scheme: normal = test-period pairs of known users not seen in
// training, attacks = known users at an address from a uniformly random ASN.
func TestTutorialSchemeAUC(t *testing.T) {
	cfg := ipnet.DefaultTutorialConfig()
	if testing.Short() {
		cfg.Users = 500
	}
	ds, _, err := ipnet.Tutorial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if model, _ := compare(t, "tutorial", ds); model < 0.98 {
		t.Errorf("model AUC %.4f < 0.98", model)
	}
}

// The organisation scenario: the model must beat the per-principal longest-common-prefix
// memory by at least 0.03 AUC, because it also knows what the principal's organisation and
// ISP communities use.
func TestOrgScenarioBeatsBaseline(t *testing.T) {
	ds, err := ipnet.Org(ipnet.DefaultOrgConfig())
	if err != nil {
		t.Fatal(err)
	}
	if model, base := compare(t, "organisation", ds); model < base+0.03 {
		t.Errorf("model AUC %.4f does not beat the LCP baseline %.4f by 0.03", model, base)
	}
}
