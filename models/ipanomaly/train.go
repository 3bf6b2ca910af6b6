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
	nH := n - int(cfg.HoldoutFraction*float64(n)+0.5)
	if n < minSplit {
		nH = n
	}
	early, late := order[:nH], order[nH:]

	// The embedding learns from the earlier part only, so that its affinity for the held-out
	// first uses is what it will be for the first uses it scores later.
	eds := ipinsights.NewDataset()
	for _, i := range early {
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
	progress(fmt.Sprintf("ip: embedding of %d principals on %d pairs in %s", emb.Principals(), len(early), time.Since(start).Round(time.Millisecond)))

	m := &Model{cfg: cfg}
	m.cfg.Embedding.Workers = 0
	hist := buildHistory(ds, early, emb, nil, &cfg)
	t := &trainer{ds: ds, cfg: &cfg, h: hist, r: rand.New(rand.NewPCG(cfg.Seed, 0x5eed))}
	drafts := t.drafts(early, late)
	m.affEdges = affinityEdges(drafts)
	ex := make([]example, len(drafts))
	for i := range drafts {
		d := &drafts[i]
		ex[i] = example{idx: hist.bins(&d.s, &m.affEdges), y: d.y, w: d.w}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if m.c, err = fitCombiner(ex, &cfg); err != nil {
		return nil, err
	}
	m.refRarity, m.refAffinity = references(m.c, ex)
	progress(fmt.Sprintf("ip: combiner fitted on %d examples (%d normal first uses held out) in %s", len(ex), t.positives, time.Since(start).Round(time.Millisecond)))

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
// uniformly random, of a principal that shares no network with it, or of another account.
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
	normals := slices.Concat(first, repeat)
	negatives := len(normals) * t.cfg.NegativesPerPositive
	out := make([]draft, 0, len(normals)+negatives)
	for _, i := range normals {
		ip := ds.addrs[ds.pairs[i].a]
		out = append(out, draft{s: t.signals(i, ip), w: 1, normal: true, src: i, ip: ip})
	}
	// One observation per principal stands for it (the earliest; its family is the one the
	// principal's foreign address is drawn in, so both families keep their share).
	byPrincipal := make([][]int32, len(ds.principals))
	for _, i := range slices.Concat(early, late) {
		p := ds.pairs[i].p
		byPrincipal[p] = append(byPrincipal[p], i)
	}
	var principals []int
	for p, ev := range byPrincipal {
		if len(ev) > 0 {
			principals = append(principals, p)
		}
	}
	wNeg := float32(len(normals)) / float32(max(1, negatives))
	for j := range negatives {
		if len(principals) == 0 {
			break
		}
		// The foreign address is drawn in the family of one of the principal's own
		// observations, so that each family keeps the principal's share.
		ev := byPrincipal[principals[t.r.IntN(len(principals))]]
		src := ev[t.r.IntN(len(ev))]
		ip := t.foreign(src, foreignKinds[j%len(foreignKinds)], ds.addrs[ds.pairs[src].a].Is6())
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

// Kinds of foreign addresses: uniformly random (half of them: most attacks come from networks
// nobody in the organisation uses), another principal's (one outside the principal's co-user
// group: familiar to someone else is not familiar to it) and another account's.
const (
	foreignRandom = iota
	foreignGroup
	foreignAccount
)

var foreignKinds = [...]int{foreignRandom, foreignGroup, foreignRandom, foreignAccount}

// foreign draws an address foreign to observation i's principal, of the given kind (an
// account's when the principal has no account is a group's) in the family v6.
func (t *trainer) foreign(i int32, kind int, v6 bool) netip.Addr {
	ds := t.ds
	p := ds.pairs[i].p
	acct, grp := ds.accounts[p], t.groupOf(p)
	if kind == foreignRandom && t.r.IntN(2) == 0 {
		// Half the random addresses are in a region of the Internet someone uses (the /8 of an
		// IPv4 address, the /16 of an IPv6 one: a registry's block), where attackers' networks
		// are as likely as anywhere and the prefixes shared by chance are longer.
		for range 32 {
			a := ds.addrs[ds.pairs[t.r.IntN(len(ds.pairs))].a]
			if a.Is6() == v6 {
				return randomNear(t.r, a)
			}
		}
	}
	if kind == foreignAccount && acct == "" {
		kind = 1 // no account to be foreign to: foreign to its co-users
	}
	for range 32 {
		if kind == foreignRandom {
			break
		}
		o := ds.pairs[t.r.IntN(len(ds.pairs))]
		a := ds.addrs[o.a]
		switch {
		case o.p == p || a.Is6() != v6:
			continue
		case kind == foreignAccount:
			if ds.accounts[o.p] == "" || ds.accounts[o.p] == acct {
				continue
			}
		case grp >= 0 && t.groupOf(o.p) == grp:
			continue
		}
		return a
	}
	return randomAddr(t.r, v6)
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

// randomNear returns a random address that shares the first 8 (IPv4) or 16 (IPv6) bits with
// a.
func randomNear(r *rand.Rand, a netip.Addr) netip.Addr {
	keep := 8
	if a.Is6() {
		keep = 16
	}
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
