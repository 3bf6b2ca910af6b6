package ipscen

import (
	"errors"
	"math"
	"net/netip"
	"slices"
)

// The tutorial scheme's generative form (models/synth/ipnet): each event travels with the
// principal's p_travel ~ Beta(1, 30) to a uniformly random range of the table, else is at home
// (p_home ~ Beta(3, 5)) or at work, Normal(σ = 10) table positions around that centre; the
// address is uniform in the range; attacks are uniformly random ranges.
const (
	tutorialJitter                   = 10
	tutorialTravelA, tutorialTravelB = 1.0, 30.0
	tutorialHomeA, tutorialHomeB     = 3.0, 5.0
)

// TutorialOracle returns the plug-in Bayes score of a tutorial scenario's pairs: the log of the
// ratio of the attack distribution (a uniformly random range) to the principal's normal one,
// whose parameters (home and work centres, travel and home shares, activity) it estimates from
// the principal's labelled training events with the generator's own form and priors. A model
// sees neither the labels nor the form, so no model can be expected to rank the pairs better:
// its AUC is the bound the tutorial's AUC target is checked against. Most of what it cannot
// rank is travel: a traveller's first use of a random range is an attack's by construction,
// and only how often the principal travels tells them apart. Higher is more anomalous; a
// principal without training events scores +Inf.
func TutorialOracle(sc *Scenario, t *Table) (func(e *Event) float64, error) {
	if sc.Family != Tutorial {
		return nil, errors.New("ipscen: the oracle knows the tutorial scheme only")
	}
	type stats struct {
		home, work []int
		travel     int
	}
	per := map[string]*stats{}
	for i := range sc.Train {
		e := &sc.Train[i]
		s := per[e.Principal]
		if s == nil {
			s = &stats{}
			per[e.Principal] = s
		}
		switch e.Source {
		case "home":
			s.home = append(s.home, t.position(e.IP))
		case "work":
			s.work = append(s.work, t.position(e.IP))
		default:
			s.travel++
		}
	}
	type params struct {
		events, pTravel, pHome float64
		home, work             float64
	}
	ps := make(map[string]params, len(per))
	for p, s := range per {
		n := float64(len(s.home) + len(s.work) + s.travel)
		q := params{
			events:  n,
			pTravel: (float64(s.travel) + tutorialTravelA) / (n + tutorialTravelA + tutorialTravelB),
			pHome:   (float64(len(s.home)) + tutorialHomeA) / (float64(len(s.home)+len(s.work)) + tutorialHomeA + tutorialHomeB),
			home:    median(s.home),
			work:    median(s.work),
		}
		if len(s.home) == 0 { // never seen at home: its home is anywhere, as a travel is
			q.home = math.NaN()
		}
		if len(s.work) == 0 {
			q.work = math.NaN()
		}
		ps[p] = q
	}
	n := float64(len(t.V4))
	return func(e *Event) float64 {
		q, ok := ps[e.Principal]
		if !ok {
			return math.Inf(1)
		}
		j := float64(t.position(e.IP))
		near := func(c float64) float64 {
			if math.IsNaN(c) {
				return 1 / n
			}
			d := (j - c) / tutorialJitter
			return math.Exp(-d*d/2) / (tutorialJitter * math.Sqrt(2*math.Pi))
		}
		normal := q.pTravel/n + (1-q.pTravel)*(q.pHome*near(q.home)+(1-q.pHome)*near(q.work))
		// The attack density is the same for every pair (1/n per range, spread over its
		// addresses as a normal event is), so the ratio is, up to a constant, the inverse of
		// the principal's expected number of normal events at this range.
		return -math.Log(q.events * normal)
	}, nil
}

// position returns the table position of a's range (the nearest one after it when none
// holds it).
func (t *Table) position(a netip.Addr) int {
	i, _ := t.rangeOf(a)
	return min(i, len(t.V4)-1)
}

// rangeOf returns the position of the IPv4 range holding a, or where it would be and false.
func (t *Table) rangeOf(a netip.Addr) (int, bool) {
	return slices.BinarySearchFunc(t.V4, u32(a.Unmap()), func(r Ranged4, x uint32) int {
		switch {
		case r.Last < x:
			return -1
		case r.First > x:
			return 1
		}
		return 0
	})
}

func median(v []int) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return float64(s[len(s)/2])
}
