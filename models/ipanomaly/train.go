package ipanomaly

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/siemscore/siemscore/models/calibrate"
	"github.com/siemscore/siemscore/models/ipinsights"
)

// MinPairs is the smallest dataset Train accepts.
const MinPairs = ipinsights.MinPairs

// minSplit is the smallest dataset that is split in time; a smaller one trains no combiner
// (the prior scores it) and is calibrated on itself.
const minSplit = 50

// numSplits is the number of time splits the combiner's examples come from.
const numSplits = 2

// Progress receives one line per training step, without a trailing newline.
type Progress func(string)

// Train fits a model to ds. It is deterministic for cfg.Seed and cfg.Embedding.Seed.
func Train(ctx context.Context, ds *Dataset, cfg Config, progress Progress) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ds == nil || ds.Len() < MinPairs {
		return nil, fmt.Errorf("ipanomaly: need at least %d training pairs", MinPairs)
	}
	if progress == nil {
		progress = func(string) {}
	}
	start := time.Now()
	order := timeOrder(ds)
	n := len(order)
	// Two time splits: the history is the earlier 80% of the observations, or 60%, and the
	// examples come from the rest (see the package documentation).
	var splits []int
	for k := range numSplits {
		splits = append(splits, n-int(float64(k+1)*cfg.HoldoutFraction*float64(n)+0.5))
	}
	if n < minSplit {
		splits = []int{n}
	}
	late := order[splits[0]:]

	// The embedding learns from the earliest history only, so that its affinity for every
	// held-out first use is what it will be for the first uses it scores later.
	first := order[:splits[len(splits)-1]]
	eds := ipinsights.NewDataset()
	for _, i := range first {
		pr := ds.pairs[i]
		if err := eds.Add(ds.principals[pr.p], ds.addrs[pr.a]); err != nil {
			return nil, fmt.Errorf("ipanomaly: %w", err)
		}
	}
	emb, err := ipinsights.Train(ctx, eds, cfg.Embedding, func(p ipinsights.Progress) {
		progress(fmt.Sprintf("ip: embedding epoch %d/%d loss %.4f, %.0f pairs/s (%s)", p.Epoch, p.Epochs, p.Loss, p.PairsPerSec, p.Elapsed.Round(time.Millisecond)))
	})
	if err != nil {
		return nil, fmt.Errorf("ipanomaly: embedding: %w", err)
	}
	progress(fmt.Sprintf("ip: embedding of %d principals on %d pairs in %s", emb.Principals(), len(first), time.Since(start).Round(time.Millisecond)))

	m := &Model{cfg: cfg}
	m.cfg.Embedding.Workers = 0
	type split struct {
		h      *history
		drafts []draft
	}
	var ss []split
	var t *trainer // the latest split's: its history is the calibration's
	positives := 0
	for k, nk := range splits {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		h := buildHistory(ds, order[:nk], emb, nil, &cfg)
		tk := &trainer{ds: ds, cfg: &cfg, h: h, r: rand.New(rand.NewPCG(cfg.Seed, 0x5eed+uint64(k)))}
		ss = append(ss, split{h, tk.drafts(order[:nk], order[nk:])})
		positives += tk.positives
		if k == 0 {
			t = tk
		}
	}
	hist := t.h
	var all []draft
	for _, sp := range ss {
		all = append(all, sp.drafts...)
	}
	m.affEdges = affinityEdges(all)
	ex := make([]example, 0, len(all))
	for _, sp := range ss {
		for i := range sp.drafts {
			d := &sp.drafts[i]
			ex = append(ex, example{idx: sp.h.bins(&d.s, &m.affEdges), y: d.y, w: d.w})
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if m.c, err = fitCombiner(ex, &cfg); err != nil {
		return nil, err
	}
	m.refRarity, m.refAffinity = references(m.c, ex)
	progress(fmt.Sprintf("ip: combiner fitted on %d examples (%d normal first uses held out) in %s", len(ex), positives, time.Since(start).Round(time.Millisecond)))

	// Calibration: the held-out events as they come, repeats included, scored against the
	// earlier history: the score of normal traffic, first uses at their natural rate.
	calib := late
	if len(calib) < calibrate.MinSamples {
		calib = order
	}
	raw := make([]float64, 0, min(len(calib), cfg.CalibrationSample))
	step := max(1, len(calib)/cfg.CalibrationSample)
	for j := 0; j < len(calib) && len(raw) < cfg.CalibrationSample; j += step {
		s := t.signals(calib[j], ds.addrs[ds.pairs[calib[j]].a])
		idx := hist.bins(&s, &m.affEdges)
		raw = append(raw, m.c.logit(&idx))
	}
	if m.cal, err = calibrate.Fit(raw, cfg.Calibration); err != nil {
		return nil, fmt.Errorf("ipanomaly: calibrate: %w", err)
	}

	m.h = buildHistory(ds, order, emb, hist, &cfg)
	progress(fmt.Sprintf("ip: %d principals, %d accounts, %d co-user groups; trained in %s",
		m.Principals(), m.Accounts(), m.Groups(), time.Since(start).Round(time.Millisecond)))
	return m, nil
}

// timeOrder returns the observations' indices in time order when every observation has a
// time, else in the order they were added.
func timeOrder(ds *Dataset) []int32 {
	order := make([]int32, len(ds.pairs))
	for i := range order {
		order[i] = int32(i)
	}
	if ds.timed == len(ds.pairs) {
		slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(ds.pairs[a].t, ds.pairs[b].t) })
	}
	return order
}

// trainer draws the combiner's examples.
type trainer struct {
	// addrs and obs are the distinct addresses and the observations of each family (IPv4,
	// IPv6), where foreign addresses are drawn from.
	addrs     [2][]netip.Addr
	obs       [2][]int32
	ds        *Dataset
	cfg       *Config
	h         *history
	r         *rand.Rand
	positives int
}

// draft is an example before binning (the affinity bins depend on all examples): the signals
// of observation src's principal at ip.
type draft struct {
	s      signals
	y      float32
	w      float32
	normal bool
	src    int32
	ip     netip.Addr
}

// signals measures observation i's principal at ip against the history.
func (t *trainer) signals(i int32, ip netip.Addr) signals {
	p := t.ds.pairs[i].p
	pos := t.h.principal(ipinsights.Key(t.ds.principals[p]))
	acct := -1
	if pos >= 0 {
		acct = int(t.h.account[pos])
	} else {
		acct = t.h.accountOf(t.ds.accounts[p])
	}
	return t.h.signalsOf(pos, acct, keyOf(ip), ip)
}

// drafts draws the examples: normal = the held-out observations that are a principal's first
// use of an address (and a quarter as many repeats of an address it used before), as they
// come, so busy principals weigh as much as they do in normal traffic; anomalous = principals
// drawn uniformly, since a stolen credential is anybody's, each at an address foreign to it:
// random, of a principal that shares no network with it, or of another account. The foreign
// address is IPv6 as often as the normal first uses are: the family alone says nothing (an
// attacker's family has nothing to do with the victim's, and a principal that never used
// IPv6 must meet IPv6 attacks in training too).
func (t *trainer) drafts(early, late []int32) []draft {
	ds := t.ds
	seen := make(map[uint64]bool, len(early))
	for _, i := range early {
		seen[uint64(ds.pairs[i].p)<<32|uint64(ds.pairs[i].a)] = true
	}
	var first, repeat []int32
	fresh := map[uint64]bool{}
	for _, i := range late {
		k := uint64(ds.pairs[i].p)<<32 | uint64(ds.pairs[i].a)
		switch {
		case seen[k]:
			repeat = append(repeat, i)
		case !fresh[k]:
			fresh[k] = true
			first = append(first, i)
		}
	}
	first = t.sample(first, t.cfg.MaxPositives)
	repeat = t.sample(repeat, len(first)/4)
	t.positives = len(first)
	var v6 int
	for _, i := range first {
		if ds.addrs[ds.pairs[i].a].Is6() {
			v6++
		}
	}
	share6 := float64(v6) / float64(max(1, len(first)))
	normals := slices.Concat(first, repeat)
	negatives := len(normals) * t.cfg.NegativesPerPositive
	out := make([]draft, 0, len(normals)+negatives)
	for _, i := range normals {
		ip := ds.addrs[ds.pairs[i].a]
		out = append(out, draft{s: t.signals(i, ip), w: 1, normal: true, src: i, ip: ip})
	}
	// Each principal's earliest observation stands for it.
	var principals []int32
	stands := make([]bool, len(ds.principals))
	for _, i := range slices.Concat(early, late) {
		if p := ds.pairs[i].p; !stands[p] {
			stands[p] = true
			principals = append(principals, i)
		}
	}
	t.byFamily()
	wNeg := float32(len(normals)) / float32(max(1, negatives))
	for j := range negatives {
		if len(principals) == 0 {
			break
		}
		src := principals[t.r.IntN(len(principals))]
		ip := t.foreign(src, foreignKinds[j%len(foreignKinds)], t.r.Float64() < share6)
		out = append(out, draft{s: t.signals(src, ip), y: 1, w: wNeg, src: src, ip: ip})
	}
	// Principals the model will meet for the first time are scored by what it knows of their
	// account and of the addresses, so examples are shown as if their principal were unknown
	// too: a newcomer's normal addresses are those anybody uses (held-out events as they come,
	// not first uses), its anomalous ones every unknownEvery-th foreign address drawn above.
	unknown := func(d draft) draft {
		d.s = t.h.signalsOf(-1, t.h.accountOf(ds.accounts[ds.pairs[d.src].p]), keyOf(d.ip), d.ip)
		return d
	}
	for _, i := range t.sample(late, len(normals)/unknownEvery) {
		ip := ds.addrs[ds.pairs[i].a]
		out = append(out, unknown(draft{w: 1, normal: true, src: i, ip: ip}))
	}
	for j := len(normals); j < len(normals)+negatives; j += unknownEvery {
		out = append(out, unknown(out[j]))
	}
	return out
}

// unknownEvery spaces the examples shown again with their principal unknown.
const unknownEvery = 4

// sample returns at most n of v, a uniform sample in v's order.
func (t *trainer) sample(v []int32, n int) []int32 {
	if len(v) <= n {
		return v
	}
	perm := t.r.Perm(len(v))[:n]
	slices.Sort(perm)
	out := make([]int32, n)
	for j, k := range perm {
		out[j] = v[k]
	}
	return out
}

// Kinds of foreign addresses: random (half of them: most attacks come from networks nobody in
// the organisation uses), another principal's (one outside the principal's co-user group:
// familiar to someone else is not familiar to it) and another account's.
const (
	foreignRandom = iota
	foreignGroup
	foreignAccount
)

var foreignKinds = [...]int{foreignRandom, foreignGroup, foreignRandom, foreignAccount}

// byFamily indexes the distinct addresses and the observations by family, once.
func (t *trainer) byFamily() {
	if t.addrs[0] != nil || t.addrs[1] != nil {
		return
	}
	for _, a := range t.ds.addrs {
		t.addrs[b2i(a.Is6())] = append(t.addrs[b2i(a.Is6())], a)
	}
	for i, pr := range t.ds.pairs {
		f := b2i(t.ds.addrs[pr.a].Is6())
		t.obs[f] = append(t.obs[f], int32(i))
	}
}

// foreign draws an address foreign to observation i's principal, of the given kind (an
// account's when the principal has no account is a group's) in the family v6.
//
// A random IPv4 address is uniformly random half the time, else in the /8 of an address
// someone used (a registry's block, where attackers' networks are as likely as anywhere and
// the prefixes shared by chance are longer). A random IPv6 address keeps the first 12 to 31
// bits of an address someone used (a registry's block down to a provider's allocation) and
// draws the rest: uniformly random IPv6 addresses would lie in unallocated space, sharing
// almost nothing with anything, unlike any attacker's.
func (t *trainer) foreign(i int32, kind int, v6 bool) netip.Addr {
	ds := t.ds
	p := ds.pairs[i].p
	acct, grp := ds.accounts[p], t.groupOf(p)
	f := b2i(v6)
	if kind == foreignAccount && acct == "" {
		kind = foreignGroup // no account to be foreign to: foreign to its co-users
	}
	for range 32 {
		if kind == foreignRandom || len(t.obs[f]) == 0 {
			break
		}
		o := ds.pairs[t.obs[f][t.r.IntN(len(t.obs[f]))]]
		switch {
		case o.p == p:
			continue
		case kind == foreignAccount:
			if ds.accounts[o.p] == "" || ds.accounts[o.p] == acct {
				continue
			}
		case grp >= 0 && t.groupOf(o.p) == grp:
			continue
		}
		return ds.addrs[o.a]
	}
	used := t.addrs[f]
	switch {
	case len(used) == 0, !v6 && t.r.IntN(2) == 0:
		return randomAddr(t.r, v6)
	case v6:
		return randomNear(t.r, used[t.r.IntN(len(used))], 12+t.r.IntN(20))
	}
	return randomNear(t.r, used[t.r.IntN(len(used))], 8)
}

// groupOf returns the co-user group of dataset principal p in the history, -1 for none.
func (t *trainer) groupOf(p uint32) int32 {
	if pos := t.h.principal(ipinsights.Key(t.ds.principals[p])); pos >= 0 {
		return t.h.group[pos]
	}
	return -1
}

// randomAddr draws a uniformly random public IPv4 address or a random address in 2000::/3.
func randomAddr(r *rand.Rand, v6 bool) netip.Addr {
	for {
		a := ipinsights.RandomAddr(r, v6)
		if v6 {
			return a
		}
		if b := a.As4(); a.IsGlobalUnicast() && !a.IsPrivate() && b[0] < 224 && !(b[0] == 100 && b[1]&0xc0 == 64) {
			return a
		}
	}
}

// randomNear returns a random address that shares the first keep bits with a.
func randomNear(r *rand.Rand, a netip.Addr, keep int) netip.Addr {
	b := a.AsSlice()
	for i := keep; i < len(b)*8; i++ {
		b[i/8] &^= 0x80 >> (i % 8)
		if r.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

// affinityEdges returns the inner edges of affBins equally populated bins of the examples'
// affinities, for known principals and for unknown ones.
func affinityEdges(d []draft) (edges [2][affBins - 1]float32) {
	var v [2][]float64
	for i := range d {
		u := 0
		if d[i].s.pos < 0 {
			u = 1
		}
		v[u] = append(v[u], d[i].s.aff)
	}
	for u := range v {
		if len(v[u]) == 0 {
			continue
		}
		slices.Sort(v[u])
		for b := range edges[u] {
			edges[u][b] = float32(v[u][(b+1)*len(v[u])/affBins])
		}
	}
	return edges
}

// references returns the mean contributions of the commonness groups and of the affinity
// group over the normal examples.
func references(c *combiner, ex []example) (rarity, aff float64) {
	var n float64
	for i := range ex {
		if ex[i].y != 0 {
			continue
		}
		rarity += c.w[ex[i].idx[gNet]] + c.w[ex[i].idx[gBlock]]
		aff += c.w[ex[i].idx[gAff]]
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return rarity / n, aff / n
}
