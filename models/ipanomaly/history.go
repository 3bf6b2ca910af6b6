package ipanomaly

import (
	"cmp"
	"math/bits"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/siemscore/siemscore/models/internal/hashsearch"
	"github.com/siemscore/siemscore/models/ipinsights"
)

// history is what the model remembers of a set of observations; the scorer measures a pair's
// signals against it. Training builds one from the earlier part of the data (to learn how the
// signals of later first uses differ from those of foreign addresses) and one from all of it
// (the model's).
type history struct {
	// Per principal, in increasing ipinsights.Key order: training events, novelty rate (see
	// goodTuring), account (-1: none), co-user group (-1: none) and the
	// embedding's row (-1: the embedding did not see it).
	keys    []uint64
	events  []uint32
	novelty []float32
	account []int32
	group   []int32
	embPos  []int32
	// exc holds, per principal, its excursions at least as far as each coarse own-LCP bin of
	// other networks (numFar of them, see excursions); excScale converts the counts of a
	// history that covers part of the data to the whole's (1 for the model's own history).
	exc      []uint32
	excScale float64
	own      sets // per principal
	accKeys  []uint64
	acc      sets // per account (xxhash of the account ID, in increasing order)
	groups   int
	grp      sets // per co-user group
	nets     counts
	emb      *ipinsights.Model
}

// principal returns the position of the principal with key k, -1 when unknown.
func (h *history) principal(k uint64) int {
	if i, ok := hashsearch.Find(h.keys, k); ok {
		return i
	}
	return -1
}

// accountOf returns the position of an account, -1 when unknown.
func (h *history) accountOf(account string) int {
	if account == "" {
		return -1
	}
	if i, ok := hashsearch.Find(h.accKeys, xxhash.Sum64String(account)); ok {
		return i
	}
	return -1
}

// noveltyPrior is the weight, in events, of the average principal's novelty rate in a
// principal's own: one with few events is assumed to behave like everyone else.
const noveltyPrior = 10

// buildHistory builds the history of the observations ds.pairs[i] for i in idx. The co-user
// groups are those of like when given (the principals like does not know have none), else
// found in idx.
func buildHistory(ds *Dataset, idx []int32, emb *ipinsights.Model, like *history, cfg *Config) *history {
	h := &history{emb: emb}
	// Principals of the subset, by key.
	pkey := make([]uint64, len(ds.principals))
	for i, p := range ds.principals {
		pkey[i] = ipinsights.Key(p)
	}
	used := make([]bool, len(ds.principals))
	for _, i := range idx {
		used[ds.pairs[i].p] = true
	}
	for i, u := range used {
		if u {
			h.keys = append(h.keys, pkey[i])
		}
	}
	slices.Sort(h.keys)
	h.keys = slices.Compact(h.keys)
	np := len(h.keys)
	posOf := make([]int32, len(ds.principals))
	for i, u := range used {
		if u {
			p, _ := slices.BinarySearch(h.keys, pkey[i])
			posOf[i] = int32(p)
		}
	}

	// Accounts of those principals.
	h.account = make([]int32, np)
	for i := range h.account {
		h.account[i] = -1
	}
	for i, u := range used {
		if u && ds.accounts[i] != "" {
			h.accKeys = append(h.accKeys, xxhash.Sum64String(ds.accounts[i]))
		}
	}
	slices.Sort(h.accKeys)
	h.accKeys = slices.Compact(h.accKeys)
	for i, u := range used {
		if u && ds.accounts[i] != "" {
			a, _ := slices.BinarySearch(h.accKeys, xxhash.Sum64String(ds.accounts[i]))
			h.account[posOf[i]] = int32(a)
		}
	}

	// Events, and how often the principal goes somewhere new.
	h.events = make([]uint32, np)
	akeys := make([]key, len(ds.addrs))
	for i, a := range ds.addrs {
		akeys[i] = keyOf(a)
	}
	for _, i := range idx {
		h.events[posOf[ds.pairs[i].p]]++
	}
	h.novelty = goodTuring(ds, idx, posOf, h.events, func(a uint32) uint64 { return netKey(akeys[a]) })

	// Distinct (principal, address) observations: the exact histories, the network counts and
	// the co-user groups.
	obs := make([]owned, 0, len(idx))
	for _, i := range idx {
		pr := ds.pairs[i]
		obs = append(obs, owned{posOf[pr.p], akeys[pr.a]})
	}
	obs = distinctOwned(obs)
	h.own = buildSets(np, obs)
	pos, keys := make([]int32, len(idx)), make([]key, len(idx))
	for j, i := range idx {
		pos[j], keys[j] = posOf[ds.pairs[i].p], akeys[ds.pairs[i].a]
	}
	h.exc = excursions(np, pos, keys)
	h.excScale = float64(len(ds.pairs)) / float64(max(1, len(idx)))
	h.nets = buildCounts(slices.Clone(obs))
	if like == nil {
		h.group, h.groups = coUserGroups(np, obs, cfg.MaxCliqueUsers, cfg.Seed)
	} else {
		h.group, h.groups = make([]int32, np), like.groups
		for p, k := range h.keys {
			h.group[p] = -1
			if q := like.principal(k); q >= 0 {
				h.group[p] = like.group[q]
			}
		}
	}
	regroup := func(of []int32, n int) sets {
		var o []owned
		for _, x := range obs {
			if g := of[x.owner]; g >= 0 {
				o = append(o, owned{g, x.k})
			}
		}
		return buildSets(n, o)
	}
	h.acc = regroup(h.account, len(h.accKeys))
	h.grp = regroup(h.group, h.groups)

	h.embPos = make([]int32, np)
	for p, k := range h.keys {
		h.embPos[p] = int32(emb.EntityPos(k))
	}
	return h
}

// goodTuring returns, per principal, the chance that its next event is in a place (the key
// of an address) it has not been before, estimated Good–Turing style as the share of its
// events in places it went to exactly once, shrunk towards the average principal's.
func goodTuring(ds *Dataset, idx, posOf []int32, events []uint32, place func(a uint32) uint64) []float32 {
	type use struct {
		pos   int32
		place uint64
	}
	uses := make([]use, len(idx))
	for j, i := range idx {
		pr := ds.pairs[i]
		uses[j] = use{posOf[pr.p], place(pr.a)}
	}
	slices.SortFunc(uses, func(a, b use) int { return cmp.Or(cmp.Compare(a.pos, b.pos), cmp.Compare(a.place, b.place)) })
	singles := make([]int, len(events))
	var total int
	for i := 0; i < len(uses); {
		j := i
		for j < len(uses) && uses[j] == uses[i] {
			j++
		}
		if j-i == 1 {
			singles[uses[i].pos]++
			total++
		}
		i = j
	}
	prior := float64(total) / float64(max(1, len(idx)))
	rate := make([]float32, len(events))
	for p, n := range events {
		rate[p] = float32((float64(singles[p]) + noveltyPrior*prior) / (float64(n) + noveltyPrior))
	}
	return rate
}

// netKey is the key of an address's network (IPv4 /24, IPv6 /64) in one key space.
func netKey(k key) uint64 {
	if k.v6 {
		return k.a6.hi
	}
	return 1<<63 | uint64(k.v4>>8)
}

// distinctOwned sorts obs as buildSets does and removes duplicates.
func distinctOwned(obs []owned) []owned {
	slices.SortFunc(obs, cmpOwned)
	return slices.Compact(obs)
}

// excursions measures how often each principal goes somewhere new, and how far. Taking its
// observations (pos[j] at keys[j], in time order) it counts, for every network (IPv4 /24,
// IPv6 /64) it goes to for the first time, the coarse bin of the longest prefix that network
// shares with the networks it used before: a trip to a hotel is one far excursion, a day at
// the office none. Each bin then holds the excursions at least that far (a traveller's trips
// to other continents are also trips out of town), the measure of how surprising a first
// use that far from its history is for it. A principal's first network of a family is no
// excursion. The rows are the coarse bins of other networks (see farRow).
func excursions(np int, pos []int32, keys []key) []uint32 {
	out := make([]uint32, np*numFar)
	nets4, nets6 := make([][]uint64, np), make([][]uint64, np)
	for j, p := range pos {
		k := keys[j]
		nets, n, bitsLen := &nets4[p], uint64(k.v4>>8), 24
		if k.v6 {
			nets, n, bitsLen = &nets6[p], k.a6.hi, 64
		}
		i, found := slices.BinarySearch(*nets, n)
		if found {
			continue
		}
		if len(*nets) > 0 {
			l := 0
			for _, q := range []int{i - 1, i} {
				if q >= 0 && q < len(*nets) {
					l = max(l, bits.LeadingZeros64((*nets)[q]^n)-(64-bitsLen))
				}
			}
			out[int(p)*numFar+farRow(coarseBin(k.v6, l))]++
		}
		*nets = slices.Insert(*nets, i, n)
	}
	for p := range np {
		row := out[p*numFar : (p+1)*numFar]
		for f := range numFar {
			if f != 0 && f != v4Near { // at least that far: cumulative within a family
				row[f] += row[f-1]
			}
		}
	}
	return out
}
