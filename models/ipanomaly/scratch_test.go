package ipanomaly

import (
	"context"
	"math/bits"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/eval"
	"github.com/siemscore/siemscore/processors/identity"
	"github.com/siemscore/siemscore/models/synth/ipnet"
)

func scratchEval(t *testing.T, name string, ds *ipnet.Dataset) {
	id := func(e *ipnet.Event) identity.Principal { return identity.Principal{ID: e.Identity.PrincipalID} }
	d := NewDataset()
	for i := range ds.Train {
		e := &ds.Train[i]
		d.Add(id(e), e.IP, e.Time)
	}
	start := time.Now()
	cfg := DefaultConfig()
	if v := os.Getenv("SMOOTH"); v != "" {
		cfg.Smoothness, _ = strconv.ParseFloat(v, 64)
	}
	if v := os.Getenv("NEG"); v != "" {
		cfg.NegativesPerPositive, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("PRIOR"); v != "" {
		cfg.Prior, _ = strconv.ParseFloat(v, 64)
	}
	m, err := Train(context.Background(), d, cfg, func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trained in %s", time.Since(start))
	if os.Getenv("DUMP") != "" {
		m.dumpWeights(t)
	}
	type pk struct {
		p string
		a netip.Addr
	}
	seen := map[pk]bool{}
	known := map[string]bool{}
	hist := map[string][]netip.Addr{}
	for i := range ds.Train {
		e := &ds.Train[i]
		seen[pk{id(e).ID, e.IP}] = true
		known[id(e).ID] = true
		hist[id(e).ID] = append(hist[id(e).ID], e.IP)
	}
	for k, v := range hist {
		slices.SortFunc(v, netip.Addr.Compare)
		hist[k] = slices.Compact(v)
	}
	lcpScore := func(e *ipnet.Event) float64 {
		b := 32
		if e.IP.Is6() {
			b = 64
		}
		best := 0
		for _, a := range hist[id(e).ID] {
			if a.Is4() == e.IP.Is4() {
				x, y := a.AsSlice(), e.IP.AsSlice()
				n := 0
				for i := range x {
					if x[i] != y[i] {
						n += bits.LeadingZeros8(x[i] ^ y[i])
						break
					}
					n += 8
				}
				best = max(best, min(n, b))
			}
		}
		return 1 - float64(best)/float64(b)
	}
	var mn, ma, bn, ba []float64
	for i := range ds.Test {
		e := &ds.Test[i]
		if known[id(e).ID] && !seen[pk{id(e).ID, e.IP}] {
			r, _ := m.Score(id(e), e.IP)
			mn = append(mn, r.Raw)
			bn = append(bn, lcpScore(e))
		}
	}
	for i := range ds.Attacks {
		e := &ds.Attacks[i]
		r, _ := m.Score(id(e), e.IP)
		ma = append(ma, r.Raw)
		ba = append(ba, lcpScore(e))
	}
	rm, rb := eval.NewRates(mn, ma), eval.NewRates(bn, ba)
	t.Logf("%s: normal %d attacks %d: model AUC %.4f TPR %.3f | own-LCP AUC %.4f TPR %.3f", name, len(mn), len(ma),
		eval.AUC(mn, ma), rm.AtFPR(0.01).TPR, eval.AUC(bn, ba), rb.AtFPR(0.01).TPR)
}

func TestScratch(t *testing.T) {
	tc := ipnet.DefaultTutorialConfig()
	ds, _, _ := ipnet.Tutorial(tc)
	scratchEval(t, "tutorial", ds)
	od, _ := ipnet.Org(ipnet.DefaultOrgConfig())
	scratchEval(t, "org", od)
}

func (m *Model) dumpWeights(t *testing.T) {
	for g := range numGroups {
		w := m.c.w[groupOff[g] : groupOff[g]+groupSize[g]]
		s := ""
		for _, x := range w {
			s += " " + strconvF(x)
		}
		t.Logf("%s:%s", groupNames[g], s)
	}
	t.Logf("bias %.2f edges %v", m.c.bias, m.affEdges)
}

func strconvF(x float64) string          { return string(appendF(nil, x)) }
func appendF(b []byte, x float64) []byte { return []byte(fmtF(x)) }
