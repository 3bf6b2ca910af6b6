package ipinsights

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// numChunks is the fixed number of slices a minibatch is cut into. Each chunk accumulates its
// own sparse gradient and chunks are summed in chunk order, so the floating-point result is
// the same whatever the number of workers (they only decide who computes which chunk).
const numChunks = 8

// Adam's usual constants.
const (
	beta1   = 0.9
	beta2   = 0.999
	epsilon = 1e-8
)

// entityParam is the index of the entity table among the trained parameter tables, after the
// prefix tables.
const entityParam = numTables

// trainer holds the state of one training run.
type trainer struct {
	cfg     Config
	dim     int
	workers int
	ds      *Dataset
	m       *Model

	entityPos []int32 // per dataset principal: position among the entity keys
	addrFirst []uint8 // per dataset address: table of its coarsest level
	addrN     []uint8 // per dataset address: number of levels
	addrRows  []int32 // per dataset address: row of each level (stride maxLevels)
	// novelty[pos*numTables+ti]: how often principal pos uses a prefix of table ti it had not
	// used before (see buildSets).
	novelty []float64
	// globalNovelty is the population's rate per table.
	globalNovelty [numTables]float64

	params [numTables + 1]param
	biasM  float64
	biasV  float64
	step   int
	chunks [numChunks]*chunk
	bufs   []applyBuf // one per worker
	decay  float32    // 1 − learning rate × weight decay

	// The minibatch's shuffled negatives grouped by the pair whose address they borrow (see
	// plan): the pairs at batch positions hits[hitOff[k]:hitOff[k+1]] borrow the address of
	// the pair at position k.
	// shortRows[ti], for the tables whose prefixes are at most shortBits long (IPv4 /8 /12
	// /16, IPv6 /16), maps a prefix's bits to its row, the unseen row if training never saw
	// it: random negatives, which are mostly looked up no finer than these levels, need no
	// hashing or search for them.
	shortRows [numTables][]int32
	// unseenSums[ti]: the sum of the unseen vectors of table ti and the finer tables of its
	// family (see sumUnseen).
	unseenSums [numTables][]float32

	planPCG rand.PCG
	targets []int32
	hitOff  []int32
	hits    []int32
}

// param is one trained table with its Adam moments. The vectors are contiguous, as the
// gradient computation reads them; a row's two moments sit side by side (moments[2·dim·r:]
// = m, v), so an update touches two contiguous blocks rather than three: both phases are
// memory-bound.
type param struct {
	dim     int
	vecs    []float32
	moments []float32
}

func newParam(rows, dim int) param {
	return param{dim: dim, vecs: make([]float32, rows*dim), moments: make([]float32, 2*rows*dim)}
}

func (p *param) vec(row int) []float32 {
	off := row * p.dim
	return p.vecs[off : off+p.dim : off+p.dim]
}

// moment returns the two Adam moments of row, m then v.
func (p *param) moment(row int) []float32 {
	off := 2 * row * p.dim
	return p.moments[off : off+2*p.dim : off+2*p.dim]
}

// chunk accumulates the gradient of one slice of a minibatch.
type chunk struct {
	grads [numTables + 1]sparse
	bias  float64
	loss  float64
	count int
	pcg   rand.PCG
	rng   *rand.Rand
	rows  [maxLevels]int32
	v     []float32 // scratch: the address vector of a one-off example
	av    []float32 // scratch: the vector of the address being trained (see compute)
	ag    []float32 // scratch: the gradient shared by that address's level vectors
	// The unseen-vector gradients of the current pair's principal and of the population.
	unseen, popUnseen unseenGrad
}

// applyBuf is a worker's state in apply.
type applyBuf struct {
	acc  sparse  // the summed gradient of the rows it owns
	sink float32 // keeps prefetch's loads alive
}

// sparse is a gradient over the few rows of a table that a chunk touched. Rows are found
// through a small open-addressing index rather than an array as long as the table, so the
// lookups stay in cache however large the table is.
type sparse struct {
	dim   int
	index []int32 // 1 + position in rows, 0 when empty; length a power of two
	rows  []int32
	grad  []float32
}

func newSparse(dim int) sparse { return sparse{dim: dim, index: make([]int32, 1024)} }

// at returns the gradient of row, adding a zero one on first touch.
func (s *sparse) at(row int32) []float32 {
	mask := uint32(len(s.index) - 1)
	h := uint32(row) * 0x9e3779b1 & mask
	for {
		i := s.index[h]
		if i == 0 {
			break
		}
		if s.rows[i-1] == row {
			return s.grad[int(i-1)*s.dim : int(i)*s.dim]
		}
		h = (h + 1) & mask
	}
	s.rows = append(s.rows, row)
	s.grad = append(s.grad, make([]float32, s.dim)...)
	n := int32(len(s.rows))
	s.index[h] = n
	if 2*len(s.rows) > len(s.index) {
		s.rehash(2 * len(s.index))
	}
	return s.grad[int(n-1)*s.dim : int(n)*s.dim]
}

func (s *sparse) rehash(size int) {
	s.index = make([]int32, size)
	mask := uint32(size - 1)
	for i, row := range s.rows {
		h := uint32(row) * 0x9e3779b1 & mask
		for s.index[h] != 0 {
			h = (h + 1) & mask
		}
		s.index[h] = int32(i + 1)
	}
}

func (s *sparse) reset() {
	clear(s.index)
	s.rows, s.grad = s.rows[:0], s.grad[:0]
}

// MinPairs is the smallest dataset Train accepts.
const MinPairs = 10

// Train fits a model to ds. progress, if not nil, is called after every epoch. Training is
// deterministic for cfg.Seed whatever cfg.Workers is: minibatches are cut into a fixed number
// of chunks whose gradients are computed in parallel and summed in a fixed order, then every
// touched row gets a synchronous (lazy) Adam update.
func Train(ctx context.Context, ds *Dataset, cfg Config, progress func(Progress)) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ds == nil || ds.Len() < MinPairs {
		return nil, fmt.Errorf("ipinsights: need at least %d training pairs", MinPairs)
	}
	t := &trainer{cfg: cfg, dim: cfg.VectorDim, workers: cfg.workers(), ds: ds}
	t.decay = float32(1 - cfg.LearningRate*cfg.WeightDecay)
	t.build()
	if err := t.run(ctx, progress); err != nil {
		return nil, err
	}
	t.finish()
	return t.m, nil
}

// build creates the tables, the per-principal sets, the novelty rates and the initial
// parameters.
func (t *trainer) build() {
	ds, dim := t.ds, t.dim
	m := &Model{cfg: t.cfg, dim: dim}
	m.cfg.Workers = 0
	t.m = m

	// Entities: sorted distinct principal keys.
	pkeys := make([]uint64, len(ds.principals))
	for i, p := range ds.principals {
		pkeys[i] = Key(p)
	}
	m.entities.keys = sortedDistinct(slices.Clone(pkeys))
	m.entities.rows = min(len(m.entities.keys), t.cfg.NumEntityVectors)
	t.entityPos = make([]int32, len(ds.principals))
	for i, k := range pkeys {
		pos, _ := slices.BinarySearch(m.entities.keys, k)
		t.entityPos[i] = int32(pos)
	}

	// Prefix tables: sorted distinct keys of the prefixes enough principals used.
	akeys := make([]prefixes, len(ds.addrs))
	for i, a := range ds.addrs {
		prefixKeysOf(a, &akeys[i])
	}
	perTable := t.sharedPrefixes(akeys)
	for ti := range numTables {
		tb := &m.prefixes[ti]
		tb.keys = perTable[ti]
		tb.rows = min(len(tb.keys), t.cfg.MaxPrefixRows)
	}
	t.addrFirst = make([]uint8, len(ds.addrs))
	t.addrN = make([]uint8, len(ds.addrs))
	t.addrRows = make([]int32, len(ds.addrs)*maxLevels)
	for i := range akeys {
		t.addrFirst[i], t.addrN[i] = uint8(akeys[i].first()), uint8(akeys[i].n)
		for l := range akeys[i].n {
			row, _ := m.prefixes[akeys[i].first()+l].lookup(akeys[i].keys[l])
			t.addrRows[i*maxLevels+l] = int32(row)
		}
	}

	t.buildShortRows()
	t.buildSets(akeys)

	// Entity vectors start small and random, prefix vectors at zero (as word2vec does with
	// its two tables): the first gradients then flow into the prefix vectors along the
	// entities' directions.
	r := rand.New(rand.NewPCG(t.cfg.Seed, 0x1a17))
	scale := 1 / math.Sqrt(float64(dim))
	for ti := range numTables {
		t.params[ti] = newParam(m.prefixes[ti].rows+1, dim) // the extra row: the unseen vector
	}
	// The entity table has one more row: the population vector (see compute).
	t.params[entityParam] = newParam(m.entities.rows+1, dim)
	for row := range m.entities.rows + 1 {
		for i, u := 0, t.params[entityParam].vec(row); i < dim; i++ {
			u[i] = float32((2*r.Float64() - 1) * scale)
		}
	}
	for ti := range t.unseenSums {
		t.unseenSums[ti] = make([]float32, dim)
	}
	t.bufs = make([]applyBuf, t.workers)
	for w := range t.bufs {
		t.bufs[w].acc = newSparse(dim)
	}
	for c := range t.chunks {
		ch := &chunk{v: make([]float32, dim), av: make([]float32, dim), ag: make([]float32, dim)}
		ch.rng = rand.New(&ch.pcg)
		for pi := range ch.grads {
			ch.grads[pi] = newSparse(dim)
		}
		t.chunks[c] = ch
	}
}

// sharedPrefixes returns, per table, the sorted keys of the prefixes that at least
// MinPrefixPrincipals distinct principals used.
func (t *trainer) sharedPrefixes(akeys []prefixes) [numTables][]uint64 {
	distinct := make([]uint64, len(t.ds.pairs))
	for i, p := range t.ds.pairs {
		distinct[i] = uint64(p.p)<<32 | uint64(p.a)
	}
	distinct = sortedDistinct(distinct)
	type use struct {
		key uint64
		p   uint32
	}
	var out [numTables][]uint64
	var uses []use
	for ti := range numTables {
		uses = uses[:0]
		for _, d := range distinct {
			k := &akeys[uint32(d)]
			if l := ti - k.first(); l >= 0 && l < k.n {
				uses = append(uses, use{k.keys[l], uint32(d >> 32)})
			}
		}
		slices.SortFunc(uses, func(a, b use) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.p, b.p)) })
		uses = slices.Compact(uses)
		for i := 0; i < len(uses); {
			j := i
			for j < len(uses) && uses[j].key == uses[i].key {
				j++
			}
			if j-i >= t.cfg.MinPrefixPrincipals {
				out[ti] = append(out[ti], uses[i].key)
			}
			i = j
		}
	}
	return out
}

// buildShortRows fills shortRows from the training addresses: a prefix's row follows from its
// bits, and every prefix no training address has is unseen.
func (t *trainer) buildShortRows() {
	for _, f := range []*family{&familyV4, &familyV6} {
		for l, bits := range f.levels {
			if bits > shortBits {
				continue
			}
			ti := f.first + l
			rows := make([]int32, 1<<bits)
			for i := range rows {
				rows[i] = int32(t.m.prefixes[ti].rows)
			}
			t.shortRows[ti] = rows
		}
	}
	for i, a := range t.ds.addrs {
		f, b := &familyV4, a.As16()
		if int(t.addrFirst[i]) == familyV6.first {
			f = &familyV6
		}
		top := top16(b[16-f.bytes:])
		for l, bits := range f.levels {
			if bits <= shortBits {
				t.shortRows[f.first+l][top>>(16-bits)] = t.addrRows[i*maxLevels+l]
			}
		}
	}
}

// noveltyPrior is the weight, in events, of the average principal's novelty rate in a
// principal's own rate: a principal with few events is assumed to behave like everyone else.
const noveltyPrior = 10

// buildSets measures novelty: for each
// principal and table, the probability that its next event is in a prefix it has not used,
// estimated Good–Turing style as the share of its events in prefixes it used exactly once, and
// shrunk towards the average principal's rate. Training shows a principal's positives with
// their finest levels masked as unseen at that rate, so a principal that travels a lot learns
// that unfamiliar networks are normal for it, and one that never moves learns that they are not.
// The population (the organisation as one principal) gets the rate of prefixes used exactly
// once by anybody.
func (t *trainer) buildSets(akeys []prefixes) {
	m, ds := t.m, t.ds
	distinct := make([]uint64, len(ds.pairs))
	var familyEvents [2]int
	famEvents := make([][2]int, len(m.entities.keys))
	for i, p := range ds.pairs {
		distinct[i] = uint64(p.p)<<32 | uint64(p.a)
		pos, fam := t.entityPos[p.p], 0
		if akeys[p.a].fam == &familyV6 {
			fam = 1
		}
		familyEvents[fam]++
		famEvents[pos][fam]++
	}
	slices.Sort(distinct)

	// Per table: every (principal, prefix) with its number of events, sorted.
	type pk struct {
		pos   int32
		key   uint64
		count uint32
	}
	var byTable [numTables][]pk
	for i := 0; i < len(distinct); {
		j := i
		for j < len(distinct) && distinct[j] == distinct[i] {
			j++
		}
		pos, a := t.entityPos[distinct[i]>>32], uint32(distinct[i])
		k := &akeys[a]
		for l := range k.n {
			byTable[k.first()+l] = append(byTable[k.first()+l], pk{pos, k.keys[l], uint32(min(j-i, math.MaxUint32))})
		}
		i = j
	}
	cmpPK := func(a, b pk) int {
		if c := cmp.Compare(a.pos, b.pos); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	}
	t.novelty = make([]float64, len(m.entities.keys)*numTables)
	for ti := range numTables {
		s := byTable[ti]
		slices.SortFunc(s, cmpPK)
		s = slices.CompactFunc(s, func(a, b pk) bool {
			if a.pos == b.pos && a.key == b.key {
				b.count = uint32(min(uint64(a.count)+uint64(b.count), math.MaxUint32)) // b is the one kept
				return true
			}
			return false
		})
		byTable[ti] = s
		fam := 0
		if ti >= familyV6.first {
			fam = 1
		}
		if familyEvents[fam] == 0 {
			continue
		}
		// Good–Turing: the chance that the next event is in a prefix not seen before is
		// estimated by the share of events in prefixes seen exactly once.
		singles := make([]int, len(m.entities.keys))
		perKey := make(map[uint64]uint64, len(s))
		var totalSingles int
		for _, e := range s {
			if e.count == 1 {
				singles[e.pos]++
				totalSingles++
			}
			perKey[e.key] += uint64(e.count)
		}
		var popSingles int
		for _, c := range perKey {
			if c == 1 {
				popSingles++
			}
		}
		prior := float64(totalSingles) / float64(familyEvents[fam])
		t.globalNovelty[ti] = min(t.cfg.MaxNovelty, float64(popSingles)/float64(familyEvents[fam]))
		for pos, n1 := range singles {
			if ev := famEvents[pos][fam]; ev > 0 {
				rate := (float64(n1) + noveltyPrior*prior) / (float64(ev) + noveltyPrior)
				t.novelty[pos*numTables+ti] = min(t.cfg.MaxNovelty, rate)
			}
		}
	}
}

// sortedDistinct sorts s in place and removes duplicates.
func sortedDistinct(s []uint64) []uint64 {
	slices.Sort(s)
	return slices.Compact(s)
}

// run performs the epochs.
func (t *trainer) run(ctx context.Context, progress func(Progress)) error {
	n := len(t.ds.pairs)
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	for epoch := range t.cfg.Epochs {
		start := time.Now()
		r := rand.New(rand.NewPCG(t.cfg.Seed, 0xe90c<<32|uint64(epoch)))
		r.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		var loss float64
		var examples int
		for b := 0; b < n; b += t.cfg.BatchSize {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("ipinsights: training cancelled in epoch %d: %w", epoch+1, err)
			}
			batch := order[b:min(n, b+t.cfg.BatchSize)]
			t.batch(epoch, b, batch)
			for _, c := range t.chunks {
				loss += c.loss
				examples += c.count
			}
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return errors.New("ipinsights: training diverged (non-finite loss); lower the learning rate")
		}
		if progress != nil {
			el := time.Since(start)
			progress(Progress{
				Epoch: epoch + 1, Epochs: t.cfg.Epochs,
				Loss:        loss / float64(max(1, examples)),
				PairsPerSec: float64(n) / max(el.Seconds(), 1e-9),
				Elapsed:     el,
			})
		}
	}
	return nil
}

// batch computes the chunk gradients in parallel, then applies them in parallel by row
// ownership (row mod workers), each row summing the chunks in chunk order.
func (t *trainer) batch(epoch, offset int, batch []uint32) {
	t.plan(epoch, offset, batch)
	t.sumUnseen()
	var wg sync.WaitGroup
	for w := range t.workers {
		wg.Go(func() {
			for c := w; c < numChunks; c += t.workers {
				lo, hi := c*len(batch)/numChunks, (c+1)*len(batch)/numChunks
				t.compute(t.chunks[c], epoch, offset, batch, lo, hi)
			}
		})
	}
	wg.Wait()
	t.step++
	lr := t.cfg.LearningRate * math.Sqrt(1-math.Pow(beta2, float64(t.step))) / (1 - math.Pow(beta1, float64(t.step)))
	for w := range t.workers {
		wg.Go(func() {
			for pi := range t.params {
				t.apply(pi, w, float32(lr), &t.bufs[w])
			}
		})
	}
	wg.Wait()
	var gb float64
	for _, c := range t.chunks {
		gb += c.bias
	}
	t.biasM = beta1*t.biasM + (1-beta1)*gb
	t.biasV = beta2*t.biasV + (1-beta2)*gb*gb
	t.m.bias -= float32(lr * t.biasM / (math.Sqrt(t.biasV) + epsilon))
}

// plan draws the minibatch's shuffled negatives: each pair borrows the address of
// ShuffledNegatives random pairs of the same minibatch (as SageMaker's IP Insights does: the
// batch is a random sample of the data, and its addresses' rows are being updated anyway),
// skipping those of the same principal. The draws are grouped by the lending pair, so that
// compute handles every example on one address together. They come from one generator per
// minibatch, seeded with (seed, epoch, offset): plan runs before the workers start.
func (t *trainer) plan(epoch, offset int, batch []uint32) {
	t.planPCG.Seed(t.cfg.Seed, 1<<63|uint64(epoch)<<40|uint64(offset))
	r := rand.New(&t.planPCG)
	n, s := len(batch), t.cfg.ShuffledNegatives
	pairs := t.ds.pairs
	t.targets = slices.Grow(t.targets[:0], n*s)[:n*s]
	t.hitOff = slices.Grow(t.hitOff[:0], n+1)[:n+1]
	clear(t.hitOff)
	for j, idx := range batch {
		for i := range s {
			k := int32(r.IntN(n))
			if pairs[batch[k]].p == pairs[idx].p {
				k = -1 // familiar to this principal: not a negative
			} else {
				t.hitOff[k+1]++
			}
			t.targets[j*s+i] = k
		}
	}
	for k := range n {
		t.hitOff[k+1] += t.hitOff[k]
	}
	t.hits = slices.Grow(t.hits[:0], int(t.hitOff[n]))[:t.hitOff[n]]
	// Fill in borrower order, using hitOff[k] as the cursor of k's list, then shift back.
	for j := range n {
		for _, k := range t.targets[j*s : (j+1)*s] {
			if k >= 0 {
				t.hits[t.hitOff[k]] = int32(j)
				t.hitOff[k]++
			}
		}
	}
	copy(t.hitOff[1:], t.hitOff[:n])
	t.hitOff[0] = 0
}

// compute accumulates the gradient of the pairs at batch positions lo..hi-1 and of every
// example on their addresses. offset is the position of the batch in the epoch: each pair
// draws its randomness from (seed, epoch, position).
//
// The examples on one address (its pair's positive when shown unmasked, and the shuffled
// negatives that borrow it) share the address vector v and, whatever their principals, give
// every level vector of the address the same gradient Σ grad·u. So v is built once, that sum
// is accumulated once, and it is scattered to the level rows once: one vector operation per
// example instead of one per example and level, which is most of the arithmetic of a pair.
func (t *trainer) compute(c *chunk, epoch, offset int, batch []uint32, lo, hi int) {
	for i := range c.grads {
		c.grads[i].reset()
	}
	c.bias, c.loss, c.count = 0, 0, 0
	c.popUnseen = unseenGrad{}
	pairs, dim := t.ds.pairs, t.dim
	ents := &t.params[entityParam]
	pop := int32(t.m.entities.rows)
	for k := lo; k < hi; k++ {
		c.pcg.Seed(t.cfg.Seed, uint64(epoch)<<40|uint64(offset+k))
		pr := pairs[batch[k]]
		pos := int(t.entityPos[pr.p])
		e := int32(pos % t.m.entities.rows)
		first, n := int(t.addrFirst[pr.a]), int(t.addrN[pr.a])
		rows := t.addrRows[int(pr.a)*maxLevels:][:n]

		// The positive, with its finest levels shown as unseen at the rate this principal
		// really uses new prefixes, so that what it does routinely learns to look normal.
		shown := t.mask(c, rows, first, t.novelty[pos*numTables:][:numTables])
		t.addrVec(c.av, first, rows, n)
		clear(c.ag)
		used := false
		if shown == n {
			t.onAddress(c, e, 1)
			used = true
		}
		for _, j := range t.hits[t.hitOff[k]:t.hitOff[k+1]] {
			t.onAddress(c, int32(int(t.entityPos[pairs[batch[j]].p])%t.m.entities.rows), 0)
			used = true
		}
		if used {
			for l, row := range rows {
				blas.Saxpy(dim, 1, c.ag, 1, c.grads[first+l].at(row), 1)
			}
		}
		c.unseen = unseenGrad{}
		if shown < n {
			t.example(c, e, &c.unseen, first, shown, n, 1)
		}
		t.randomNegatives(c, e, &c.unseen, first)
		t.flushUnseen(c, &c.unseen, ents.vec(int(e)))
		// The population: the organisation seen as one principal, for which every training
		// address is familiar. Unknown principals are scored against it.
		if c.rng.Float64() < t.cfg.PopulationRate {
			shown := t.mask(c, rows, first, t.globalNovelty[:])
			t.example(c, pop, &c.popUnseen, first, shown, n, 1)
			t.randomNegatives(c, pop, &c.popUnseen, first)
		}
	}
	t.flushUnseen(c, &c.popUnseen, ents.vec(int(pop)))
}

// shownLevels returns how many levels, from the coarsest, a training address (tables first,
// first+1, ...; n levels) is shown with when u, uniform in [0, 1), decides novelty at the
// given per-table rates. Once a level is new to the principal every finer one is too: a
// prefix it never used contains no address it used.
func shownLevels(u float64, novelty []float64, first, n int) int {
	for l := range n {
		if u < novelty[first+l] {
			return l
		}
	}
	return n
}

// mask draws how many levels of the address with the given rows the positive shows (see
// shownLevels) and copies those rows to c.rows.
func (t *trainer) mask(c *chunk, rows []int32, first int, novelty []float64) (shown int) {
	shown = shownLevels(c.rng.Float64(), novelty, first, len(rows))
	copy(c.rows[:shown], rows)
	return shown
}

// randomNegatives adds the configured number of random-address negatives for entity row e,
// in the family of the positive (first is its first table).
func (t *trainer) randomNegatives(c *chunk, e int32, ug *unseenGrad, first int) {
	f := &familyV4
	if first == familyV6.first {
		f = &familyV6
	}
	for range t.cfg.RandomNegatives {
		a := RandomAddr(c.rng, f == &familyV6).As16()
		seen := t.randomRows(c, f, a[16-f.bytes:])
		t.example(c, e, ug, first, seen, len(f.levels), 0)
	}
}

// randomRows sets c.rows to the rows of the levels of the address with bytes b that training
// saw and returns how many there are: like Model.lookupLevels, it stops at the first unseen
// level, but it hashes and searches only the levels that shortRows does not cover.
func (t *trainer) randomRows(c *chunk, f *family, b []byte) (seen int) {
	top := top16(b)
	for l, bits := range f.levels {
		ti := f.first + l
		tb := &t.m.prefixes[ti]
		var row int
		if bits <= shortBits {
			row = int(t.shortRows[ti][top>>(16-bits)])
		} else {
			row, _ = tb.lookup(f.key(b, l))
		}
		if row == tb.rows {
			return l
		}
		c.rows[l] = int32(row)
	}
	return len(f.levels)
}

// RandomAddr draws a uniformly random IPv4 address or a uniformly random global unicast IPv6
// address (2000::/3: a random 128-bit value would say nothing about the space in use).
func RandomAddr(r *rand.Rand, v6 bool) netip.Addr {
	if !v6 {
		x := r.Uint32()
		return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	}
	var b [16]byte
	hi, lo := r.Uint64(), r.Uint64()
	for i := range 8 {
		b[i], b[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	b[0] = 0x20 | b[0]&0x1f
	return netip.AddrFrom16(b)
}

// addrVec sets v to the vector of an address of the family whose first table is first, with
// n levels of which the first shown are at rows and the others unseen.
func (t *trainer) addrVec(v []float32, first int, rows []int32, n int) {
	shown := len(rows)
	if shown == 0 {
		copy(v, t.unseenSums[first])
		return
	}
	copy(v, t.params[first].vec(int(rows[0])))
	for l := 1; l < shown; l++ {
		blas.Saxpy(t.dim, 1, t.params[first+l].vec(int(rows[l])), 1, v, 1)
	}
	if shown < n {
		blas.Saxpy(t.dim, 1, t.unseenSums[first+shown], 1, v, 1)
	}
}

// sumUnseen sets unseenSums[ti] to the sum of the unseen vectors of table ti and the finer
// tables of its family: the unseen part of any address vector, as every level after the
// first unseen one is unseen too. The vectors only change between minibatches.
func (t *trainer) sumUnseen() {
	for _, f := range []*family{&familyV4, &familyV6} {
		for l := len(f.levels) - 1; l >= 0; l-- {
			ti := f.first + l
			s := t.unseenSums[ti]
			copy(s, t.params[ti].vec(t.m.prefixes[ti].rows))
			if l+1 < len(f.levels) {
				blas.Saxpy(t.dim, 1, t.unseenSums[ti+1], 1, s, 1)
			}
		}
	}
}

// unseenGrad sums, per table, the derivatives of the examples of one entity that used the
// table's unseen vector. Each such example adds derivative·u to it, and most random
// negatives (and masked positives) use several unseen vectors, so summing the scalars first
// leaves one vector operation per table and entity.
type unseenGrad struct {
	coef [numTables]float32
	used [numTables]bool
}

// add records an example with derivative grad whose levels from..n-1 (tables first+from,
// ...) were unseen.
func (g *unseenGrad) add(first, from, n int, grad float32) {
	for ti := first + from; ti < first+n; ti++ {
		g.coef[ti] += grad
		g.used[ti] = true
	}
}

// flushUnseen adds the gradients recorded in g for the entity vector u to the chunk.
func (t *trainer) flushUnseen(c *chunk, g *unseenGrad, u []float32) {
	for ti, used := range g.used {
		if used {
			blas.Saxpy(t.dim, g.coef[ti], u, 1, c.grads[ti].at(int32(t.m.prefixes[ti].rows)), 1)
		}
	}
}

// onAddress adds the example of entity row e against the address whose vector is c.av, with
// label y: the entity's gradient directly, the address's to c.ag (see compute).
func (t *trainer) onAddress(c *chunk, e int32, y float32) {
	u := t.params[entityParam].vec(int(e))
	grad := t.logistic(c, u, c.av, y)
	blas.Saxpy(t.dim, grad, c.av, 1, c.grads[entityParam].at(e), 1)
	blas.Saxpy(t.dim, grad, u, 1, c.ag, 1)
}

// example adds the logistic-loss gradient of entity row e against an address of the family
// whose first table is first, with label y. The address has n levels, of which the first
// shown are at c.rows and the others unseen; the gradient of the unseen ones goes to ug.
func (t *trainer) example(c *chunk, e int32, ug *unseenGrad, first, shown, n int, y float32) {
	dim := t.dim
	u := t.params[entityParam].vec(int(e))
	t.addrVec(c.v, first, c.rows[:shown], n)
	grad := t.logistic(c, u, c.v, y)
	blas.Saxpy(dim, grad, c.v, 1, c.grads[entityParam].at(e), 1)
	for l := range shown {
		blas.Saxpy(dim, grad, u, 1, c.grads[first+l].at(c.rows[l]), 1)
	}
	ug.add(first, shown, n, grad)
}

// logistic adds the loss of the score u·v + b with label y to the chunk's totals and its
// derivative to the bias gradient, and returns that derivative.
func (t *trainer) logistic(c *chunk, u, v []float32, y float32) float32 {
	z := float64(t.m.bias) + float64(blas.Sdot(t.dim, u, 1, v, 1))
	// Loss log(1+exp(−z)) for positives, log(1+exp(z)) for negatives, computed stably; the
	// sigmoid reuses the same exponential.
	sz := z
	if y == 1 {
		sz = -z
	}
	ex := math.Exp(-math.Abs(z))
	c.loss += max(sz, 0) + math.Log1p(ex)
	c.count++
	sig := 1 / (1 + ex)
	if z < 0 {
		sig = ex / (1 + ex)
	}
	grad := float32(sig) - y
	c.bias += float64(grad)
	return grad
}

// adamPrefetch is how many rows ahead apply loads the rows it is about to update.
const adamPrefetch = 8

// apply updates the rows of parameter pi owned by worker w: it sums each row's chunk
// gradients in chunk order into the worker's accumulator, then takes one Adam step per row.
func (t *trainer) apply(pi, w int, lr float32, buf *applyBuf) {
	p, acc := &t.params[pi], &buf.acc
	dim := t.dim
	acc.reset()
	for _, c := range t.chunks {
		s := &c.grads[pi]
		for i, row := range s.rows {
			if int(row)%t.workers == w {
				blas.Saxpy(dim, 1, s.grad[i*dim:(i+1)*dim], 1, acc.at(row), 1)
			}
		}
	}
	var sink float32
	for k, row := range acc.rows {
		if k%adamPrefetch == 0 {
			for _, r := range acc.rows[min(k+adamPrefetch, len(acc.rows)):min(k+2*adamPrefetch, len(acc.rows))] {
				sink += prefetch(p.vec(int(r))) + prefetch(p.moment(int(r)))
			}
		}
		m := p.moment(int(row))
		adamStep(p.vec(int(row)), m[:dim], m[dim:], acc.grad[k*dim:(k+1)*dim], lr, t.decay)
	}
	buf.sink += sink
}

// prefetch loads one value of every cache line of x. The rows a step updates are scattered
// over tables far larger than the caches, and each Adam step is long enough that the CPU does
// not reach the next row's loads before the current ones complete: touching a few rows
// ahead in one go puts their cache misses in flight together (Go has no prefetch
// instruction). The sum is returned so that the loads are not optimised away.
func prefetch(x []float32) float32 {
	var s float32
	for i := 0; i < len(x); i += 16 {
		s += x[i]
	}
	return s
}

// adamStep applies one Adam update with bias-corrected step size lr and decoupled weight
// decay (AdamW: the vector shrinks by the factor decay). The constants are held in variables
// so that they stay in registers through the loop.
func adamStep(vec, m, v, g []float32, lr, decay float32) {
	vec, m, v = vec[:len(g)], m[:len(g)], v[:len(g)]
	b1, c1, b2, c2, eps := float32(beta1), float32(1-beta1), float32(beta2), float32(1-beta2), float32(epsilon)
	for i, gi := range g {
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		vec[i] = vec[i]*decay - lr*mi/(float32(math.Sqrt(float64(vi)))+eps)
	}
}

// finish exports the vectors, quantising the prefix tables to int8 with one scale per row
// (the vector's largest magnitude over 127): a quarter of the memory of float32, at a
// relative error of at most 1/254 per component.
func (t *trainer) finish() {
	m, dim := t.m, t.dim
	for ti := range numTables {
		tb, vecs := &m.prefixes[ti], t.params[ti].vecs
		rows := len(vecs) / dim
		tb.q, tb.scale = make([]int8, len(vecs)), make([]float32, rows)
		for r := range rows {
			tb.scale[r] = quantize(tb.q[r*dim:(r+1)*dim], vecs[r*dim:(r+1)*dim])
		}
	}
	ents := t.params[entityParam].vecs
	m.entities.vecs = ents[: m.entities.rows*dim : m.entities.rows*dim]
	m.population = ents[m.entities.rows*dim:]
}

// quantize sets q to the int8 quantisation of v and returns its scale.
func quantize(q []int8, v []float32) float32 {
	var peak float32
	for _, x := range v {
		peak = max(peak, float32(math.Abs(float64(x))))
	}
	if peak == 0 {
		clear(q)
		return 0
	}
	scale := peak / 127
	for i, x := range v {
		q[i] = int8(math.Round(float64(x / scale)))
	}
	return scale
}
