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

	"github.com/siemscore/siemscore/models/calibrate"
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
	bufs   []sparse // one gradient accumulator per worker, for apply
	decay  float32  // 1 − learning rate × weight decay
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

// chunk accumulates the gradient of one slice of a minibatch.
type chunk struct {
	grads [numTables + 1]sparse
	bias  float64
	loss  float64
	count int
	pcg   rand.PCG
	rng   *rand.Rand
	rows  [maxLevels]int32
	v     []float32 // scratch: the address vector of the current example
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

// Train fits a model to ds. progress, if not nil, is called after every epoch. Training is
// deterministic for cfg.Seed whatever cfg.Workers is: minibatches are cut into a fixed number
// of chunks whose gradients are computed in parallel and summed in a fixed order, then every
// touched row gets a synchronous (lazy) Adam update.
func Train(ctx context.Context, ds *Dataset, cfg Config, progress func(Progress)) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ds == nil || ds.Len() < calibrate.MinSamples {
		return nil, fmt.Errorf("ipinsights: need at least %d training pairs", calibrate.MinSamples)
	}
	t := &trainer{cfg: cfg, dim: cfg.VectorDim, workers: cfg.workers(), ds: ds}
	t.decay = float32(1 - cfg.LearningRate*cfg.WeightDecay)
	t.build()
	if err := t.run(ctx, progress); err != nil {
		return nil, err
	}
	if err := t.finish(); err != nil {
		return nil, err
	}
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
		pkeys[i] = principalKey(p)
	}
	m.entities.keys = sortedDistinct(slices.Clone(pkeys))
	m.entities.rows = min(len(m.entities.keys), t.cfg.NumEntityVectors)
	t.entityPos = make([]int32, len(ds.principals))
	for i, k := range pkeys {
		pos, _ := slices.BinarySearch(m.entities.keys, k)
		t.entityPos[i] = int32(pos)
	}

	// Prefix tables: sorted distinct keys of every level of every address.
	akeys := make([]prefixes, len(ds.addrs))
	var perTable [numTables][]uint64
	for i, a := range ds.addrs {
		prefixKeysOf(a, &akeys[i])
		for l := range akeys[i].n {
			perTable[akeys[i].first()+l] = append(perTable[akeys[i].first()+l], akeys[i].keys[l])
		}
	}
	for ti := range numTables {
		tb := &m.prefixes[ti]
		tb.keys = sortedDistinct(perTable[ti])
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
	t.bufs = make([]sparse, t.workers)
	for w := range t.bufs {
		t.bufs[w] = newSparse(dim)
	}
	for c := range t.chunks {
		ch := &chunk{v: make([]float32, dim)}
		ch.rng = rand.New(&ch.pcg)
		for pi := range ch.grads {
			ch.grads[pi] = newSparse(dim)
		}
		t.chunks[c] = ch
	}
}

// noveltyPrior is the weight, in events, of the average principal's novelty rate in a
// principal's own rate: a principal with few events is assumed to behave like everyone else.
const noveltyPrior = 10

// buildSets fills the per-principal address and network sets and measures novelty: for each
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
	events := make([]uint32, len(m.entities.keys))
	famEvents := make([][2]int, len(m.entities.keys))
	for i, p := range ds.pairs {
		distinct[i] = uint64(p.p)<<32 | uint64(p.a)
		pos, fam := t.entityPos[p.p], 0
		if akeys[p.a].fam == &familyV6 {
			fam = 1
		}
		familyEvents[fam]++
		famEvents[pos][fam]++
		if events[pos] < math.MaxUint32 {
			events[pos]++
		}
	}
	m.events = events
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
	csr := func(tables ...int) ([]uint32, []uint64) {
		var all []pk
		for _, ti := range tables {
			all = append(all, byTable[ti]...)
		}
		slices.SortFunc(all, cmpPK)
		all = slices.Compact(all)
		off := make([]uint32, len(m.entities.keys)+1)
		keys := make([]uint64, len(all))
		for i, e := range all {
			off[e.pos+1]++
			keys[i] = e.key
		}
		for i := 1; i < len(off); i++ {
			off[i] += off[i-1]
		}
		return off, keys
	}
	m.addrOff, m.addrKeys = csr(familyV4.first+len(familyV4.levels)-1, familyV6.first+len(familyV6.levels)-1)
	m.netOff, m.netKeys = csr(familyV4.first+familyV4.network, familyV6.first+familyV6.network)
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
	var wg sync.WaitGroup
	for w := range t.workers {
		wg.Go(func() {
			for c := w; c < numChunks; c += t.workers {
				lo, hi := c*len(batch)/numChunks, (c+1)*len(batch)/numChunks
				t.compute(t.chunks[c], epoch, offset+lo, batch, lo, hi)
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

// compute accumulates the gradient of the examples batch[lo:hi]. g is the global position of
// the first of them in the epoch: every example draws its randomness from (seed, epoch,
// position). Shuffled negatives take the address of another pair of the same minibatch, as
// SageMaker's IP Insights does: the batch is a random sample of the data, and its addresses'
// rows are being updated anyway, which keeps the number of rows touched per step small.
func (t *trainer) compute(c *chunk, epoch, g int, batch []uint32, lo, hi int) {
	for i := range c.grads {
		c.grads[i].reset()
	}
	c.bias, c.loss, c.count = 0, 0, 0
	pairs := t.ds.pairs
	for i, idx := range batch[lo:hi] {
		c.pcg.Seed(t.cfg.Seed, uint64(epoch)<<40|uint64(g+i))
		pr := pairs[idx]
		pos := int(t.entityPos[pr.p])
		e := int32(pos % t.m.entities.rows)
		first, n := int(t.addrFirst[pr.a]), int(t.addrN[pr.a])
		rows := t.addrRows[int(pr.a)*maxLevels:][:n]
		// The positive, with its finest levels shown as unseen at the rate this principal
		// really uses new prefixes, so that what it does routinely learns to look normal.
		t.mask(c, rows, first, t.novelty[pos*numTables:][:numTables])
		t.example(c, e, first, n, 1)
		for range t.cfg.ShuffledNegatives {
			other := pairs[batch[c.rng.IntN(len(batch))]]
			if other.p == pr.p {
				continue
			}
			of, on := int(t.addrFirst[other.a]), int(t.addrN[other.a])
			copy(c.rows[:on], t.addrRows[int(other.a)*maxLevels:][:on])
			t.example(c, e, of, on, 0)
		}
		t.randomNegatives(c, e, first)
		// The population: the organisation seen as one principal, for which every training
		// address is familiar. Unknown principals are scored against it.
		if c.rng.Float64() < t.cfg.PopulationRate {
			pop := int32(t.m.entities.rows)
			t.mask(c, rows, first, t.globalNovelty[:])
			t.example(c, pop, first, n, 1)
			t.randomNegatives(c, pop, first)
		}
	}
}

// mask sets c.rows to the address's level rows, replacing the finest levels by their unseen
// rows with the given per-table novelty rates.
func (t *trainer) mask(c *chunk, rows []int32, first int, novelty []float64) {
	u := c.rng.Float64()
	for l := range rows {
		c.rows[l] = rows[l]
		if u < novelty[first+l] {
			c.rows[l] = int32(t.m.prefixes[first+l].rows)
		}
	}
}

// randomNegatives adds the configured number of random-address negatives for entity row e,
// in the family of the positive (first is its first table).
func (t *trainer) randomNegatives(c *chunk, e int32, first int) {
	for range t.cfg.RandomNegatives {
		var p prefixes
		prefixKeysOf(randomAddr(c.rng, first == familyV6.first), &p)
		t.m.lookupLevels(&p, &c.rows)
		t.example(c, e, p.first(), p.n, 0)
	}
}

// randomAddr draws a uniformly random IPv4 address or a uniformly random global unicast IPv6
// address (2000::/3: a random 128-bit value would say nothing about the space in use).
func randomAddr(r *rand.Rand, v6 bool) netip.Addr {
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

// example adds the logistic-loss gradient of entity row e against the address whose level
// rows are c.rows[:n] (tables first..first+n-1), with label y.
func (t *trainer) example(c *chunk, e int32, first, n int, y float32) {
	dim := t.dim
	u := t.params[entityParam].vec(int(e))
	// v = Σ level vectors, once: one dot for the logit and one update for the entity instead
	// of one per level.
	v := c.v
	copy(v, t.params[first].vec(int(c.rows[0])))
	for l := 1; l < n; l++ {
		blas.Saxpy(dim, 1, t.params[first+l].vec(int(c.rows[l])), 1, v, 1)
	}
	z := float64(t.m.bias) + float64(blas.Sdot(dim, u, 1, v, 1))
	// Loss log(1+exp(−z)) for positives, log(1+exp(z)) for negatives, computed stably.
	sz := z
	if y == 1 {
		sz = -z
	}
	c.loss += max(sz, 0) + math.Log1p(math.Exp(-math.Abs(sz)))
	c.count++
	grad := float32(1/(1+math.Exp(-z))) - y
	blas.Saxpy(dim, grad, v, 1, c.grads[entityParam].at(e), 1)
	for l := range n {
		blas.Saxpy(dim, grad, u, 1, c.grads[first+l].at(c.rows[l]), 1)
	}
	c.bias += float64(grad)
}

// apply updates the rows of parameter pi owned by worker w: it sums each row's chunk
// gradients in chunk order into the worker's accumulator, then takes one Adam step per row.
func (t *trainer) apply(pi, w int, lr float32, acc *sparse) {
	p := &t.params[pi]
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
	for k, row := range acc.rows {
		off := 2 * int(row) * dim
		adamStep(p.vecs[int(row)*dim:][:dim], p.moments[off:off+dim], p.moments[off+dim:off+2*dim], acc.grad[k*dim:(k+1)*dim], lr, t.decay)
	}
}

// adamStep applies one Adam update with bias-corrected step size lr and decoupled weight
// decay (AdamW: the vector shrinks by the factor decay).
func adamStep(vec, m, v, g []float32, lr, decay float32) {
	vec, m, v = vec[:len(g)], m[:len(g)], v[:len(g)]
	for i, gi := range g {
		mi := beta1*m[i] + (1-beta1)*gi
		vi := beta2*v[i] + (1-beta2)*gi*gi
		m[i], v[i] = mi, vi
		vec[i] = vec[i]*decay - lr*mi/(float32(math.Sqrt(float64(vi)))+epsilon)
	}
}

// maskedRaw is the raw anomaly of entity vector e at address a with the finest levels masked
// as unseen at the given novelty rates, as during training.
func (t *trainer) maskedRaw(r *rand.Rand, e []float32, a uint32, novelty []float64) float64 {
	m, dim := t.m, t.dim
	first, n := int(t.addrFirst[a]), int(t.addrN[a])
	u := r.Float64()
	z := float64(m.bias)
	for l := range n {
		row := int(t.addrRows[int(a)*maxLevels+l])
		if u < novelty[first+l] {
			row = m.prefixes[first+l].rows
		}
		z += float64(blas.Sdot(dim, e, 1, m.prefixes[first+l].vec(row, dim), 1))
	}
	return -z
}

// finish exports the vectors and fits the calibrators.
func (t *trainer) finish() error {
	m, dim := t.m, t.dim
	for ti := range numTables {
		m.prefixes[ti].vecs = t.params[ti].vecs
	}
	ents := t.params[entityParam].vecs
	m.entities.vecs = ents[: m.entities.rows*dim : m.entities.rows*dim]
	m.population = ents[m.entities.rows*dim:]

	r := rand.New(rand.NewPCG(t.cfg.Seed, 0xca1b))

	// Calibration: score a sample of training pairs, with the same novelty masking as
	// training, so that the normal distribution includes principals' ordinary first uses of
	// addresses and networks rather than only pairs the model has memorised.
	n := min(t.cfg.CalibrationSample, len(t.ds.pairs))
	known, pop := make([]float64, n), make([]float64, n)
	for i := range n {
		pr := t.ds.pairs[r.IntN(len(t.ds.pairs))]
		if n == len(t.ds.pairs) {
			pr = t.ds.pairs[i]
		}
		pos := int(t.entityPos[pr.p])
		known[i] = t.maskedRaw(r, m.entities.vec(pos%m.entities.rows, dim), pr.a, t.novelty[pos*numTables:][:numTables])
		pop[i] = t.maskedRaw(r, m.population, pr.a, t.globalNovelty[:])
	}
	var err error
	if m.known, err = calibrate.Fit(known, t.cfg.Calibration); err != nil {
		return fmt.Errorf("ipinsights: calibrate known principals: %w", err)
	}
	if m.unknown, err = calibrate.Fit(pop, t.cfg.Calibration); err != nil {
		return fmt.Errorf("ipinsights: calibrate unknown principals: %w", err)
	}
	return nil
}
