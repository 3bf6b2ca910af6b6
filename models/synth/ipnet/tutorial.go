package ipnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// ASN is one entry of the synthesised ASN table: a contiguous IPv4 range owned by one
// autonomous system. The table is sorted by address, so neighbouring positions are
// neighbouring networks, which is what the tutorial's "jitter around home/work" relies on.
type ASN struct {
	Number      uint32
	First, Last netip.Addr
}

// TutorialConfig parameterises Tutorial. The distribution parameters are the tutorial's and
// are fixed: travel probability ~ Beta(1, 30), home-vs-work ~ Beta(3, 5), ASN jitter
// ~ Normal(σ = 10) table positions, events per user ~ EventsScale·Pareto(α = 1).
type TutorialConfig struct {
	Seed  uint64
	Users int
	// ASNs is the size of the synthesised ASN table.
	ASNs int
	// Start, Days and TrainDays: events are spread uniformly over Days from Start; the first
	// TrainDays are training, the rest test (the tutorial: 10 days, 7 for training).
	Start     time.Time
	Days      int
	TrainDays int
	// EventsScale and MaxEvents bound the per-user activity (tutorial: 50 and 10000).
	EventsScale float64
	MaxEvents   int
	// HomeWorkWindow is the largest distance, in table positions, between a user's home and
	// work ASN (the tutorial used 50000 positions of a ~400k-entry table).
	HomeWorkWindow int
	// Attacks is the number of planted attacks; 0 means as many as there are test events of
	// users seen in training (the tutorial's attack_freq = 1).
	Attacks int
}

// DefaultTutorialConfig returns a configuration of the tutorial's shape sized for tests:
// 1000 users over a 20000-entry ASN table.
func DefaultTutorialConfig() TutorialConfig {
	return TutorialConfig{
		Seed:           1,
		Users:          1000,
		ASNs:           20000,
		Start:          time.Date(2018, 11, 4, 0, 0, 0, 0, time.UTC),
		Days:           10,
		TrainDays:      7,
		EventsScale:    50,
		MaxEvents:      10000,
		HomeWorkWindow: 2500,
	}
}

// Validate reports the first invalid field.
func (c TutorialConfig) Validate() error {
	switch {
	case c.Users < 1:
		return errors.New("ipnet: tutorial needs at least one user")
	case c.ASNs < 100:
		return fmt.Errorf("ipnet: %d ASNs, need at least 100", c.ASNs)
	case c.Days < 2 || c.TrainDays < 1 || c.TrainDays >= c.Days:
		return fmt.Errorf("ipnet: need 1 <= train days (%d) < days (%d)", c.TrainDays, c.Days)
	case !(c.EventsScale >= 1) || c.MaxEvents < 1:
		return errors.New("ipnet: events scale and max events must be at least 1")
	case c.HomeWorkWindow < 1 || c.HomeWorkWindow >= c.ASNs/2:
		return fmt.Errorf("ipnet: home-work window %d outside [1, ASNs/2)", c.HomeWorkWindow)
	case c.Attacks < 0:
		return errors.New("ipnet: negative attack count")
	}
	return nil
}

// Purposes of the independent random streams.
const (
	streamTable uint64 = iota + 1
	streamUser
	streamAttack
	streamWorld
	streamOrg
	streamPrincipal
)

// SynthesizeASNTable builds a table of n IPv4 ASN ranges over public unicast space: CIDR-
// aligned blocks of /24 to /14 (sizes log-uniform, as most real allocations are small) in
// address order with random gaps.
func SynthesizeASNTable(seed uint64, n int) []ASN {
	r := stream(seed, streamTable, 0)
	bits := make([]int, n)
	var total float64
	for i := range bits {
		bits[i] = 8 + r.IntN(11)
		total += float64(uint32(1) << bits[i])
	}
	const first, end = 1 << 24, 224 << 24 // 1.0.0.0 up to multicast
	meanGap := 0.5 * (float64(end-first) - 1.5*total) / float64(n)
	table := make([]ASN, 0, n)
	cursor := uint64(first)
	for _, b := range bits {
		size := uint64(1) << b
		cursor += uint64(r.Float64() * 2 * max(meanGap, 0))
		for {
			cursor = (cursor + size - 1) &^ (size - 1)
			if skip := reservedEnd(cursor, size); skip > 0 {
				cursor = skip
				continue
			}
			break
		}
		if cursor+size > end {
			break
		}
		table = append(table, ASN{
			Number: 1000 + uint32(r.IntN(400000)),
			First:  v4(uint32(cursor)),
			Last:   v4(uint32(cursor + size - 1)),
		})
		cursor += size
	}
	return table
}

// reservedEnd returns the end of the special-purpose block [start, start+size) overlaps, or 0.
func reservedEnd(start, size uint64) uint64 {
	for _, p := range reservedV4 {
		lo := uint64(p.Addr().As4()[0])<<24 | uint64(p.Addr().As4()[1])<<16
		hi := lo + uint64(1)<<(32-p.Bits())
		if start < hi && lo < start+size {
			return hi
		}
	}
	return 0
}

var reservedV4 = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
}

func drawFromASN(r *rand.Rand, a ASN) netip.Addr {
	lo, hi := addr4(a.First), addr4(a.Last)
	return v4(lo + uint32(r.Int64N(int64(hi-lo)+1)))
}

func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Tutorial generates the SageMaker IP Insights tutorial's login activity: every user has a
// home and a work ASN; each event the user travels (to a uniformly random ASN) with its own
// probability p_travel ~ Beta(1, 30), otherwise is at home with probability p_home ~ Beta(3, 5)
// or at work, jittered by Normal(σ = 10) positions around that ASN in the sorted table; the
// address is uniform within the chosen ASN. Attacks pair users seen in training with an
// address from a uniformly random ASN. It returns the dataset and the ASN table.
func Tutorial(cfg TutorialConfig) (*Dataset, []ASN, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	table := SynthesizeASNTable(cfg.Seed, cfg.ASNs)
	ds, err := TutorialOn(cfg, table)
	return ds, table, err
}

// TutorialOn generates the tutorial's activity over a given ASN table, sorted by address (a
// real IP-to-ASN table, as the tutorial used ip2asn); cfg.ASNs is ignored.
func TutorialOn(cfg TutorialConfig, table []ASN) (*Dataset, error) {
	cfg.ASNs = max(cfg.ASNs, len(table))
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HomeWorkWindow >= len(table)/2 {
		return nil, fmt.Errorf("ipnet: home-work window %d outside [1, %d)", cfg.HomeWorkWindow, len(table)/2)
	}
	n := len(table)
	span := time.Duration(cfg.Days) * 24 * time.Hour
	ds := &Dataset{Split: cfg.Start.Add(time.Duration(cfg.TrainDays) * 24 * time.Hour)}
	var all []Event
	users := make([]*Identity, cfg.Users)
	for u := range cfg.Users {
		r := stream(cfg.Seed, streamUser, uint64(u))
		users[u] = &Identity{Type: "IAMUser", AccountID: "123456789012", PrincipalID: AWSID(r, "AIDA"), Name: fmt.Sprintf("user_%d", u)}
		home := r.IntN(n)
		work := home
		for work == home {
			work = ((home+r.IntN(2*cfg.HomeWorkWindow)-cfg.HomeWorkWindow)%n + n) % n
		}
		events := min(int(distuv.Pareto{Xm: cfg.EventsScale, Alpha: 1, Src: r}.Rand()), cfg.MaxEvents)
		pTravel := distuv.Beta{Alpha: 1, Beta: 30, Src: r}.Rand()
		pHome := distuv.Beta{Alpha: 3, Beta: 5, Src: r}.Rand()
		for range events {
			var pos int
			src := SourceTravel
			if r.Float64() < pTravel {
				pos = r.IntN(n)
			} else {
				center, s := work, SourceWork
				if r.Float64() < pHome {
					center, s = home, SourceHome
				}
				src = s
				jitter := distuv.Normal{Mu: float64(center), Sigma: 10, Src: r}.Rand()
				pos = (int(jitter)%n + n) % n
			}
			all = append(all, Event{
				Time:     randomTime(r, cfg.Start, span),
				Identity: users[u],
				IP:       drawFromASN(r, table[pos]),
				Source:   src,
			})
		}
	}
	ds.split(all)
	known := make(map[*Identity]bool)
	for _, e := range ds.Train {
		known[e.Identity] = true
	}
	trained := make([]*Identity, 0, len(known))
	for _, id := range users { // in user order, not map order, for determinism
		if known[id] {
			trained = append(trained, id)
		}
	}
	attacks := cfg.Attacks
	if attacks == 0 {
		for _, e := range ds.Test {
			if known[e.Identity] {
				attacks++
			}
		}
	}
	if len(trained) == 0 {
		return nil, errors.New("ipnet: no user has training events; increase Users or TrainDays")
	}
	r := stream(cfg.Seed, streamAttack, 0)
	testSpan := time.Duration(cfg.Days-cfg.TrainDays) * 24 * time.Hour
	for range attacks {
		ds.Attacks = append(ds.Attacks, Event{
			Time:     randomTime(r, ds.Split, testSpan),
			Identity: trained[r.IntN(len(trained))],
			IP:       drawFromASN(r, table[r.IntN(n)]),
			Source:   SourceAttackRandom,
		})
	}
	sortByTime(ds.Attacks)
	return ds, nil
}
