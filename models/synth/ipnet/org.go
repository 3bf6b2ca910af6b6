package ipnet

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// OrgConfig parameterises Org.
type OrgConfig struct {
	Seed uint64
	// Orgs is the number of organisations; Members the mean number of people in each and
	// Services the number of service principals (roles calling from the organisation's cloud
	// NAT addresses) in each.
	Orgs     int
	Members  int
	Services int
	// Start, Days and TrainDays: activity runs for Days from Start; the first TrainDays are
	// training, the rest test.
	Start     time.Time
	Days      int
	TrainDays int
	// EventsPerDay is the median number of events of a person on an active day.
	EventsPerDay float64
	// TravelRate is the share of days on which a person starts a trip.
	TravelRate float64
	// IPv6Rate is the share of offices, VPN pools and homes that are dual-stacked.
	IPv6Rate float64
	// Attacks is the number of planted attacks; 0 means as many as there are test events.
	Attacks int
	// OtherOrgShare is the share of attacks that use another organisation's networks; the
	// rest use random addresses.
	OtherOrgShare float64
}

// DefaultOrgConfig returns the scenario the acceptance tests use: 10 organisations of about
// 40 people and 3 services each over 4 weeks (3 for training).
func DefaultOrgConfig() OrgConfig {
	return OrgConfig{
		Seed:          1,
		Orgs:          10,
		Members:       40,
		Services:      3,
		Start:         time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC),
		Days:          28,
		TrainDays:     21,
		EventsPerDay:  6,
		TravelRate:    0.01,
		IPv6Rate:      0.5,
		OtherOrgShare: 0.5,
	}
}

// Validate reports the first invalid field.
func (c OrgConfig) Validate() error {
	switch {
	case c.Orgs < 2:
		return errors.New("ipnet: the organisation scenario needs at least 2 organisations")
	case c.Members < 1 || c.Services < 0:
		return errors.New("ipnet: need at least one member per organisation and no negative services")
	case c.Days < 2 || c.TrainDays < 1 || c.TrainDays >= c.Days:
		return fmt.Errorf("ipnet: need 1 <= train days (%d) < days (%d)", c.TrainDays, c.Days)
	case !(c.EventsPerDay > 0):
		return errors.New("ipnet: events per day must be positive")
	case !(c.TravelRate >= 0 && c.TravelRate < 1) || !(c.IPv6Rate >= 0 && c.IPv6Rate <= 1) || !(c.OtherOrgShare >= 0 && c.OtherOrgShare <= 1):
		return errors.New("ipnet: travel rate, IPv6 rate and other-organisation share must be probabilities")
	case c.Attacks < 0:
		return errors.New("ipnet: negative attack count")
	}
	return nil
}

// network is an address pool: a v4 prefix and optionally a v6 prefix. Addresses are drawn
// uniformly inside them (for v6, inside the prefix with a random interface identifier).
type network struct {
	v4 netip.Prefix
	v6 netip.Prefix
}

// draw returns an address of the pool, IPv6 with probability p6 when the pool has a v6 prefix.
func (n network) draw(r *rand.Rand, p6 float64) netip.Addr {
	if n.v6.IsValid() && (!n.v4.IsValid() || r.Float64() < p6) {
		return RandomIn(r, n.v6)
	}
	return RandomIn(r, n.v4)
}

// RandomIn returns a uniformly random address inside p.
func RandomIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if r.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// subPrefix returns a random sub-prefix of length bits inside p.
func subPrefix(r *rand.Rand, p netip.Prefix, bits int) netip.Prefix {
	return netip.PrefixFrom(RandomIn(r, p), bits).Masked()
}

// allocator hands out distinct public /16 (v4) and /32 (v6) blocks.
type allocator struct {
	r    *rand.Rand
	used map[netip.Prefix]bool
}

func (a *allocator) v4block() netip.Prefix {
	for {
		p := netip.PrefixFrom(randomGlobalV4(a.r), 16).Masked()
		if !a.used[p] && reservedEnd(uint64(addr4(p.Addr())), 1<<16) == 0 {
			a.used[p] = true
			return p
		}
	}
}

func (a *allocator) v6block() netip.Prefix {
	for {
		p := netip.PrefixFrom(randomGlobalV6(a.r), 32).Masked()
		if !a.used[p] {
			a.used[p] = true
			return p
		}
	}
}

// provider is an ISP, carrier or hosting company: some v4 blocks and a v6 block.
type provider struct {
	v4 []netip.Prefix
	v6 netip.Prefix
}

func (a *allocator) provider(blocks int) provider {
	p := provider{v6: a.v6block()}
	for range blocks {
		p.v4 = append(p.v4, a.v4block())
	}
	return p
}

// network carves a pool of v4Bits (and, when dual-stacked, v6Bits) out of the provider. Pools
// handed to organisations never share a /24 (v4) or /48 (v6) with another's, so "another
// organisation's network" is never also one's own.
func (a *allocator) network(r *rand.Rand, p provider, v4Bits, v6Bits int, dual bool) network {
	var n network
	for {
		n.v4 = subPrefix(r, p.v4[r.IntN(len(p.v4))], v4Bits)
		if k := netip.PrefixFrom(n.v4.Addr(), min(24, v4Bits)).Masked(); !a.used[k] {
			a.used[k] = true
			break
		}
	}
	for dual {
		n.v6 = subPrefix(r, p.v6, v6Bits)
		if k := netip.PrefixFrom(n.v6.Addr(), min(48, v6Bits)).Masked(); !a.used[k] {
			a.used[k] = true
			break
		}
	}
	return n
}

type organisation struct {
	accountID string
	offices   []network // a /24 (+ two /64 subnets' /63) per office, from business ISPs
	vpns      []network // VPN egress pools (two sites): a /27 (+ a /64) each at a hosting provider
	cloudNAT  []netip.Addr
}

type world struct {
	residential, mobile []provider
	orgs                []organisation
}

func newWorld(cfg OrgConfig) *world {
	r := stream(cfg.Seed, streamWorld, 0)
	a := &allocator{r: r, used: make(map[netip.Prefix]bool)}
	w := &world{}
	for range 20 {
		w.residential = append(w.residential, a.provider(4))
	}
	for range 3 {
		w.mobile = append(w.mobile, a.provider(4))
	}
	business := make([]provider, 5)
	for i := range business {
		business[i] = a.provider(1)
	}
	hosting := make([]provider, 4)
	for i := range hosting {
		hosting[i] = a.provider(1)
	}
	clouds := []provider{a.provider(4), a.provider(4)}
	for o := range cfg.Orgs {
		r := stream(cfg.Seed, streamOrg, uint64(o))
		org := organisation{accountID: fmt.Sprintf("%012d", r.Int64N(1e12))}
		for range 1 + r.IntN(3) {
			org.offices = append(org.offices, a.network(r, business[r.IntN(len(business))], 24, 63, r.Float64() < cfg.IPv6Rate))
		}
		for range 2 {
			org.vpns = append(org.vpns, a.network(r, hosting[r.IntN(len(hosting))], 27, 64, r.Float64() < cfg.IPv6Rate))
		}
		cloud := clouds[r.IntN(len(clouds))]
		for range 2 + r.IntN(4) {
			org.cloudNAT = append(org.cloudNAT, RandomIn(r, cloud.v4[r.IntN(len(cloud.v4))]))
		}
		w.orgs = append(w.orgs, org)
	}
	return w
}

// person is one human principal's habits.
type person struct {
	id                   *Identity
	org                  int
	office               int      // usual office
	isp                  provider // residential ISP: a new lease can come from any of its blocks
	vpn                  int      // preferred VPN site
	homeV6               netip.Prefix
	carrier              provider
	pHome, pVPN, pMobile float64
	eventsPerDay         float64
	lease                netip.Addr
	tripUntil            time.Time
	tripNet              netip.Prefix
}

// otherOfficeRate is the share of office days a person spends at another office of the
// organisation (when it has several).
const otherOfficeRate = 0.15

// otherVPNRate is the share of VPN connections that land on the organisation's other VPN site
// (fail-over, load balancing).
const otherVPNRate = 0.2

// Org generates the organisation scenario. People work from their usual office, sometimes
// another office of their organisation, from home (a residential ISP lease that changes now
// and then; IPv6 privacy addresses inside a stable /64), through the organisation's VPN pool,
// from a mobile carrier's carrier-grade NAT, and occasionally from a hotel while travelling.
// Service principals call from their organisation's cloud NAT addresses with a new role
// session each time. Attacks, in the test window, pair a principal seen in training with a
// random address or with an address from another organisation's offices or VPN pool. Normal
// test traffic naturally contains a person's first use of organisation networks (an office or
// VPN address) that colleagues used in training.
func Org(cfg OrgConfig) (*Dataset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := newWorld(cfg)
	ds := &Dataset{Split: cfg.Start.Add(time.Duration(cfg.TrainDays) * 24 * time.Hour)}
	var all []Event
	var principals []*Identity
	var orgOf []int
	idx := uint64(0)
	for o, org := range w.orgs {
		members := max(1, int(distuv.Poisson{Lambda: float64(cfg.Members), Src: stream(cfg.Seed, streamOrg, uint64(o)+1<<32)}.Rand()))
		for m := range members {
			r := stream(cfg.Seed, streamPrincipal, idx)
			idx++
			p := newPerson(r, cfg, w, o, m)
			all = append(all, p.activity(r, cfg, w)...)
			principals, orgOf = append(principals, p.id), append(orgOf, o)
		}
		for s := range cfg.Services {
			r := stream(cfg.Seed, streamPrincipal, idx)
			idx++
			id := &Identity{Type: "AssumedRole", AccountID: org.accountID, PrincipalID: AWSID(r, "AROA"), Name: fmt.Sprintf("svc-%d-%d", o, s)}
			all = append(all, serviceActivity(r, cfg, id, org)...)
			principals, orgOf = append(principals, id), append(orgOf, o)
		}
	}
	ds.split(all)
	known := make(map[*Identity]bool)
	for _, e := range ds.Train {
		known[e.Identity] = true
	}
	var victims []int
	for i, id := range principals {
		if known[id] {
			victims = append(victims, i)
		}
	}
	if len(victims) == 0 {
		return nil, errors.New("ipnet: no principal has training events")
	}
	attacks := cfg.Attacks
	if attacks == 0 {
		attacks = len(ds.Test)
	}
	r := stream(cfg.Seed, streamAttack, 0)
	testSpan := time.Duration(cfg.Days-cfg.TrainDays) * 24 * time.Hour
	for range attacks {
		v := victims[r.IntN(len(victims))]
		e := Event{Time: randomTime(r, ds.Split, testSpan), Identity: principals[v], Source: SourceAttackRandom}
		if principals[v].Type == "AssumedRole" {
			e.Session = fmt.Sprintf("session-%d", r.IntN(1e6))
		}
		if r.Float64() < cfg.OtherOrgShare {
			other := (orgOf[v] + 1 + r.IntN(len(w.orgs)-1)) % len(w.orgs)
			org := w.orgs[other]
			pools := append(append([]network(nil), org.offices...), org.vpns...)
			pool := pools[r.IntN(len(pools))]
			e.IP, e.Source = pool.draw(r, 0.5), SourceAttackOtherOrg
		} else if r.Float64() < 0.8 {
			e.IP = randomGlobalV4(r)
		} else {
			e.IP = randomGlobalV6(r)
		}
		ds.Attacks = append(ds.Attacks, e)
	}
	sortByTime(ds.Attacks)
	return ds, nil
}

func newPerson(r *rand.Rand, cfg OrgConfig, w *world, o, m int) *person {
	org := w.orgs[o]
	id := &Identity{Type: "IAMUser", AccountID: org.accountID, PrincipalID: AWSID(r, "AIDA"), Name: fmt.Sprintf("user-%d-%d", o, m)}
	if r.Float64() < 0.3 { // people who work through a personal role: principalId gets ":<name>"
		id.Type, id.PrincipalID = "AssumedRole", AWSID(r, "AROA")
	}
	isp := w.residential[r.IntN(len(w.residential))]
	p := &person{
		id:           id,
		org:          o,
		office:       r.IntN(len(org.offices)),
		isp:          isp,
		vpn:          r.IntN(2),
		carrier:      w.mobile[r.IntN(len(w.mobile))],
		pHome:        distuv.Beta{Alpha: 2, Beta: 3, Src: r}.Rand(),
		pVPN:         distuv.Beta{Alpha: 1, Beta: 6, Src: r}.Rand(),
		pMobile:      distuv.Beta{Alpha: 1, Beta: 8, Src: r}.Rand(),
		eventsPerDay: distuv.LogNormal{Mu: math.Log(cfg.EventsPerDay), Sigma: 0.5, Src: r}.Rand(),
	}
	if r.Float64() < cfg.IPv6Rate {
		p.homeV6 = netip.PrefixFrom(RandomIn(r, subPrefix(r, isp.v6, 56)), 64).Masked()
	}
	p.lease = p.newLease(r)
	return p
}

// activity simulates one person's days.
func (p *person) activity(r *rand.Rand, cfg OrgConfig, w *world) []Event {
	org := w.orgs[p.org]
	var out []Event
	for d := range cfg.Days {
		day := cfg.Start.Add(time.Duration(d) * 24 * time.Hour)
		if r.Float64() < 0.1 { // the ISP hands out a new lease now and then
			p.lease = p.newLease(r)
		}
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
		if (weekend && r.Float64() > 0.2) || r.Float64() < 0.05 {
			continue
		}
		if !day.Before(p.tripUntil) && r.Float64() < cfg.TravelRate {
			p.tripUntil = day.Add(time.Duration(1+r.IntN(5)) * 24 * time.Hour)
			p.tripNet = netip.PrefixFrom(randomGlobalV4(r), 24).Masked()
		}
		travelling := day.Before(p.tripUntil)
		// Where the person is today, and the address that place gives them today.
		var place netip.Addr
		src := SourceWork
		switch {
		case travelling:
			place, src = RandomIn(r, p.tripNet), SourceTravel
		case weekend || r.Float64() < p.pHome:
			place, src = p.lease, SourceHome
			if p.homeV6.IsValid() && r.Float64() < 0.6 {
				place = RandomIn(r, p.homeV6) // a new privacy address every day
			}
		default:
			office := p.office
			if len(org.offices) > 1 && r.Float64() < otherOfficeRate {
				office = (office + 1 + r.IntN(len(org.offices)-1)) % len(org.offices)
				src = SourceOtherOffice
			}
			place = org.offices[office].draw(r, 0.6)
		}
		n := int(distuv.Poisson{Lambda: p.eventsPerDay, Src: r}.Rand())
		for range n {
			e := Event{Time: randomTime(r, day, 24*time.Hour), Identity: p.id, IP: place, Source: src}
			switch u := r.Float64(); {
			case u < p.pMobile:
				e.IP, e.Source = p.mobileAddress(r), SourceMobile
			case u < p.pMobile+p.pVPN && !travelling:
				site := p.vpn
				if r.Float64() < otherVPNRate {
					site = 1 - site
				}
				e.IP, e.Source = org.vpns[site].draw(r, 0.5), SourceVPN
			}
			if p.id.Type == "AssumedRole" {
				e.Session = p.id.Name
			}
			out = append(out, e)
		}
	}
	return out
}

// newLease draws a home address: residential ISPs assign leases from all their blocks, so a
// household's next address is often in another /16 of the same ISP.
func (p *person) newLease(r *rand.Rand) netip.Addr {
	return RandomIn(r, p.isp.v4[r.IntN(len(p.isp.v4))])
}

// mobileAddress is a carrier-grade NAT address (v4) or a fresh /64 of the carrier (v6).
func (p *person) mobileAddress(r *rand.Rand) netip.Addr {
	if r.Float64() < 0.5 {
		return RandomIn(r, p.carrier.v6)
	}
	return RandomIn(r, p.carrier.v4[r.IntN(len(p.carrier.v4))])
}

func serviceActivity(r *rand.Rand, cfg OrgConfig, id *Identity, org organisation) []Event {
	var out []Event
	rate := distuv.LogNormal{Mu: math.Log(40), Sigma: 0.7, Src: r}.Rand()
	for d := range cfg.Days {
		day := cfg.Start.Add(time.Duration(d) * 24 * time.Hour)
		for range int(distuv.Poisson{Lambda: rate, Src: r}.Rand()) {
			out = append(out, Event{
				Time:     randomTime(r, day, 24*time.Hour),
				Identity: id,
				Session:  fmt.Sprintf("i-%017x", r.Uint64()>>4),
				IP:       org.cloudNAT[r.IntN(len(org.cloudNAT))],
				Source:   SourceService,
			})
		}
	}
	return out
}
