package ipinsights

import (
	"context"
	"math/bits"
	"net/netip"
	"slices"
	"testing"

	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"

	"github.com/siemscore/siemscore/synth/ipnet"
)

// entityOf is the scorer's extraction rule (principalId up to the first ':'), repeated here
// because models/score imports this package.
func entityOf(e *ipnet.Event) string { return e.Identity.PrincipalID }

// auc is the area under the ROC curve of scores (higher = more anomalous) for separating
// attacks from normal events; ties count half.
func auc(normal, attack []float64) float64 {
	y := append(slices.Clone(normal), attack...)
	classes := make([]bool, len(y))
	for i := len(normal); i < len(y); i++ {
		classes[i] = true
	}
	stat.SortWeightedLabeled(y, classes, nil)
	tpr, fpr, _ := stat.ROC(nil, y, classes, nil)
	return integrate.Trapezoidal(fpr, tpr)
}

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
// past addresses: 1 − (longest common prefix with any of them) / (family's host boundary:
// 32 bits for IPv4, 64 for IPv6). It is the per-principal memory the model must beat.
type lcpBaseline map[string][]netip.Addr

func newLCPBaseline(train []ipnet.Event) lcpBaseline {
	b := lcpBaseline{}
	for i := range train {
		b[entityOf(&train[i])] = append(b[entityOf(&train[i])], train[i].IP)
	}
	return b
}

func (b lcpBaseline) score(e *ipnet.Event) float64 {
	boundary := 32
	if e.IP.Is6() {
		boundary = 64
	}
	best := 0
	for _, a := range b[entityOf(e)] {
		if a.Is4() == e.IP.Is4() {
			best = max(best, min(boundary, commonPrefix(a, e.IP)))
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

func TestTutorialSchemeAUC(t *testing.T) {
	cfg := ipnet.DefaultTutorialConfig()
	if testing.Short() {
		cfg.Users = 300
	}
	ds, _, err := ipnet.Tutorial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := trainOn(t, ds.Train, DefaultConfig())
	es := newEvalSet(ds)
	got := auc(scoreAll(m, es.normal), scoreAll(m, es.attacks))
	b := newLCPBaseline(ds.Train)
	var bn, ba []float64
	for i := range es.normal {
		bn = append(bn, b.score(&es.normal[i]))
	}
	for i := range es.attacks {
		ba = append(ba, b.score(&es.attacks[i]))
	}
	t.Logf("tutorial: %d train, %d normal unseen test pairs, %d attacks: model AUC %.4f, LCP baseline AUC %.4f",
		len(ds.Train), len(es.normal), len(es.attacks), got, auc(bn, ba))
	if got < 0.98 {
		t.Errorf("model AUC %.4f < 0.98", got)
	}
}

func TestOrgScenarioBeatsBaseline(t *testing.T) {
	cfg := ipnet.DefaultOrgConfig()
	ds, err := ipnet.Org(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := trainOn(t, ds.Train, DefaultConfig())
	es := newEvalSet(ds)
	b := newLCPBaseline(ds.Train)
	var mn, ma, bn, ba []float64
	mn, ma = scoreAll(m, es.normal), scoreAll(m, es.attacks)
	for i := range es.normal {
		bn = append(bn, b.score(&es.normal[i]))
	}
	for i := range es.attacks {
		ba = append(ba, b.score(&es.attacks[i]))
	}
	model, base := auc(mn, ma), auc(bn, ba)
	t.Logf("org: %d train, %d normal unseen test pairs, %d attacks: model AUC %.4f, LCP baseline AUC %.4f",
		len(ds.Train), len(es.normal), len(es.attacks), model, base)
	// Per source, for diagnosis.
	bySrc := map[ipnet.Source][2][]float64{}
	for i, e := range es.normal {
		v := bySrc[e.Source]
		v[0], v[1] = append(v[0], mn[i]), append(v[1], bn[i])
		bySrc[e.Source] = v
	}
	for s, v := range bySrc {
		t.Logf("  normal %-13s n=%5d model AUC %.4f baseline AUC %.4f", s, len(v[0]), auc(v[0], ma), auc(v[1], ba))
	}
	if model < base+0.03 {
		t.Errorf("model AUC %.4f does not beat the LCP baseline %.4f by 0.03", model, base)
	}
}
