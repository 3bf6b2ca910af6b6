package ipanomaly

import (
	"math/bits"
	"net/netip"
	"slices"
)

// The combiner is an additive logistic model over binned signals: each signal's value falls in
// one bin, each bin has a learned weight, and the raw score is the bias plus the weights of the
// active bins (see the package documentation for why). These are the signals (groups) and
// their bins.
const (
	gOwn     = iota // LCP with the principal's own history
	gAcct           // LCP with its account's history
	gGroup          // LCP with its co-users' history
	gNet            // principals (other than it) that used the network
	gBlock          // principals (other than it) that used the block
	gAff            // embedding affinity
	gNov            // how often the principal uses networks it never used before
	gEvents         // the principal's training events
	gOwnExc         // own LCP (coarse) × excursions that far: a traveller's far address means less
	gOwnDist        // distance to the nearest address of the principal's own history
	numGroups
)

var groupNames = [numGroups]string{"own", "account", "co-users", "network users", "block users", "affinity", "novelty", "events", "own×excursions", "own distance"}

// Bin counts per group.
const (
	lcpBins    = 34 + 19 // IPv4 LCP 0..32 and "no IPv4 history", IPv6 LCP in 18 bins and "no IPv6 history" (see lcpBin)
	countBins  = 10      // per family (see countBin)
	affBins    = 16
	novBins    = 6
	eventBins  = 12
	coarseBins = 12      // own LCP coarse, both families (see coarseBin)
	excBins    = 9       // excursion counts (see excBin)
	distBins   = 33 + 17 // IPv4 distance 0..32 bits, IPv6 /64 distance 0..64 in 4-bit bins
)

// groupSize is each group's number of weights; the last weight of own, account, co-users,
// novelty, events and own×excursions is its "none" bin (principal unknown, no account, no
// co-users). The affinity group has a second set of bins for unknown principals: their
// affinity is the population vector's, on another scale. The commonness groups have four:
// known or unknown principal, and whether its peers (account or co-users) know the place or
// not, since the users of a place the peers know are colleagues and those of one they do not
// know are strangers (another organisation's office, someone else's NAT).
var groupSize = [numGroups]int{
	gOwn: lcpBins + 1, gAcct: lcpBins + 1, gGroup: lcpBins + 1,
	gNet: 8 * countBins, gBlock: 8 * countBins,
	gAff: 2 * affBins, gNov: novBins + 1, gEvents: eventBins + 1, gOwnExc: coarseBins*excBins + 1,
	gOwnDist: distBins + 1,
}

// groupOff is the offset of each group's weights; numWeights their total.
var groupOff, numWeights = func() (off [numGroups]int, n int) {
	for g, s := range groupSize {
		off[g] = n
		n += s
	}
	return off, n
}()

// none returns the index of group g's "none" bin.
func none(g int) int32 { return int32(groupOff[g] + groupSize[g] - 1) }

// lcpBin bins an LCP: IPv4 bit by bit; IPv6 by 4 bits up to the /64, then "same /64" and
// "same address"; an LCP of -1 (no address of the family in the history) has its own bin.
func lcpBin(v6 bool, lcp int) int {
	if !v6 {
		if lcp < 0 {
			return v4NoHistory
		}
		return lcp
	}
	switch {
	case lcp < 0:
		return v6NoHistory
	case lcp < 64:
		return v6Bin0 + lcp/4
	case lcp < 128:
		return v6Bin0 + 16
	}
	return v6Bin0 + 17
}

// Positions in an LCP group: IPv4 LCP 0..32, then its "no history" bin, then IPv6.
const (
	v4NoHistory = 33
	v6Bin0      = 34
	v6NoHistory = v6Bin0 + 18
)

// coarseBin bins an LCP into 7 IPv4 and 5 IPv6 bins: those of another block (IPv4 up to
// v4Near, IPv6 from v6Far0 up to v6Near), then those of another network of a block, then of a
// known network.
func coarseBin(v6 bool, lcp int) int {
	lcp = max(lcp, 0)
	if !v6 {
		switch {
		case lcp < 8:
			return 0
		case lcp < 16:
			return 1
		case lcp < 20:
			return 2
		case lcp < 24:
			return 3
		case lcp < 28:
			return 4
		case lcp < 32:
			return 5
		}
		return 6
	}
	switch {
	case lcp < 32:
		return 7
	case lcp < 48:
		return 8
	case lcp < 64:
		return 9
	case lcp < 128:
		return 10
	}
	return 11
}

// countBin bins a number of principals roughly logarithmically.
func countBin(v6 bool, n int) int {
	b := 0
	switch {
	case n <= 3:
		b = n
	case n <= 5:
		b = 4
	case n <= 9:
		b = 5
	case n <= 17:
		b = 6
	case n <= 33:
		b = 7
	case n <= 65:
		b = 8
	default:
		b = 9
	}
	if v6 {
		b += countBins
	}
	return b
}

var novEdges = [novBins - 1]float32{0.05, 0.1, 0.2, 0.35, 0.5}

func novBin(rate float32) int {
	i, _ := slices.BinarySearch(novEdges[:], rate)
	return i
}

// distBin bins a distance (see sets.near); -1 is the "none" bin's business.
func distBin(v6 bool, d int) int {
	if !v6 {
		return d
	}
	return 33 + (d+3)/4
}

// Coarse bins (see coarseBin) of other networks: IPv4 bins below v4Near and IPv6 bins from
// v6Far0 below v6Near. numFar counts them.
const (
	v4Near = 4
	v6Far0 = 7
	v6Near = 10
	numFar = v4Near + v6Near - v6Far0
)

// farRow returns the excursions' row of coarse bin c of another network, -1 for a bin of a
// known network.
func farRow(c int) int {
	switch {
	case c < v4Near:
		return c
	case c >= v6Far0 && c < v6Near:
		return v4Near + c - v6Far0
	}
	return -1
}

// excBin bins a count (of excursions, or of addresses used in a network) logarithmically: 0,
// 1, 2–3, 4–7, … 128 and more.
func excBin(n float64) int { return min(excBins-1, bits.Len32(uint32(min(n, 1<<20)))) }

func eventBin(events uint32) int { return min(eventBins-1, bits.Len32(events)-1) }

// affBin bins an affinity by the quantile edges learned in training.
func affBin(edges *[affBins - 1]float32, aff float64) int {
	i, _ := slices.BinarySearch(edges[:], float32(aff))
	return i
}

// signals are one pair's raw signals: what the bins are made of and what the reasons say.
type signals struct {
	v6   bool
	pos  int // the principal's position in the history, -1 when unknown
	acct int // its account's, -1 when none
	own  int // LCP with its own history (-1 none of the family)
	dist int // distance to its nearest own address (see sets.near)
	// netAddrs is how many addresses of the address's network the principal used, when it
	// used the network: a new lease in a network it often changes address in means little.
	netAddrs int
	acctL    int // LCP with its account's history, meaningful when acct >= 0
	grpL     int // LCP with its co-users' history, meaningful when grp >= 0
	grp      int
	net      int // principals other than it that used the network
	block    int // and the block
	aff      float64
}

// peersKnow returns 1 when the principal's account or co-users used the address's prefix of
// the given length, else 0.
func (s *signals) peersKnow(bits int) int {
	if (s.acct >= 0 && s.acctL >= bits) || (s.grp >= 0 && s.grpL >= bits) {
		return 1
	}
	return 0
}

// signalsOf measures the signals of the principal at pos (or unknown, -1) with account acct
// (or none, -1) at address k (ip is the same address, for the embedding).
func (h *history) signalsOf(pos, acct int, k key, ip netip.Addr) signals {
	s := signals{v6: k.v6, pos: pos, acct: acct, own: noLCP, dist: noLCP, grp: -1}
	if pos >= 0 {
		s.own, s.dist = h.own.near(pos, k)
		if (!k.v6 && s.own >= v4NetBits) || (k.v6 && s.own >= v6NetBits) {
			s.netAddrs = h.own.inNetwork(pos, k)
		}
		s.grp = int(h.group[pos])
		if s.grp >= 0 {
			s.grpL = h.grp.lcp(s.grp, k)
		}
	}
	if acct >= 0 {
		s.acctL = h.acc.lcp(acct, k)
	}
	s.net, s.block = h.nets.of(k)
	netBits, blockBits := v4NetBits, v4BlockBits
	if k.v6 {
		netBits, blockBits = v6NetBits, v6BlockBits
	}
	if s.own >= netBits {
		s.net--
	}
	if s.own >= blockBits {
		s.block--
	}
	embPos := -1
	if pos >= 0 {
		embPos = int(h.embPos[pos])
	}
	s.aff = h.emb.Affinity(embPos, ip)
	return s
}

// bins returns the active weight of every group.
func (h *history) bins(s *signals, edges *[2][affBins - 1]float32) (idx [numGroups]int32) {
	at := func(g, b int) int32 { return int32(groupOff[g] + b) }
	idx[gOwn], idx[gNov], idx[gEvents], idx[gOwnExc] = none(gOwn), none(gNov), none(gEvents), none(gOwnExc)
	idx[gOwnDist] = none(gOwnDist)
	if s.dist >= 0 {
		idx[gOwnDist] = at(gOwnDist, distBin(s.v6, s.dist))
	}
	if s.pos >= 0 {
		c := coarseBin(s.v6, s.own)
		idx[gOwn] = at(gOwn, lcpBin(s.v6, s.own))
		idx[gNov] = at(gNov, novBin(h.novelty[s.pos]))
		idx[gEvents] = at(gEvents, eventBin(h.events[s.pos]))
		n := float64(s.netAddrs)
		if f := farRow(c); f >= 0 {
			n = float64(h.exc[s.pos*numFar+f])
		}
		idx[gOwnExc] = at(gOwnExc, c*excBins+excBin(n*h.excScale))
	}
	idx[gAcct] = none(gAcct)
	if s.acct >= 0 {
		idx[gAcct] = at(gAcct, lcpBin(s.v6, s.acctL))
	}
	idx[gGroup] = none(gGroup)
	if s.grp >= 0 {
		idx[gGroup] = at(gGroup, lcpBin(s.v6, s.grpL))
	}
	var unknown int
	if s.pos < 0 {
		unknown = 1
	}
	netBits, blockBits := v4NetBits, v4BlockBits
	if s.v6 {
		netBits, blockBits = v6NetBits, v6BlockBits
	}
	idx[gNet] = at(gNet, (2*unknown+s.peersKnow(netBits))*2*countBins+countBin(s.v6, s.net))
	idx[gBlock] = at(gBlock, (2*unknown+s.peersKnow(blockBits))*2*countBins+countBin(s.v6, s.block))
	idx[gAff] = at(gAff, unknown*affBins+affBin(&edges[unknown], s.aff))
	return idx
}
