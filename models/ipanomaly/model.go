package ipanomaly

import (
	"net/netip"

	"github.com/siemscore/siemscore/models/calibrate"
	"github.com/siemscore/siemscore/models/ipinsights"
	"github.com/siemscore/siemscore/processors/identity"
)

// Model is a trained IP-anomaly model. It is immutable: scoring only reads it and is safe for
// any number of goroutines; Score does not allocate.
type Model struct {
	cfg Config
	h   *history
	c   *combiner
	// affEdges are the inner edges of the affinity bins, of known principals and of unknown
	// ones (scored with the population vector).
	affEdges [2][affBins - 1]float32
	// refRarity and refAffinity are the mean contributions of the commonness groups and of the
	// affinity group over the normal examples: a contribution above them by more than
	// reasonMargin says that signal spoke (network_rare, affinity_low).
	refRarity, refAffinity float64
	cal                    *calibrate.Calibrator
}

// reasonMargin is how far, in log-odds, a signal's contribution must exceed its normal level
// to be named as a reason.
const reasonMargin = 1

// Result is the score of one (principal, address) pair.
type Result struct {
	// Raw is the combiner's log-odds that the pair is anomalous: higher is more anomalous.
	Raw float64
	// ScoreNorm is Raw calibrated to 0–100 (see models/calibrate).
	ScoreNorm float64
	Reasons   Reasons
}

// Config returns the hyperparameters the model was trained with.
func (m *Model) Config() Config { return m.cfg }

// Principals returns the number of principals seen in training.
func (m *Model) Principals() int { return len(m.h.keys) }

// Accounts returns the number of accounts the trained principals belong to.
func (m *Model) Accounts() int { return len(m.h.accKeys) }

// Groups returns the number of co-user groups found in training.
func (m *Model) Groups() int { return m.h.groups }

// Known reports whether the principal with this ID (identity.Principal.ID) was seen in
// training.
func (m *Model) Known(id string) bool { return m.h.principal(ipinsights.Key(id)) >= 0 }

// Score scores principal p (from identity.Record or identity.Parse) at ip. ok is false only
// when ip is not a valid address.
func (m *Model) Score(p identity.Principal, ip netip.Addr) (res Result, ok bool) {
	if !ip.IsValid() {
		return Result{}, false
	}
	h := m.h
	k := keyOf(ip)
	pos := h.principal(ipinsights.Key(p.ID))
	acct := -1
	if pos >= 0 {
		acct = int(h.account[pos])
	}
	if acct < 0 {
		acct = h.accountOf(p.Account)
	}
	s := h.signalsOf(pos, acct, k, ip)
	idx := h.bins(&s, &m.affEdges)
	res.Raw = m.c.logit(&idx)
	res.ScoreNorm = m.cal.Score(res.Raw)
	res.Reasons = m.reasons(&s, &idx)
	return res, true
}

func (m *Model) reasons(s *signals, idx *[numGroups]int32) Reasons {
	netBits, blockBits, addrBits := v4NetBits, v4BlockBits, v4Bits
	if s.v6 {
		netBits, blockBits, addrBits = v6NetBits, v6BlockBits, v6Bits
	}
	var r Reasons
	if s.pos < 0 {
		r |= ReasonPrincipalUnknown
	} else {
		if s.own < addrBits {
			r |= ReasonIPNewForPrincipal
		}
		if s.own < netBits {
			r |= ReasonNetworkNewForPrincipal
		}
		if m.h.events[s.pos] < uint32(m.cfg.MinPrincipalEvents) {
			r |= ReasonPrincipalFewEvents
		}
		if m.h.emb.Shared(int(m.h.embPos[s.pos])) {
			r |= ReasonEntityVectorShared
		}
	}
	if s.own < netBits {
		if s.acct >= 0 && s.acctL >= netBits {
			r |= ReasonNetworkKnownToAccount
		}
		if s.grp >= 0 && s.grpL >= netBits {
			r |= ReasonNetworkKnownToPeers
		}
		if s.net == 0 {
			r |= ReasonNetworkNeverSeen
		}
	}
	if s.own < blockBits && s.block == 0 {
		r |= ReasonBlockNeverSeen
	}
	w := m.c.w
	if w[idx[gNet]]+w[idx[gBlock]]-m.refRarity > reasonMargin {
		r |= ReasonNetworkRare
	}
	if w[idx[gAff]]-m.refAffinity > reasonMargin {
		r |= ReasonAffinityLow
	}
	return r
}
