package ipanomaly

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/synth/ipscen"
	"github.com/siemscore/siemscore/processors/identity"
)

func TestDebugFamily(t *testing.T) {
	fam, _ := strconv.Atoi(os.Getenv("FAM"))
	seed, _ := strconv.Atoi(os.Getenv("SEED"))
	tb := ipscen.SyntheticTable(7, 20000)
	if os.Getenv("REAL") != "" {
		dir, _ := ipscen.FindTable()
		tb, _ = ipscen.LoadTable(dir)
	}
	sc, err := ipscen.Generate(ipscen.Family(fam), uint64(seed), tb, ipscen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := NewDataset()
	for _, e := range sc.Train {
		ds.Add(identity.Parse(e.Principal), e.IP, time.Time{})
	}
	cfg := DefaultConfig()
	cfg.Seed, cfg.Embedding.Seed = sc.Seed, sc.Seed
	m, _ := Train(context.Background(), ds, cfg, func(s string) { t.Log(s) })
	if os.Getenv("DUMP") != "" {
		m.dumpWeights(t)
	}
	b := newBaselines(sc.Train)
	type row struct {
		e   ipscen.Event
		raw float64
		s   signals
		own float64
	}
	var normal, attack []row
	sig := func(e ipscen.Event) (float64, signals) {
		p := identity.Parse(e.Principal)
		r, _ := m.Score(p, e.IP)
		h := m.h
		pos := h.principal(keyOfID(p.ID))
		acct := -1
		if pos >= 0 {
			acct = int(h.account[pos])
		}
		return r.Raw, h.signalsOf(pos, acct, keyOf(e.IP), e.IP)
	}
	firsts := map[string]bool{}
	for _, e := range sc.Test {
		p := identity.Parse(e.Principal)
		if k := p.ID + e.IP.String(); b.known(p.ID) && !b.seen(p.ID, e.IP) && !firsts[k] {
			firsts[k] = true
			raw, s := sig(e)
			_, own, _ := b.score(p, e.IP)
			normal = append(normal, row{e, raw, s, own})
		}
	}
	for _, e := range sc.Attacks {
		raw, s := sig(e)
		p := identity.Parse(e.Principal)
		_, own, _ := b.score(p, e.IP)
		attack = append(attack, row{e, raw, s, own})
	}
	slices.SortFunc(normal, func(a, b row) int { return -cmpF(a.raw, b.raw) })
	slices.SortFunc(attack, func(a, b row) int { return -cmpF(a.raw, b.raw) })
	t.Logf("top normal of %d:", len(normal))
	for _, r := range normal[:30] {
		t.Logf("  %-8s %-40s raw %6.2f ownB %2.0f %+v", r.e.Source, r.e.IP, r.raw, r.own, r.s)
	}
	t.Logf("attacks by rank (of %d):", len(attack))
	for i := 0; i < len(attack); i += len(attack) / 20 {
		r := attack[i]
		t.Logf("  %4d %-18s %-40s raw %6.2f ownB %2.0f %+v", i, r.e.Source, r.e.IP, r.raw, r.own, r.s)
	}
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
