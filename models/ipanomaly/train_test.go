package ipanomaly

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/ipinsights"
	"github.com/siemscore/siemscore/processors/identity"
)

// Excursions, on a hand-made week: an office network first (no excursion), a trip to a far
// network, home in a network of the office's /16, the office again, a network in the office's
// /8, an IPv6 home and another /64 of its /48.
func TestExcursions(t *testing.T) {
	var pos []int32
	var keys []key
	add := func(p int32, ips ...string) {
		for _, ip := range ips {
			pos, keys = append(pos, p), append(keys, keyOf(netip.MustParseAddr(ip)))
		}
	}
	add(0, "10.1.1.1", "10.1.1.2", "10.1.1.3") // office
	add(1, "10.1.1.9")                         // a colleague: no excursion of principal 0's
	add(0, "203.0.113.5", "203.0.113.6")       // trip: shares 0 bits with 10.1.1/24
	add(0, "10.1.2.7")                         // home: shares 22 bits with 10.1.1/24
	add(0, "10.1.1.2", "10.1.1.4")             // the office again, a new address in it
	add(0, "10.200.0.1")                       // shares 8 bits with 10.1/16: LCP bin 8..15
	add(0, "2001:db8:1:2::1", "2001:db8:1:2::2")
	add(0, "2001:db8:1:3::1") // another /64 of the same /48: LCP 62 bits, IPv6 bin 48..63

	exc := excursions(2, pos, keys)
	// Rows: IPv4 LCP <8, <16, <20, <24, IPv6 <32, <48, <64 with the networks used before.
	want := []uint32{
		1, 2, 2, 3, // at least that far: the trip; and 10.200/16; ; and home
		0, 0, 1, // the second IPv6 /64
	}
	for f, w := range want {
		if got := exc[f]; got != w {
			t.Errorf("row %d: %d excursions, want %d (all: %v)", f, got, w, exc[:numFar])
		}
	}
	for f, got := range exc[numFar:] {
		if got != 0 {
			t.Errorf("the colleague's row %d: %d excursions, want none", f, got)
		}
	}

	// In a network it used, what counts is how many of its addresses the principal used.
	var obs []owned
	for j := range pos {
		obs = append(obs, owned{pos[j], keys[j]})
	}
	own := buildSets(2, distinctOwned(obs))
	for ip, n := range map[string]int{"10.1.1.200": 4, "10.1.2.1": 1, "10.1.3.1": 0, "203.0.113.255": 2, "2001:db8:1:2::99": 2, "2001:db8:1:4::1": 0} {
		if got := own.inNetwork(0, keyOf(netip.MustParseAddr(ip))); got != n {
			t.Errorf("%s: %d of the principal's addresses in its network, want %d", ip, got, n)
		}
	}
}

// The anomalous examples are drawn as documented: IPv6 as often as the held-out first uses
// are IPv6, principals that never used IPv6 included, and random IPv6 addresses in allocated
// space (sharing at least 12 bits with an address someone used), not uniformly over 2000::/3.
func TestNegatives(t *testing.T) {
	ds := NewDataset()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 4000 {
		at := t0.Add(time.Duration(i) * time.Minute)
		p := identity.Principal{ID: "v4only-" + string(rune('a'+i%10))}
		ds.Add(p, netip.AddrFrom4([4]byte{10, byte(i % 10), byte(r.IntN(256)), byte(r.IntN(256))}), at)
		if i%3 == 0 { // dual-stacked principals: a new privacy address now and then
			q := identity.Principal{ID: "dual-" + string(rune('a'+i%7))}
			ds.Add(q, netip.AddrFrom16([16]byte{0x2a, 0x01, 0x0e, byte(i % 7), 0, 0, 0, 1, byte(r.Uint32()), byte(r.Uint32()), 0, 0, 0, 0, 0, 1}), at)
		}
	}
	cfg := handmadeConfig()
	order := timeOrder(ds)
	n := len(order) * 4 / 5
	eds := ipinsights.NewDataset()
	for _, i := range order[:n] {
		eds.Add(ds.principals[ds.pairs[i].p], ds.addrs[ds.pairs[i].a])
	}
	emb, err := ipinsights.Train(context.Background(), eds, cfg.Embedding, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := buildHistory(ds, order[:n], emb, nil, &cfg)
	tr := &trainer{ds: ds, cfg: &cfg, h: h, r: rand.New(rand.NewPCG(3, 4))}
	drafts := tr.drafts(order[:n], order[n:])
	// The held-out first uses, counted here from the observations.
	var first6, first int
	seen := map[[2]uint32]bool{}
	for j, i := range order {
		k := [2]uint32{ds.pairs[i].p, ds.pairs[i].a}
		if j >= n && !seen[k] {
			first++
			if ds.addrs[k[1]].Is6() {
				first6++
			}
		}
		seen[k] = true
	}
	var neg6, neg, v4only6, near, far int
	used6 := map[uint64]bool{}
	for _, a := range ds.addrs {
		if a.Is6() {
			used6[keyOf(a).a6.hi>>52] = true // the first 12 bits
		}
	}
	for _, d := range drafts {
		switch {
		case d.y == 1 && d.s.pos >= 0:
			neg++
			if !d.ip.Is6() {
				continue
			}
			neg6++
			if ds.principals[ds.pairs[d.src].p][:2] == "v4" {
				v4only6++
			}
			if used6[keyOf(d.ip).a6.hi>>52] {
				near++
			} else {
				far++
			}
		}
	}
	share, negShare := float64(first6)/float64(first), float64(neg6)/float64(neg)
	t.Logf("IPv6: %.3f of %d held-out first uses, %.3f of %d anomalous examples (%d on IPv4-only principals); %d in used /12s, %d not", share, first, negShare, neg, v4only6, near, far)
	if share < 0.05 || negShare < share-0.04 || negShare > share+0.04 {
		t.Errorf("IPv6 share: %.3f of held-out first uses, %.3f of anomalous examples", share, negShare)
	}
	if v4only6 == 0 {
		t.Error("no IPv6 anomalous example for a principal that never used IPv6")
	}
	if far > 0 {
		t.Errorf("%d of %d anomalous IPv6 addresses outside every /12 anyone used", far, neg6)
	}
}

// The second time split holds out twice the held-out share: 0.4 leaves it a fifth of the data
// as history and trains; more is refused before anything is trained.
func TestHoldoutLimit(t *testing.T) {
	cfg := handmadeConfig()
	cfg.HoldoutFraction = 0.4
	if _, err := Train(context.Background(), handmadeData(), cfg, nil); err != nil {
		t.Errorf("holdout 0.4: %v", err)
	}
	for _, h := range []float64{0.45, 0.5, 0.9} {
		cfg.HoldoutFraction = h
		if _, err := Train(context.Background(), handmadeData(), cfg, nil); err == nil || !strings.Contains(err.Error(), "holdout fraction") {
			t.Errorf("holdout %v: err = %v", h, err)
		}
	}
}

// A new address in a network where the principal keeps changing address (DHCP leases,
// privacy addresses) means less than one in a network where it always used the same address.
func TestNewAddressAfterChurn(t *testing.T) {
	ds := NewDataset()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 600 {
		at := t0.Add(time.Duration(i) * time.Minute)
		ds.Add(identity.Principal{ID: "fixed", Account: "111111111111"}, netip.AddrFrom4([4]byte{10, 1, 1, 7}), at)
		ds.Add(identity.Principal{ID: "churning", Account: "111111111111"}, netip.AddrFrom4([4]byte{10, 2, 2, byte(1 + i%120)}), at)
		ds.Add(identity.Principal{ID: "other", Account: "222222222222"}, netip.AddrFrom4([4]byte{172, 16, byte(i % 4), byte(i)}), at)
	}
	m, err := Train(context.Background(), ds, handmadeConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fixed, _ := m.Score(identity.Principal{ID: "fixed", Account: "111111111111"}, netip.MustParseAddr("10.1.1.250"))
	churning, _ := m.Score(identity.Principal{ID: "churning", Account: "111111111111"}, netip.MustParseAddr("10.2.2.250"))
	t.Logf("a new address of its network: %.2f for the principal that always used one, %.2f for the one that used 120", fixed.Raw, churning.Raw)
	if churning.Raw > fixed.Raw-1 {
		t.Errorf("new address after churn %.2f, after one fixed address %.2f: want at least a log-odds unit less", churning.Raw, fixed.Raw)
	}
}
