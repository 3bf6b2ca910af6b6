// Package ipscen generates families of (principal, IP address) scenarios with planted attacks
// for judging the IP-anomaly model (models/ipanomaly) against simple baselines on data it was
// not tuned to. Each family is a different way real organisations reach the Internet:
//
//   - Tutorial: the SageMaker IP Insights tutorial's scheme (home and work networks jittered
//     around in the ASN table, travel, Pareto activity; attacks from a random AS), plain names;
//   - OrgARN and OrgOpaque: organisations whose people share office, VPN and cloud networks,
//     working from home, mobile carriers and hotels; attacks from another organisation's
//     networks and from hosting and residential addresses; principals as IAM ARNs (users and
//     assumed roles, whose session names change), or as opaque IDs with no account;
//   - IPv6: dual-stacked organisations and homes, privacy addresses changing daily inside a
//     stable /64, ISPs renumbering customers inside and across /48s;
//   - Mobile: people mostly on carriers' CGNAT pools, hopping across the carrier's whole
//     address space, and a new IPv6 /64 per session;
//   - CloudEgress: roles of many companies calling through a few NAT addresses each in the same
//     cloud provider; attacks from other companies' NAT addresses and the same cloud;
//   - Services: service roles on fixed addresses that a redeploy moves now and then;
//   - Travel: people who travel a lot, from hotel and roaming networks anywhere.
//
// Addresses come from an IP-to-ASN table: the real one (@ip-location-db/asn, which the tests
// install at test time, see testdata/install-asn.sh) when it is there, as the tutorial used
// ip2asn, else a synthetic one (SyntheticTable). Every scenario is deterministic for its
// family, seed and table.
package ipscen

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/siemscore/siemscore/models/synth/ipnet"
)

// Family is a kind of scenario.
type Family uint8

// Families.
const (
	Tutorial Family = iota
	OrgARN
	OrgOpaque
	IPv6
	Mobile
	CloudEgress
	Services
	Travel
	numFamilies
)

var familyNames = [numFamilies]string{"tutorial", "org-arn", "org-opaque", "ipv6", "mobile", "cloud-egress", "services", "travel"}

func (f Family) String() string {
	if f < numFamilies {
		return familyNames[f]
	}
	return fmt.Sprintf("family(%d)", f)
}

// Families lists every family.
func Families() []Family {
	out := make([]Family, numFamilies)
	for i := range out {
		out[i] = Family(i)
	}
	return out
}

// Event is one observation: a principal, as a principal,ip CSV would name it, at an address.
type Event struct {
	Time      time.Time
	Principal string
	IP        netip.Addr
	// Source says what produced it: "office", "home", "vpn", "mobile", "travel", "nat",
	// "service", the tutorial's "home", "work" and "travel", or for planted attacks
	// "attack:<kind>".
	Source string
}

// Attack reports whether the event is a planted attack.
func (e *Event) Attack() bool { return len(e.Source) > 7 && e.Source[:7] == "attack:" }

// Scenario is a generated family instance split in time: training events, later normal
// events, and planted attacks among the later ones.
type Scenario struct {
	Family  Family
	Seed    uint64
	Table   string // the table's source
	Train   []Event
	Test    []Event
	Attacks []Event
}

// Options size the scenarios.
type Options struct {
	// Scale multiplies the number of principals (default 1: a few hundred, ~30-60k training
	// events).
	Scale float64
	// Attacks is the number of planted attacks (default 2000).
	Attacks int
}

func (o Options) withDefaults() Options {
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.Attacks <= 0 {
		o.Attacks = 2000
	}
	return o
}

// Generation constants: four weeks, three of them for training.
var start = time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)

const (
	days      = 28
	trainDays = 21
)

// Generate builds one scenario of the family from the table.
func Generate(f Family, seed uint64, t *Table, o Options) (*Scenario, error) {
	o = o.withDefaults()
	sc := &Scenario{Family: f, Seed: seed, Table: t.Source}
	var all []Event
	switch f {
	case Tutorial:
		ev, err := tutorial(seed, t, o)
		if err != nil {
			return nil, err
		}
		all = ev
	case OrgARN, OrgOpaque, IPv6, Mobile, CloudEgress, Services, Travel:
		all = simulate(f, seed, t, o)
	default:
		return nil, fmt.Errorf("ipscen: unknown family %d", f)
	}
	split := start.Add(trainDays * 24 * time.Hour)
	for _, e := range all {
		switch {
		case e.Attack():
			sc.Attacks = append(sc.Attacks, e)
		case e.Time.Before(split):
			sc.Train = append(sc.Train, e)
		default:
			sc.Test = append(sc.Test, e)
		}
	}
	for _, ev := range [][]Event{sc.Train, sc.Test, sc.Attacks} {
		slices.SortStableFunc(ev, func(a, b Event) int { return a.Time.Compare(b.Time) })
	}
	if len(sc.Train) == 0 || len(sc.Attacks) == 0 {
		return nil, fmt.Errorf("ipscen: %s seed %d produced no training events or no attacks", f, seed)
	}
	return sc, nil
}

// tutorial runs ipnet's tutorial generator over the table's IPv4 ranges, principals named as
// the workshop's CSV names them.
func tutorial(seed uint64, t *Table, o Options) ([]Event, error) {
	cfg := ipnet.DefaultTutorialConfig()
	cfg.Seed = seed
	cfg.Users = int(400 * o.Scale)
	cfg.Start, cfg.Days, cfg.TrainDays = start, days, trainDays
	cfg.Attacks = o.Attacks
	// The tutorial drew home and work up to 50000 positions apart in a table of ~400k
	// ranges; the same share of a smaller table.
	cfg.HomeWorkWindow = max(1, len(t.V4)/8)
	table := make([]ipnet.ASN, len(t.V4))
	for i, r := range t.V4 {
		table[i] = ipnet.ASN{Number: t.ASes[r.AS].Number, First: v4(r.First), Last: v4(r.Last)}
	}
	ds, err := ipnet.TutorialOn(cfg, table)
	if err != nil {
		return nil, fmt.Errorf("ipscen: %w", err)
	}
	var out []Event
	for _, set := range [][]ipnet.Event{ds.Train, ds.Test, ds.Attacks} {
		for _, e := range set {
			src := e.Source.String()
			if e.Source.Attack() {
				src = "attack:random_as"
			}
			out = append(out, Event{Time: e.Time, Principal: e.Identity.Name, IP: e.IP, Source: src})
		}
	}
	return out, nil
}

// stream returns an independent generator for one purpose.
func stream(seed, purpose, index uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, purpose<<48^index))
}

func sortEvents(ev []Event) {
	slices.SortStableFunc(ev, func(a, b Event) int { return cmp.Compare(a.Time.UnixNano(), b.Time.UnixNano()) })
}
