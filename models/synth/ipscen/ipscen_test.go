package ipscen

import (
	"math"
	"reflect"
	"testing"

	"github.com/siemscore/siemscore/models/eval"
	"github.com/siemscore/siemscore/processors/geoip/geoiptest"
)

// Every family gives training events, later normal events and attacks, the same for the same
// seed and others for another, attacks only on principals seen in training and only after the
// training window.
func TestFamilies(t *testing.T) {
	tb := SyntheticTable(7, 5000)
	for _, f := range Families() {
		a, err := Generate(f, 1, tb, Options{Scale: 0.3, Attacks: 200})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		b, _ := Generate(f, 1, tb, Options{Scale: 0.3, Attacks: 200})
		c, _ := Generate(f, 2, tb, Options{Scale: 0.3, Attacks: 200})
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the same seed gave other data", f)
		}
		if reflect.DeepEqual(a.Train, c.Train) {
			t.Errorf("%s: another seed gave the same data", f)
		}
		if len(a.Train) < 1000 || len(a.Test) == 0 || len(a.Attacks) != 200 {
			t.Errorf("%s: %d training, %d test events, %d attacks", f, len(a.Train), len(a.Test), len(a.Attacks))
		}
		trained := map[string]bool{}
		for _, e := range a.Train {
			trained[e.Principal] = true
			if e.Attack() || !e.IP.IsValid() || e.Principal == "" {
				t.Fatalf("%s: training event %+v", f, e)
			}
		}
		split := a.Train[len(a.Train)-1].Time
		for _, e := range a.Attacks {
			if !e.Attack() || e.Time.Before(split) {
				t.Fatalf("%s: attack %+v", f, e)
			}
		}
		if f == Tutorial || f == OrgOpaque || f == Mobile {
			// Principals named without sessions: every attack's principal trained as named.
			for _, e := range a.Attacks {
				if !trained[e.Principal] {
					t.Fatalf("%s: attack on %s, never seen in training", f, e.Principal)
				}
			}
		}
	}
}

// The IPv6 family uses IPv6 several times as much as the others.
func TestIPv6Share(t *testing.T) {
	tb := SyntheticTable(7, 5000)
	share := func(f Family) float64 {
		sc, err := Generate(f, 1, tb, Options{Scale: 0.3, Attacks: 10})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range sc.Train {
			if e.IP.Is6() {
				n++
			}
		}
		return float64(n) / float64(len(sc.Train))
	}
	if v6, org := share(IPv6), share(OrgARN); v6 < 0.3 || v6 < 4*org {
		t.Errorf("IPv6 share: ipv6 family %.2f, org family %.2f", v6, org)
	}
}

// The real table, when installed, maps addresses as its publisher says: 1.0.0.0/24 is
// Cloudflare's (AS13335), 8.8.8.0/24 Google's (AS15169).
func TestRealTable(t *testing.T) {
	dir, err := geoiptest.FindASNDir()
	if err != nil {
		t.Skipf("real ASN table not installed: %v", err)
	}
	tb, err := LoadTable(dir)
	if err != nil {
		t.Fatal(err)
	}
	find := func(a uint32) uint32 {
		if i, ok := tb.rangeOf(v4(a)); ok {
			return tb.ASes[tb.V4[i].AS].Number
		}
		return 0
	}
	if n := find(1 << 24); n != 13335 {
		t.Errorf("1.0.0.0 is AS%d, want AS13335", n)
	}
	if n := find(8<<24 | 8<<16 | 8<<8 | 8); n != 15169 {
		t.Errorf("8.8.8.8 is AS%d, want AS15169", n)
	}
	if len(tb.V4) < 300000 || len(tb.ASes) < 50000 {
		t.Errorf("%d IPv4 ranges of %d ASes: not the full table", len(tb.V4), len(tb.ASes))
	}
}

// The tutorial oracle, which knows the scheme and the training events' labels, ranks the
// attacks above the later first uses better than the simplest rule (the longest prefix shared
// with the principal's history) does, and knows no other family.
func TestTutorialOracle(t *testing.T) {
	tb := SyntheticTable(7, 5000)
	sc, err := Generate(Tutorial, 1, tb, Options{Scale: 0.5, Attacks: 500})
	if err != nil {
		t.Fatal(err)
	}
	oracle, err := TutorialOracle(sc, tb)
	if err != nil {
		t.Fatal(err)
	}
	b := eval.NewPrefixBaselines()
	for _, e := range sc.Train {
		b.Add(e.Principal, "", e.IP)
	}
	b.Done()
	var on, oa, bn, ba []float64
	first := map[string]bool{}
	for i := range sc.Test {
		e := &sc.Test[i]
		if k := e.Principal + " " + e.IP.String(); b.Known(e.Principal) && !b.Seen(e.Principal, e.IP) && !first[k] {
			first[k] = true
			on, bn = append(on, oracle(e)), append(bn, b.Scores(e.Principal, e.IP)[0])
		}
	}
	for i := range sc.Attacks {
		e := &sc.Attacks[i]
		oa, ba = append(oa, oracle(e)), append(ba, b.Scores(e.Principal, e.IP)[0])
	}
	oAUC, bAUC := eval.AUC(on, oa), eval.AUC(bn, ba)
	t.Logf("oracle AUC %.4f, own-prefix rule %.4f (%d first uses, %d attacks)", oAUC, bAUC, len(on), len(oa))
	if oAUC <= bAUC || oAUC < 0.98 {
		t.Errorf("oracle AUC %.4f, own-prefix rule %.4f", oAUC, bAUC)
	}
	if o := oracle(&Event{Principal: "nobody", IP: sc.Attacks[0].IP}); !math.IsInf(o, 1) {
		t.Errorf("a principal without training events scores %v, want +Inf", o)
	}
	other, _ := Generate(Travel, 1, tb, Options{Scale: 0.3, Attacks: 10})
	if _, err := TutorialOracle(other, tb); err == nil {
		t.Error("the oracle accepted the travel family")
	}
}
