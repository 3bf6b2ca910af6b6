package eval

import (
	"net/netip"
	"testing"
)

// Hand-computed: A used 10.1.1.1 and 10.1.2.0, B (same account) 10.9.0.0, C (another
// account, sharing A's /16) 10.1.3.0, D 2001:db8::1.
func TestPrefixBaselines(t *testing.T) {
	b := NewPrefixBaselines()
	add := func(p, acct, ip string) { b.Add(p, acct, netip.MustParseAddr(ip)) }
	add("A", "1", "10.1.1.1")
	add("A", "1", "10.1.2.0")
	add("B", "1", "10.9.0.0")
	add("C", "2", "10.1.3.0")
	add("D", "", "2001:db8::1")
	b.Done()
	cases := []struct {
		p, ip string
		want  [3]float64
	}{
		// own LCP 32; account the same, minus a bit: 31; co-users (A, C share 10.1/16) 31.
		{"A", "10.1.1.1", [3]float64{0, 1, 1}},
		// 10.9.0.1: own LCP with 10.1.2.0 = 12 (10.0000 vs 10.1001); B's 10.9.0.0 = 31 → 30;
		// co-users A and C: 12 → 11.
		{"A", "10.9.0.1", [3]float64{20, 2, 21}},
		// 10.1.3.7: own LCP with 10.1.2.0 = 23; account (A, B) 23 → 22; C's 10.1.3.0 = 29 → 28.
		{"A", "10.1.3.7", [3]float64{9, 10, 4}},
		// IPv6: LCP 64+ counts as the /64; no account: its own history one bit less.
		{"D", "2001:db8::2", [3]float64{0, 0, 0}},
		{"D", "2001:db9::", [3]float64{33, 34, 34}},
		// Unknown principal, other family: nothing shared.
		{"E", "10.1.1.1", [3]float64{32, 32, 32}},
		{"A", "::ffff:10.1.1.1", [3]float64{0, 1, 1}},
	}
	for _, tc := range cases {
		if got := b.Scores(tc.p, netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("%s at %s: %v, want %v", tc.p, tc.ip, got, tc.want)
		}
	}
	if !b.Known("A") || b.Known("E") || !b.Seen("A", netip.MustParseAddr("10.1.2.0")) || b.Seen("A", netip.MustParseAddr("10.9.0.0")) {
		t.Error("Known/Seen")
	}
}
