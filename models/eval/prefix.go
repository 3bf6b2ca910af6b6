package eval

import (
	"math/bits"
	"net/netip"
	"slices"
)

// PrefixBaselines are the three simple baselines the IP-anomaly model is judged against, each
// a few lines of code a user could write: how much of the address the principal's own history
// shares (its longest common prefix with any address used before), the same over the history
// of the principal's account, and over the history of the principals that used a /16 (IPv6:
// /32) the principal used. The last two count one bit less, so that the principal's own
// address ranks above a colleague's. A score is the host boundary (32 bits for IPv4, 64 for
// IPv6) minus that prefix: higher is more anomalous. It shares no code with the model.
type PrefixBaselines struct {
	own      map[string][]netip.Addr // sorted, distinct
	account  map[string]string
	members  map[string][]string // account → principals
	blockers map[netip.Prefix][]string
	blocks   map[string][]netip.Prefix
}

// NewPrefixBaselines returns baselines that remember nothing yet.
func NewPrefixBaselines() *PrefixBaselines {
	return &PrefixBaselines{own: map[string][]netip.Addr{}, account: map[string]string{}}
}

// Add remembers that principal (of account, "" when unknown) used a. Call Done before scoring.
func (b *PrefixBaselines) Add(principal, account string, a netip.Addr) {
	b.own[principal] = append(b.own[principal], a.Unmap().WithZone(""))
	if account != "" {
		b.account[principal] = account
	}
}

// Done indexes what was added.
func (b *PrefixBaselines) Done() {
	b.members, b.blockers, b.blocks = map[string][]string{}, map[netip.Prefix][]string{}, map[string][]netip.Prefix{}
	ids := make([]string, 0, len(b.own))
	for id := range b.own {
		ids = append(ids, id)
	}
	slices.Sort(ids) // deterministic member lists
	for _, id := range ids {
		addrs := b.own[id]
		slices.SortFunc(addrs, netip.Addr.Compare)
		addrs = slices.Compact(addrs)
		b.own[id] = addrs
		if a, ok := b.account[id]; ok {
			b.members[a] = append(b.members[a], id)
		}
		var blocks []netip.Prefix
		for _, a := range addrs {
			blocks = append(blocks, blockOf(a))
		}
		slices.SortFunc(blocks, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
		blocks = slices.Compact(blocks)
		b.blocks[id] = blocks
		for _, bl := range blocks {
			b.blockers[bl] = append(b.blockers[bl], id)
		}
	}
}

func blockOf(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return netip.PrefixFrom(a, 16).Masked()
	}
	return netip.PrefixFrom(a, 32).Masked()
}

// Known reports whether principal used any address.
func (b *PrefixBaselines) Known(principal string) bool { return len(b.own[principal]) > 0 }

// Seen reports whether principal used a.
func (b *PrefixBaselines) Seen(principal string, a netip.Addr) bool {
	_, ok := slices.BinarySearchFunc(b.own[principal], a.Unmap().WithZone(""), netip.Addr.Compare)
	return ok
}

// Baseline names, in the order Scores returns them.
var BaselineNames = [3]string{"own prefix", "account prefix", "/16 co-users prefix"}

// Scores returns the three baselines' anomaly scores of principal at a (a principal without
// an account is its own account).
func (b *PrefixBaselines) Scores(principal string, a netip.Addr) [3]float64 {
	a = a.Unmap().WithZone("")
	bound := 32
	if a.Is6() {
		bound = 64
	}
	anomaly := func(lcp int) float64 { return float64(bound - min(max(lcp, 0), bound)) }
	ownL := lcpWith(b.own[principal], a)
	acctL := ownL
	if acct, ok := b.account[principal]; ok {
		for _, q := range b.members[acct] {
			acctL = max(acctL, lcpWith(b.own[q], a))
		}
	}
	coL := ownL
	seen := map[string]bool{}
	for _, bl := range b.blocks[principal] {
		for _, q := range b.blockers[bl] {
			if !seen[q] {
				seen[q] = true
				coL = max(coL, lcpWith(b.own[q], a))
			}
		}
	}
	return [3]float64{anomaly(ownL), anomaly(acctL - 1), anomaly(coL - 1)}
}

// lcpWith returns the longest common prefix of a with any address of the sorted set (0 when
// it has none of a's family): reached at a neighbour of a's insertion point.
func lcpWith(set []netip.Addr, a netip.Addr) int {
	i, _ := slices.BinarySearchFunc(set, a, netip.Addr.Compare)
	best := 0
	for _, j := range []int{i - 1, i} {
		if j >= 0 && j < len(set) && set[j].Is4() == a.Is4() {
			x, y := set[j].AsSlice(), a.AsSlice()
			n := 0
			for k := range x {
				if x[k] != y[k] {
					n += bits.LeadingZeros8(x[k] ^ y[k])
					break
				}
				n += 8
			}
			best = max(best, n)
		}
	}
	return best
}
