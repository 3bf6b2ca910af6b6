package ipscen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/cespare/xxhash/v2"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/siemscore/siemscore/models/synth/ipnet"
)

// Purposes of the independent random streams.
const (
	streamWorld uint64 = iota + 1
	streamOrg
	streamPrincipal
	streamAttack
)

// naming is how a family's principals are written.
type naming uint8

const (
	namedARN    naming = iota // IAM user ARNs and assumed-role ARNs with their session
	namedOpaque               // opaque IDs, no account
	namedID                   // principalIds: AIDA… for users, AROA…:session for roles
)

// attackKind is where a planted attack comes from.
type attackKind uint8

const (
	attackOtherOrg  attackKind = iota // another organisation's office or VPN pool
	attackOtherNAT                    // another company's NAT address in the shared cloud
	attackSameCloud                   // an address of the victim's own cloud provider
	attackHosting                     // a hosting provider's address
	attackISP                         // a residential ISP's address (a residential proxy)
	attackCarrier                     // a mobile carrier's address
	attackAnyAS                       // any AS
)

var attackNames = [...]string{"other_org", "other_nat", "same_cloud", "hosting", "isp", "carrier", "any_as"}

// profile is a family's knobs.
type profile struct {
	naming                 naming
	orgs, members, service int
	// dual is the share of offices and homes with IPv6; p6 the chance an event uses it then.
	dual, p6 float64
	// Beta-distributed shares of a person's events at home, through the VPN and on a mobile
	// carrier (the mean of Beta(a, b) is a/(a+b)); the rest at the office.
	home, vpn, mobile [2]float64
	// travel is the chance a day starts a trip (of 1-5 days, from a hotel network); only the
	// Travel family travels, so that every other family shows its own behaviour.
	travel float64
	// carrierWide makes a carrier's CGNAT hand out addresses from all its space; otherwise
	// from one regional pool (one range of the table).
	carrierWide bool
	// nat is the share of people's events through their company's cloud NAT addresses.
	nat float64
	// sharedClouds is the number of cloud providers all companies' NATs are in (0: each its
	// own hosting provider).
	sharedClouds int
	// renumber is the daily chance an ISP moves a home's IPv6 prefix to another /48.
	renumber float64
	attacks  []attackKind
	// attack6 is the chance an attack uses IPv6 when its place has IPv6.
	attack6 float64
}

var profiles = map[Family]profile{
	OrgARN: {naming: namedARN, orgs: 12, members: 22, service: 3, dual: 0.4, p6: 0.5,
		home: [2]float64{2, 3}, vpn: [2]float64{1, 6}, mobile: [2]float64{1, 12},
		attacks: []attackKind{attackOtherOrg, attackOtherOrg, attackHosting, attackISP}, attack6: 0.2},
	OrgOpaque: {naming: namedOpaque, orgs: 12, members: 22, service: 3, dual: 0.4, p6: 0.5,
		home: [2]float64{2, 3}, vpn: [2]float64{1, 6}, mobile: [2]float64{1, 12},
		attacks: []attackKind{attackOtherOrg, attackOtherOrg, attackHosting, attackISP}, attack6: 0.2},
	IPv6: {naming: namedARN, orgs: 8, members: 30, service: 2, dual: 1, p6: 0.8,
		home: [2]float64{3, 3}, vpn: [2]float64{1, 10}, mobile: [2]float64{1, 6}, renumber: 0.01,
		attacks: []attackKind{attackISP, attackHosting, attackCarrier, attackOtherOrg}, attack6: 0.85},
	Mobile: {naming: namedOpaque, orgs: 8, members: 30, service: 2, dual: 0.3, p6: 0.5,
		home: [2]float64{1, 6}, vpn: [2]float64{1, 20}, mobile: [2]float64{6, 3}, carrierWide: true,
		attacks: []attackKind{attackHosting, attackHosting, attackISP, attackCarrier}, attack6: 0.3},
	CloudEgress: {naming: namedARN, orgs: 20, members: 12, service: 4, dual: 0.2, p6: 0.3,
		home: [2]float64{1, 8}, vpn: [2]float64{1, 20}, mobile: [2]float64{1, 20}, nat: 0.7, sharedClouds: 2,
		attacks: []attackKind{attackOtherNAT, attackSameCloud, attackHosting, attackOtherNAT}, attack6: 0.1},
	Services: {naming: namedID, orgs: 10, members: 8, service: 20, dual: 0.3, p6: 0.4,
		home: [2]float64{2, 3}, vpn: [2]float64{1, 6}, mobile: [2]float64{1, 12},
		attacks: []attackKind{attackHosting, attackSameCloud, attackISP, attackHosting}, attack6: 0.1},
	Travel: {naming: namedID, orgs: 8, members: 30, service: 1, dual: 0.3, p6: 0.4,
		home: [2]float64{2, 4}, vpn: [2]float64{1, 8}, mobile: [2]float64{1, 5}, travel: 0.12,
		attacks: []attackKind{attackAnyAS, attackHosting, attackISP, attackAnyAS}, attack6: 0.15},
}

type organisation struct {
	account string
	offices []network
	vpns    []network
	cloud   *AS
	nat     []netip.Addr
}

// principal is one simulated identity.
type principal struct {
	org     int
	user    string // user or role name
	service bool
	id      string // principalId stem (AIDA… / AROA…)
	// People:
	office               int
	isp, carrier         *AS
	pool                 Range4 // the regional carrier pool
	lease                uint32
	home6                uint64 // the home's /64, 0 when not dual-stacked
	pHome, pVPN, pMobile float64
	rate                 float64
	tripUntil            time.Time
	trip                 network
	// Services:
	fixed []netip.Addr
}

// name writes the principal as the family names it, for an event in session.
func (p *principal) name(n naming, account, session string) string {
	switch n {
	case namedARN:
		if p.service || p.id[:4] == "AROA" {
			return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, p.user, session)
		}
		return fmt.Sprintf("arn:aws:iam::%s:user/%s", account, p.user)
	case namedOpaque:
		return fmt.Sprintf("pid-%016x", xxhash.Sum64String(account+"/"+p.user))
	}
	if p.id[:4] == "AROA" {
		return p.id + ":" + session
	}
	return p.id
}

func simulate(f Family, seed uint64, t *Table, o Options) []Event {
	pf := profiles[f]
	w := newWorld(t)
	r := stream(seed, streamWorld, 0)
	var clouds []*AS
	for range max(1, pf.sharedClouds) {
		clouds = append(clouds, w.pick(r, roleHosting, false))
	}
	orgs := make([]organisation, pf.orgs)
	for i := range orgs {
		or := stream(seed, streamOrg, uint64(i))
		org := &orgs[i]
		org.account = fmt.Sprintf("%012d", or.Int64N(1e12))
		for range 1 + or.IntN(3) {
			org.offices = append(org.offices, w.orgNetwork(or, w.pick(or, roleAny, or.Float64() < pf.dual), 24, 64, or.Float64() < pf.dual))
		}
		for range 2 {
			org.vpns = append(org.vpns, w.orgNetwork(or, w.pick(or, roleHosting, true), 27, 64, or.Float64() < pf.dual))
		}
		org.cloud = w.pick(or, roleHosting, false)
		if pf.sharedClouds > 0 {
			org.cloud = clouds[or.IntN(len(clouds))]
		}
		for range 2 + or.IntN(3) {
			org.nat = append(org.nat, v4(org.cloud.addr4(or)))
		}
	}
	var people []*principal
	var trained []bool
	var all []Event
	split := start.Add(trainDays * 24 * time.Hour)
	add := func(p *principal, ev []Event) {
		people = append(people, p)
		trained = append(trained, len(ev) > 0 && slices.ContainsFunc(ev, func(e Event) bool { return e.Time.Before(split) }))
		all = append(all, ev...)
	}
	idx := uint64(0)
	for oi := range orgs {
		n := max(1, int(math.Round(float64(pf.members)*o.Scale*(0.5+stream(seed, streamOrg, uint64(oi)+1<<32).Float64()))))
		for m := range n {
			pr := stream(seed, streamPrincipal, idx)
			idx++
			p := newPerson(pr, w, &pf, oi, &orgs[oi], m)
			add(p, p.days(pr, w, &pf, &orgs[oi]))
		}
		for s := range max(0, int(math.Round(float64(pf.service)*o.Scale))) {
			pr := stream(seed, streamPrincipal, idx)
			idx++
			p := newService(pr, w, &pf, oi, &orgs[oi], s)
			add(p, p.serviceDays(pr, &pf, &orgs[oi]))
		}
	}
	var victims []*principal
	for i, p := range people {
		if trained[i] {
			victims = append(victims, p)
		}
	}
	if len(victims) > 0 {
		all = append(all, attacks(seed, w, &pf, orgs, victims, o.Attacks)...)
	}
	sortEvents(all)
	return all
}

func newPerson(r *rand.Rand, w *world, pf *profile, oi int, org *organisation, m int) *principal {
	p := &principal{org: oi, user: fmt.Sprintf("user-%d-%d", oi, m), id: ipnet.AWSID(r, "AIDA")}
	if r.Float64() < 0.3 { // people who work through a role (SSO): the session is their name
		p.id = ipnet.AWSID(r, "AROA")
		p.user = fmt.Sprintf("AWSReservedSSO_Dev_%d_%d", oi, m)
	}
	dual := r.Float64() < pf.dual
	p.office = r.IntN(len(org.offices))
	p.isp = w.pick(r, roleISP, dual)
	p.carrier = w.pick(r, roleCarrier, true)
	p.pool = p.carrier.V4[r.IntN(len(p.carrier.V4))]
	p.lease = p.isp.addr4(r)
	if dual && len(p.isp.V6) > 0 {
		p.home6 = p.isp.net64(r)
	}
	beta := func(ab [2]float64) float64 { return distuv.Beta{Alpha: ab[0], Beta: ab[1], Src: r}.Rand() }
	p.pHome, p.pVPN, p.pMobile = beta(pf.home), beta(pf.vpn), beta(pf.mobile)
	p.rate = distuv.LogNormal{Mu: math.Log(6), Sigma: 0.5, Src: r}.Rand()
	return p
}

// days simulates a person's four weeks.
func (p *principal) days(r *rand.Rand, w *world, pf *profile, org *organisation) []Event {
	var out []Event
	session := p.user + "@corp.example"
	for d := range days {
		day := start.Add(time.Duration(d) * 24 * time.Hour)
		if r.Float64() < 0.1 { // a new lease now and then, from the same regional pool
			p.lease = p.isp.sameRange(r, p.lease)
		}
		if p.home6 != 0 && r.Float64() < pf.renumber { // the ISP moves the home's prefix
			p.home6 = p.isp.net64(r)
		}
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
		if (weekend && r.Float64() > 0.2) || r.Float64() < 0.05 {
			continue
		}
		if !day.Before(p.tripUntil) && r.Float64() < pf.travel {
			p.tripUntil = day.Add(time.Duration(1+r.IntN(5)) * 24 * time.Hour)
			hotel := w.pick(r, roleAny, false)
			p.trip = network{p4: netip.PrefixFrom(v4(hotel.addr4(r)), 24).Masked()}
		}
		travelling := day.Before(p.tripUntil)
		// Where the person is today, and what that place gives them today.
		var place netip.Addr
		src := "office"
		switch {
		case travelling:
			place, src = ipnet.RandomIn(r, p.trip.p4), "travel"
		case weekend || r.Float64() < p.pHome:
			place, src = v4(p.lease), "home"
			if p.home6 != 0 && r.Float64() < pf.p6 {
				place = v6(p.home6, r.Uint64()) // a new privacy address every day
			}
		default:
			office := p.office
			if len(org.offices) > 1 && r.Float64() < 0.15 {
				office = (office + 1 + r.IntN(len(org.offices)-1)) % len(org.offices)
			}
			place = org.offices[office].draw(r, pf.p6)
		}
		for range int(distuv.Poisson{Lambda: p.rate, Src: r}.Rand()) {
			e := Event{Time: day.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))), IP: place, Source: src}
			switch u := r.Float64(); {
			case u < p.pMobile:
				e.IP, e.Source = p.mobileAddress(r, pf), "mobile"
			case u < p.pMobile+p.pVPN && !travelling:
				site := r.IntN(len(org.vpns))
				e.IP, e.Source = org.vpns[site].draw(r, pf.p6), "vpn"
			case u < p.pMobile+p.pVPN+pf.nat && !travelling:
				e.IP, e.Source = org.nat[r.IntN(len(org.nat))], "nat"
			}
			e.Principal = p.name(pf.naming, org.account, session)
			out = append(out, e)
		}
	}
	return out
}

// mobileAddress is a carrier-grade NAT address of the person's regional pool (anywhere in
// the carrier's space when the profile says so), or a new IPv6 /64 of the carrier.
func (p *principal) mobileAddress(r *rand.Rand, pf *profile) netip.Addr {
	if len(p.carrier.V6) > 0 && r.Float64() < pf.p6 {
		return v6(p.carrier.net64(r), r.Uint64())
	}
	if pf.carrierWide {
		return v4(p.carrier.addr4(r))
	}
	return v4(p.pool.First + uint32(r.Int64N(int64(p.pool.Last-p.pool.First)+1)))
}

func newService(r *rand.Rand, w *world, pf *profile, oi int, org *organisation, s int) *principal {
	p := &principal{org: oi, user: fmt.Sprintf("svc-%d-%d", oi, s), service: true, id: ipnet.AWSID(r, "AROA")}
	p.rate = distuv.LogNormal{Mu: math.Log(30), Sigma: 0.7, Src: r}.Rand()
	switch u := r.Float64(); {
	case u < 0.5: // the organisation's NAT gateways
		p.fixed = append(p.fixed, org.nat...)
	case u < 0.8: // its own elastic addresses in the organisation's cloud
		for range 1 + r.IntN(3) {
			p.fixed = append(p.fixed, v4(org.cloud.addr4(r)))
		}
	default: // a server in an office
		p.fixed = append(p.fixed, org.offices[r.IntN(len(org.offices))].draw(r, 0))
	}
	return p
}

// serviceDays simulates a service role: every run a new session, from its fixed addresses;
// now and then a redeploy moves one address inside its /24 or to another address of the cloud.
func (p *principal) serviceDays(r *rand.Rand, pf *profile, org *organisation) []Event {
	var out []Event
	for d := range days {
		day := start.Add(time.Duration(d) * 24 * time.Hour)
		if r.Float64() < 0.03 {
			i := r.IntN(len(p.fixed))
			if r.IntN(2) == 0 {
				p.fixed[i] = ipnet.RandomIn(r, netip.PrefixFrom(p.fixed[i], 24).Masked())
			} else {
				p.fixed[i] = v4(org.cloud.addr4(r))
			}
		}
		for range int(distuv.Poisson{Lambda: p.rate, Src: r}.Rand()) {
			out = append(out, Event{
				Time:      day.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))),
				Principal: p.name(pf.naming, org.account, fmt.Sprintf("run-%016x", r.Uint64())),
				IP:        p.fixed[r.IntN(len(p.fixed))],
				Source:    "service",
			})
		}
	}
	return out
}

// attacks plants n attacks in the test window, each on one of the victims (the principals
// seen in training) drawn uniformly, since a stolen credential is anybody's, from a place of
// the profile's kinds.
func attacks(seed uint64, w *world, pf *profile, orgs []organisation, victims []*principal, n int) []Event {
	r := stream(seed, streamAttack, 0)
	split := start.Add(trainDays * 24 * time.Hour)
	out := make([]Event, 0, n)
	for range n {
		p := victims[r.IntN(len(victims))]
		org := &orgs[p.org]
		kind := pf.attacks[r.IntN(len(pf.attacks))]
		use6 := r.Float64() < pf.attack6
		var ip netip.Addr
		switch kind {
		case attackOtherOrg:
			other := &orgs[(p.org+1+r.IntN(len(orgs)-1))%len(orgs)]
			pools := append(append([]network(nil), other.offices...), other.vpns...)
			ip = pools[r.IntN(len(pools))].draw(r, b2f(use6))
		case attackOtherNAT:
			other := &orgs[(p.org+1+r.IntN(len(orgs)-1))%len(orgs)]
			ip = other.nat[r.IntN(len(other.nat))]
		case attackSameCloud:
			ip = v4(org.cloud.addr4(r))
		default:
			ro := map[attackKind]role{attackHosting: roleHosting, attackISP: roleISP, attackCarrier: roleCarrier, attackAnyAS: roleAny}[kind]
			a := w.pick(r, ro, use6)
			ip = v4(a.addr4(r))
			if use6 && len(a.V6) > 0 {
				ip = v6(a.net64(r), r.Uint64())
			}
		}
		session := fmt.Sprintf("attacker-%d", r.IntN(1e6))
		out = append(out, Event{
			Time:      split.Add(time.Duration(r.Int64N(int64((days - trainDays) * 24 * time.Hour)))),
			Principal: p.name(pf.naming, org.account, session),
			IP:        ip,
			Source:    "attack:" + attackNames[kind],
		})
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
