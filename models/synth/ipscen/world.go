package ipscen

import (
	"math/rand/v2"
	"net/netip"
	"regexp"

	"github.com/siemscore/siemscore/models/synth/ipnet"
)

// role is what an AS is used for in the scenarios.
type role uint8

const (
	roleAny     role = iota // offices, hotels, residential ISPs
	roleISP                 // a large network: residential broadband
	roleCarrier             // a mobile carrier
	roleHosting             // a cloud or hosting provider: VPN egress, NAT gateways, attackers' servers
)

var (
	hostingName = regexp.MustCompile(`(?i)amazon|google|microsoft|digitalocean|ovh|hetzner|linode|akamai|oracle|alibaba|tencent|vultr|choopa|leaseweb|contabo|scaleway|hosting|cloud|data ?cent|server|colo`)
	carrierName = regexp.MustCompile(`(?i)mobile|wireless|cellular|telefonica|vodafone|t-mobile|verizon|orange|telekom|airtel|jio|telstra|softbank|docomo`)
)

func roleOf(a *AS) role {
	switch {
	case hostingName.MatchString(a.Name):
		return roleHosting
	case carrierName.MatchString(a.Name) && a.size4 >= 1<<16:
		return roleCarrier
	case a.size4 >= 1<<14:
		return roleISP
	}
	return roleAny
}

// world draws places from a table.
type world struct {
	t       *Table
	byRole  [4][]int32      // AS indices per role (roleAny: every AS with IPv4 space)
	withV6  [4][]int32      // those with IPv6 space too
	taken   map[uint32]bool // /24s handed to an organisation: never anyone else's
	taken48 map[uint64]bool
}

func newWorld(t *Table) *world {
	w := &world{t: t, taken: map[uint32]bool{}, taken48: map[uint64]bool{}}
	for i := range t.ASes {
		a := &t.ASes[i]
		if len(a.V4) == 0 {
			continue
		}
		for _, r := range []role{roleAny, a.role} {
			w.byRole[r] = append(w.byRole[r], int32(i))
			if len(a.V6) > 0 {
				w.withV6[r] = append(w.withV6[r], int32(i))
			}
		}
	}
	// A small table may have no AS of some role: any AS then plays it.
	for r := range w.byRole {
		if len(w.byRole[r]) == 0 {
			w.byRole[r] = w.byRole[roleAny]
		}
		if len(w.withV6[r]) == 0 {
			w.withV6[r] = w.withV6[roleAny]
		}
	}
	return w
}

// pick returns a random AS of the role; with v6, one with IPv6 space if there is any.
func (w *world) pick(r *rand.Rand, ro role, v6 bool) *AS {
	list := w.byRole[ro]
	if v6 && len(w.withV6[ro]) > 0 {
		list = w.withV6[ro]
	}
	return &w.t.ASes[list[r.IntN(len(list))]]
}

// addr4 returns a uniformly random IPv4 address of the AS (ranges weighted by size).
func (a *AS) addr4(r *rand.Rand) uint32 {
	x := uint64(r.Int64N(int64(a.size4)))
	for _, rg := range a.V4 {
		n := uint64(rg.Last-rg.First) + 1
		if x < n {
			return rg.First + uint32(x)
		}
		x -= n
	}
	return a.V4[0].First
}

// sameRange returns a random address of the range of the AS that holds x (any of its
// addresses when none does).
func (a *AS) sameRange(r *rand.Rand, x uint32) uint32 {
	for _, rg := range a.V4 {
		if rg.First <= x && x <= rg.Last {
			return rg.First + uint32(r.Int64N(int64(rg.Last-rg.First)+1))
		}
	}
	return a.addr4(r)
}

// net64 returns a random /64 of the AS's IPv6 space.
func (a *AS) net64(r *rand.Rand) uint64 {
	rg := a.V6[r.IntN(len(a.V6))]
	return rg.First + uint64(r.Int64N(int64(min(rg.Last-rg.First, 1<<62))+1))
}

// network is a pool of addresses: an IPv4 prefix and, dual-stacked, an IPv6 /64 or wider.
type network struct {
	p4, p6 netip.Prefix
}

// draw returns an address of the pool, IPv6 with probability p6 when the pool has some.
func (n network) draw(r *rand.Rand, p6 float64) netip.Addr {
	if n.p6.IsValid() && (!n.p4.IsValid() || r.Float64() < p6) {
		return ipnet.RandomIn(r, n.p6)
	}
	return ipnet.RandomIn(r, n.p4)
}

// orgNetwork carves a pool for an organisation out of an AS: an IPv4 prefix of v4Bits (24 to
// 32) in a /24 nobody else gets, and when v6 is set and the AS has IPv6 space a v6Bits prefix
// in a /48 nobody else gets.
func (w *world) orgNetwork(r *rand.Rand, a *AS, v4Bits, v6Bits int, dual bool) network {
	var n network
	for range 64 {
		x := a.addr4(r)
		if !w.taken[x>>8] {
			w.taken[x>>8] = true
			n.p4 = netip.PrefixFrom(v4(x), v4Bits).Masked()
			break
		}
	}
	if !n.p4.IsValid() {
		n.p4 = netip.PrefixFrom(v4(a.addr4(r)), v4Bits).Masked()
	}
	if dual && len(a.V6) > 0 {
		for range 64 {
			hi := a.net64(r)
			if !w.taken48[hi>>16] {
				w.taken48[hi>>16] = true
				n.p6 = netip.PrefixFrom(v6(hi, 0), v6Bits).Masked()
				break
			}
		}
	}
	return n
}
