package ipinsights

import (
	"net/netip"

	gblas "gonum.org/v1/gonum/blas/gonum"

	"github.com/siemscore/siemscore/models/internal/hashsearch"
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
	// vecs holds the entity table's rows vectors (float32: a few per principal).
	vecs []float32
	// q and scale hold a prefix table's rows+1 vectors quantised to int8, row r being
	// q[r·dim:(r+1)·dim]·scale[r]; the extra row is the level's "unseen" vector, used for every
	// prefix training never saw (or saw used by fewer than Config.MinPrefixPrincipals).
	q     []int8
	scale []float32
}

// lookup returns the row of key and whether training kept it (the unseen row if not).
func (t *table) lookup(key uint64) (row int, ok bool) {
	pos, ok := hashsearch.Find(t.keys, key)
	if !ok {
		return t.rows, false
	}
	return pos % t.rows, true
}

func (t *table) vec(row, dim int) []float32 { return t.vecs[row*dim : (row+1)*dim : (row+1)*dim] }

// dot returns u·(row r of a quantised table).
func (t *table) dot(u []float32, r, dim int) float64 {
	q := t.q[r*dim : (r+1)*dim : (r+1)*dim]
	var s float32
	for i, x := range q {
		s += u[i] * float32(x)
	}
	return float64(s * t.scale[r])
}

// lookupLevels fills rows with the row of every level of p and returns how many levels,
// from the coarsest, training kept. Once a level is unseen every finer one is too (a prefix
// nobody used contains no address anybody used, and a prefix used by fewer principals than
// the threshold contains none used by more), so the remaining levels get their unseen row
// without a search.
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

// Model is a trained embedding. It is immutable: scoring only reads it and is safe for any
// number of goroutines; nothing allocates.
type Model struct {
	cfg  Config
	dim  int
	bias float32

	// entities holds the principals seen in training (keys: Key) and their vectors.
	entities table
	prefixes [numTables]table
	// population is the vector of the organisation seen as one principal, trained on every
	// principal's addresses: unknown principals are scored against it, so what is familiar to
	// the organisation as a whole is more familiar than what nobody uses.
	population []float32
}

// Config returns the hyperparameters the model was trained with.
func (m *Model) Config() Config { return m.cfg }

// Principals returns the number of principals seen in training.
func (m *Model) Principals() int { return len(m.entities.keys) }

// EntityPos returns the position of the principal with key k (see Key) among the trained
// principals, in increasing key order, or -1 when training did not see it.
func (m *Model) EntityPos(k uint64) int {
	pos, ok := hashsearch.Find(m.entities.keys, k)
	if !ok {
		return -1
	}
	return pos
}

// Shared reports whether the principal at pos shares its vector with another (more
// principals were trained than Config.NumEntityVectors).
func (m *Model) Shared(pos int) bool {
	return pos >= 0 && pos%m.entities.rows+m.entities.rows < len(m.entities.keys)
}

// Affinity returns the logit u·v + b of the principal at pos (from EntityPos; -1 scores the
// population vector, what the organisation as a whole uses) at ip: higher is more familiar,
// the SageMaker IP Insights "dot_product". ip must be valid.
func (m *Model) Affinity(pos int, ip netip.Addr) float64 {
	var p prefixes
	prefixKeysOf(normalize(ip), &p)
	u := m.population
	if pos >= 0 {
		u = m.entities.vec(pos%m.entities.rows, m.dim)
	}
	var rows [maxLevels]int32
	m.lookupLevels(&p, &rows)
	logit := float64(m.bias)
	for l := range p.n {
		logit += m.prefixes[p.first()+l].dot(u, int(rows[l]), m.dim)
	}
	return logit
}
