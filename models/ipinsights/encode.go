package ipinsights

import (
	"fmt"
	"math"

	"github.com/siemscore/siemscore/models/wire"
)

// formatV2 is the version of the encoding below (documented in models/bundle/FORMAT.md as part
// of the IP-anomaly section). Version 1 was the stand-alone model of siemscore's first IP
// score, with per-address vectors, sets and calibration; it is not read.
const formatV2 = 2

// AppendBinary appends the model's encoding to b. Decoding and re-encoding reproduces the
// bytes exactly.
func (m *Model) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendU16(b, formatV2)
	b = appendConfig(b, m.cfg)
	for _, f := range []*family{&familyV4, &familyV6} {
		b = wire.AppendU8(b, uint8(len(f.levels)))
		for _, l := range f.levels {
			b = wire.AppendU8(b, uint8(l))
		}
	}
	b = wire.AppendF32s(b, []float32{m.bias})
	b = appendKeys(b, m.entities.keys)
	b = wire.AppendU32(b, uint32(m.entities.rows))
	b = wire.AppendF32s(b, m.entities.vecs)
	b = wire.AppendF32s(b, m.population)
	for i := range m.prefixes {
		t := &m.prefixes[i]
		b = appendKeys(b, t.keys)
		b = wire.AppendU32(b, uint32(t.rows))
		b = wire.AppendF32s(b, t.scale)
		for _, q := range t.q {
			b = append(b, byte(q))
		}
	}
	return b, nil
}

func appendConfig(b []byte, c Config) []byte {
	for _, v := range []int{c.VectorDim, c.NumEntityVectors, c.MaxPrefixRows, c.MinPrefixPrincipals,
		c.RandomNegatives, c.ShuffledNegatives, c.Epochs, c.BatchSize} {
		b = wire.AppendU32(b, uint32(v))
	}
	b = wire.AppendF64(b, c.LearningRate)
	b = wire.AppendF64(b, c.WeightDecay)
	b = wire.AppendF64(b, c.PopulationRate)
	b = wire.AppendF64(b, c.MaxNovelty)
	return wire.AppendU64(b, c.Seed)
}

func appendKeys(b []byte, keys []uint64) []byte {
	return wire.AppendU64s(wire.AppendU32(b, uint32(len(keys))), keys)
}

// Decode parses and validates what AppendBinary wrote (all of p). Every size is checked
// against the data before anything is allocated, every float must be finite, key lists must be
// strictly increasing (binary search depends on it) and every dimension must agree, so a
// decoded model can be scored without further checks.
func Decode(p []byte) (*Model, error) {
	r := wire.NewReader(p)
	m, err := Read(r)
	if err == nil {
		err = r.Done()
	}
	if err != nil {
		return nil, fmt.Errorf("ipinsights: decode: %w", err)
	}
	return m, nil
}

// Read reads one model from r, for a container that holds it among other fields.
func Read(r *wire.Reader) (*Model, error) {
	switch v := r.U16("format"); {
	case r.Err() != nil:
		return nil, r.Err()
	case v == 1:
		return nil, fmt.Errorf("embedding format 1 is siemscore's first IP model, no longer read: retrain the bundle")
	case v != formatV2:
		return nil, fmt.Errorf("unknown embedding format version %d", v)
	}
	m := &Model{cfg: readConfig(r)}
	if r.Err() != nil {
		return nil, r.Err()
	}
	if err := m.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hyperparameters: %w", err)
	}
	dim := m.cfg.VectorDim
	m.dim = dim
	for _, f := range []*family{&familyV4, &familyV6} {
		n := int(r.U8("levels"))
		ok := n == len(f.levels)
		for i := range n {
			if l := int(r.U8("level")); !ok || l != f.levels[i] {
				ok = false
			}
		}
		if r.Err() == nil && !ok {
			return nil, fmt.Errorf("%s prefix levels differ from this build's %v: retrain the model", f.name, f.levels)
		}
	}
	if b := r.F32s("bias", 1); b != nil {
		m.bias = b[0]
	}
	np := r.Count("principals", 8, math.MaxInt32)
	m.entities.keys = r.IncreasingU64s("principal keys", np)
	m.entities.rows = int(r.U32("entity rows"))
	if r.Err() == nil && (np == 0 || m.entities.rows < 1 || m.entities.rows > min(np, m.cfg.NumEntityVectors)) {
		return nil, fmt.Errorf("entity rows %d for %d principals (limit %d)", m.entities.rows, np, m.cfg.NumEntityVectors)
	}
	m.entities.vecs = readVecs(r, "entity vectors", m.entities.rows, dim)
	m.population = r.F32s("population vector", dim)
	for i := range m.prefixes {
		name := tableName(i)
		t := &m.prefixes[i]
		t.keys = r.IncreasingU64s(name+" keys", r.Count(name+" keys", 8, math.MaxInt32))
		t.rows = int(r.U32(name + " rows"))
		if r.Err() == nil && (t.rows > min(len(t.keys), m.cfg.MaxPrefixRows) || (len(t.keys) > 0) != (t.rows > 0)) {
			return nil, fmt.Errorf("table %s: %d rows for %d keys (limit %d)", name, t.rows, len(t.keys), m.cfg.MaxPrefixRows)
		}
		t.scale = readVecs(r, name+" scales", t.rows+1, 1)
		for _, s := range t.scale {
			if s < 0 {
				return nil, fmt.Errorf("table %s: negative scale", name)
			}
		}
		if r.Err() == nil && (t.rows+1)*dim > r.Remaining() {
			r.Fail(name+" vectors", fmt.Errorf("%w: %d×%d bytes, have %d", wire.ErrTruncated, t.rows+1, dim, r.Remaining()))
		}
		if raw := r.Raw(name+" vectors", (t.rows+1)*dim); raw != nil {
			t.q = make([]int8, len(raw))
			for j, v := range raw {
				t.q[j] = int8(v)
			}
		}
	}
	if r.Err() != nil {
		return nil, r.Err()
	}
	return m, nil
}

func readConfig(r *wire.Reader) Config {
	var c Config
	for _, dst := range []*int{&c.VectorDim, &c.NumEntityVectors, &c.MaxPrefixRows, &c.MinPrefixPrincipals,
		&c.RandomNegatives, &c.ShuffledNegatives, &c.Epochs, &c.BatchSize} {
		*dst = int(int32(r.U32("hyperparameters")))
	}
	c.LearningRate = r.F64("learning rate")
	c.WeightDecay = r.F64("weight decay")
	c.PopulationRate = r.F64("population rate")
	c.MaxNovelty = r.F64("max novelty")
	c.Seed = r.U64("seed")
	return c
}

// readVecs reads rows vectors of dim float32s, checking the size before allocating.
func readVecs(r *wire.Reader, field string, rows, dim int) []float32 {
	if r.Err() == nil && rows*dim > r.Remaining()/4 {
		r.Fail(field, fmt.Errorf("%w: %d×%d floats, have %d bytes", wire.ErrTruncated, rows, dim, r.Remaining()))
		return nil
	}
	return r.F32s(field, rows*dim)
}
