package ipinsights

import (
	"net/netip"
	"slices"

	gblas "gonum.org/v1/gonum/blas/gonum"

	"github.com/siemscore/siemscore/models/calibrate"
)

// blas is gonum's pure-Go BLAS (assembly kernels on amd64); a concrete value, so calls are
// static and allocation-free.
var blas gblas.Implementation

// table is one embedding table: the sorted, distinct keys of what training saw and their
// vectors. The key at position i owns row i mod rows, so keys only share rows when there are
// more keys than rows, and then evenly.
type table struct {
	keys []uint64
	rows int
	// vecs holds rows vectors; a prefix table has one more, its "unseen" vector, used for
	// every prefix training never saw (row index rows).
	vecs []float32
}

// lookup returns the row of key and whether training saw it (the unseen row if not).
func (t *table) lookup(key uint64) (row int, ok bool) {
	pos, ok := slices.BinarySearch(t.keys, key)
	if !ok {
		return t.rows, false
	}
	return pos % t.rows, true
}

func (t *table) vec(row, dim int) []float32 { return t.vecs[row*dim : (row+1)*dim : (row+1)*dim] }

// lookupLevels fills rows with the row of every level of p and returns how many levels,
// from the coarsest, training saw. Once a level is unseen every finer one is too (a prefix
// nobody used contains no address anybody used), so the remaining levels get their unseen
// row without a search.
func (m *Model) lookupLevels(p *prefixes, rows *[maxLevels]int32) (seen int) {
	seen = p.n
	for l := range p.n {
		t := &m.prefixes[p.first()+l]
		if seen < l {
			rows[l] = int32(t.rows)
			continue
		}
		row, ok := t.lookup(p.keys[l])
		rows[l] = int32(row)
		if !ok {
			seen = l
		}
	}
	return seen
}

// Model is a trained IP-anomaly model. It is immutable: scoring only reads it and is safe for
// any number of goroutines; Score does not allocate.
type Model struct {
	cfg  Config
	dim  int
	bias float32

	// entities holds the principals seen in training (keys: principalKey) and their vectors.
	entities table
	// Per principal, parallel to entities.keys: training events, and the sorted keys of the
	// addresses and networks it used (CSR: principal i owns addrKeys[addrOff[i]:addrOff[i+1]]).
	events   []uint32
	addrOff  []uint32
	addrKeys []uint64
	netOff   []uint32
	netKeys  []uint64

	prefixes [numTables]table
	// population is the vector of the organisation seen as one principal, trained on every
	// principal's addresses: unknown principals are scored against it, so what is familiar to
	// the organisation as a whole is less anomalous than what nobody uses.
	population []float32

	known, unknown *calibrate.Calibrator
}

// Result is the score of one (principal, address) pair.
type Result struct {
	// Raw is the raw anomaly: −(u·v + b), the negated SageMaker "dot_product", so that like
	// every siemscore score higher means more anomalous.
	Raw float64
	// ScoreNorm is Raw calibrated to 0–100 (see models/calibrate).
	ScoreNorm float64
	Reasons   Reasons
}

// Config returns the hyperparameters the model was trained with.
func (m *Model) Config() Config { return m.cfg }

// Principals returns the number of principals seen in training.
func (m *Model) Principals() int { return len(m.entities.keys) }

// Known reports whether principal was seen in training.
func (m *Model) Known(principal string) bool {
	_, ok := slices.BinarySearch(m.entities.keys, principalKey(principal))
	return ok
}

// Score scores principal (the entity, e.g. a principalId up to its first ':') at ip. ok is
// false only when ip is not a valid address.
func (m *Model) Score(principal string, ip netip.Addr) (res Result, ok bool) {
	if !ip.IsValid() {
		return Result{}, false
	}
	var p prefixes
	prefixKeysOf(normalize(ip), &p)
	pos, known := slices.BinarySearch(m.entities.keys, principalKey(principal))
	u := m.population
	if known {
		u = m.entities.vec(pos%m.entities.rows, m.dim)
	} else {
		res.Reasons |= ReasonPrincipalUnknown
	}
	var rows [maxLevels]int32
	seen := m.lookupLevels(&p, &rows)
	if seen <= p.fam.network {
		res.Reasons |= ReasonNetworkNeverSeen
	}
	if seen <= p.fam.block {
		res.Reasons |= ReasonBlockNeverSeen
	}
	logit := float64(m.bias)
	for l := range p.n {
		logit += float64(blas.Sdot(m.dim, u, 1, m.prefixes[p.first()+l].vec(int(rows[l]), m.dim), 1))
	}
	res.Raw = -logit
	cal := m.unknown
	if known {
		cal = m.known
		if _, ok := slices.BinarySearch(m.addrKeys[m.addrOff[pos]:m.addrOff[pos+1]], p.addrKey()); !ok {
			res.Reasons |= ReasonIPNewForPrincipal
		}
		if _, ok := slices.BinarySearch(m.netKeys[m.netOff[pos]:m.netOff[pos+1]], p.netKey()); !ok {
			res.Reasons |= ReasonNetworkNewForPrincipal
		}
		if m.events[pos] < uint32(m.cfg.MinPrincipalEvents) {
			res.Reasons |= ReasonPrincipalFewEvents
		}
		if pos%m.entities.rows+m.entities.rows < len(m.entities.keys) { // another key owns the same row
			res.Reasons |= ReasonEntityVectorShared
		}
	}
	res.ScoreNorm = cal.Score(res.Raw)
	return res, true
}
