package ipinsights

import (
	"errors"
	"fmt"
	"math"

	"github.com/siemscore/siemscore/models/calibrate"
	"github.com/siemscore/siemscore/models/wire"
)

// formatV1 is the version of the encoding below (documented in models/bundle/FORMAT.md).
const formatV1 = 1

// AppendBinary appends the model's encoding to b. Decoding and re-encoding reproduces the
// bytes exactly.
func (m *Model) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendU16(b, formatV1)
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
	b = wire.AppendU32s(b, m.events)
	b = appendSets(b, m.addrOff, m.addrKeys)
	b = appendSets(b, m.netOff, m.netKeys)
	b = wire.AppendF32s(b, m.population)
	for i := range m.prefixes {
		t := &m.prefixes[i]
		b = appendKeys(b, t.keys)
		b = wire.AppendU32(b, uint32(t.rows))
		b = wire.AppendF32s(b, t.vecs)
	}
	for _, c := range []*calibrate.Calibrator{m.known, m.unknown} {
		cb, err := c.AppendBinary(nil)
		if err != nil {
			return nil, fmt.Errorf("ipinsights: %w", err)
		}
		b = wire.AppendBytes(b, cb)
	}
	return b, nil
}

func appendConfig(b []byte, c Config) []byte {
	for _, v := range []int{c.VectorDim, c.NumEntityVectors, c.MaxPrefixRows, c.RandomNegatives,
		c.ShuffledNegatives, c.Epochs, c.BatchSize} {
		b = wire.AppendU32(b, uint32(v))
	}
	b = wire.AppendF64(b, c.LearningRate)
	b = wire.AppendF64(b, c.WeightDecay)
	b = wire.AppendF64(b, c.PopulationRate)
	b = wire.AppendF64(b, c.MaxNovelty)
	b = wire.AppendU32(b, uint32(c.MinPrincipalEvents))
	b = wire.AppendU32(b, uint32(c.CalibrationSample))
	b = wire.AppendU64(b, c.Seed)
	b = wire.AppendU32(b, uint32(c.Calibration.Knots))
	b = wire.AppendF64(b, c.Calibration.TailFraction)
	b = wire.AppendU32(b, uint32(c.Calibration.MinTail))
	b = wire.AppendF64(b, c.Calibration.FloorDecades)
	return wire.AppendF64(b, c.Calibration.CapDecades)
}

func appendKeys(b []byte, keys []uint64) []byte {
	return wire.AppendU64s(wire.AppendU32(b, uint32(len(keys))), keys)
}

func appendSets(b []byte, off []uint32, keys []uint64) []byte {
	b = wire.AppendU32(b, uint32(len(keys)))
	return wire.AppendU64s(wire.AppendU32s(b, off), keys)
}

// Decode parses and validates what AppendBinary wrote (all of p). Every size is checked
// against the data before anything is allocated, every float must be finite, key lists must be
// strictly increasing (binary search depends on it) and every dimension must agree, so a
// decoded model can be scored without further checks.
func Decode(p []byte) (*Model, error) {
	m, err := decode(p)
	if err != nil {
		return nil, fmt.Errorf("ipinsights: decode: %w", err)
	}
	return m, nil
}

func decode(p []byte) (*Model, error) {
	r := wire.NewReader(p)
	if v := r.U16("format"); r.Err() == nil && v != formatV1 {
		return nil, fmt.Errorf("unknown format version %d", v)
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
	m.entities.keys = readKeys(r, "principal keys", np)
	m.entities.rows = int(r.U32("entity rows"))
	if r.Err() == nil && (np == 0 || m.entities.rows < 1 || m.entities.rows > min(np, m.cfg.NumEntityVectors)) {
		return nil, fmt.Errorf("entity rows %d for %d principals (limit %d)", m.entities.rows, np, m.cfg.NumEntityVectors)
	}
	m.entities.vecs = readVecs(r, "entity vectors", m.entities.rows, dim)
	m.events = r.U32s("principal events", np)
	m.addrOff, m.addrKeys = readSets(r, "principal addresses", np)
	m.netOff, m.netKeys = readSets(r, "principal networks", np)
	m.population = r.F32s("population vector", dim)
	for i := range m.prefixes {
		name := tableName(i)
		t := &m.prefixes[i]
		t.keys = readKeys(r, name+" keys", r.Count(name+" keys", 8, math.MaxInt32))
		t.rows = int(r.U32(name + " rows"))
		if r.Err() == nil && (t.rows > min(len(t.keys), m.cfg.MaxPrefixRows) || (len(t.keys) > 0) != (t.rows > 0)) {
			return nil, fmt.Errorf("table %s: %d rows for %d keys (limit %d)", name, t.rows, len(t.keys), m.cfg.MaxPrefixRows)
		}
		t.vecs = readVecs(r, name+" vectors", t.rows+1, dim)
	}
	var err error
	for _, c := range []struct {
		name string
		dst  **calibrate.Calibrator
	}{{"known calibration", &m.known}, {"unknown calibration", &m.unknown}} {
		b := r.Bytes(c.name, math.MaxInt32)
		if r.Err() != nil {
			break
		}
		if *c.dst, err = calibrate.Decode(b); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	for i, e := range m.events {
		if e == 0 {
			return nil, fmt.Errorf("principal %d has no training events", i)
		}
	}
	return m, nil
}

func readConfig(r *wire.Reader) Config {
	var c Config
	for _, dst := range []*int{&c.VectorDim, &c.NumEntityVectors, &c.MaxPrefixRows, &c.RandomNegatives,
		&c.ShuffledNegatives, &c.Epochs, &c.BatchSize} {
		*dst = int(int32(r.U32("hyperparameters")))
	}
	c.LearningRate = r.F64("learning rate")
	c.WeightDecay = r.F64("weight decay")
	c.PopulationRate = r.F64("population rate")
	c.MaxNovelty = r.F64("max novelty")
	c.MinPrincipalEvents = int(int32(r.U32("min principal events")))
	c.CalibrationSample = int(int32(r.U32("calibration sample")))
	c.Seed = r.U64("seed")
	c.Calibration.Knots = int(int32(r.U32("calibration knots")))
	c.Calibration.TailFraction = r.F64("calibration tail fraction")
	c.Calibration.MinTail = int(int32(r.U32("calibration min tail")))
	c.Calibration.FloorDecades = r.F64("calibration floor")
	c.Calibration.CapDecades = r.F64("calibration cap")
	return c
}

// readKeys reads n keys and checks they are strictly increasing.
func readKeys(r *wire.Reader, field string, n int) []uint64 {
	keys := r.U64s(field, n)
	for i := 1; i < len(keys); i++ {
		if keys[i] <= keys[i-1] {
			r.Failf(field, "not strictly increasing at %d", i)
			return nil
		}
	}
	return keys
}

// readVecs reads rows vectors of dim float32s, checking the size before allocating.
func readVecs(r *wire.Reader, field string, rows, dim int) []float32 {
	if r.Err() == nil && rows*dim > r.Remaining()/4 {
		r.Fail(field, fmt.Errorf("%w: %d×%d floats, have %d bytes", wire.ErrTruncated, rows, dim, r.Remaining()))
		return nil
	}
	return r.F32s(field, rows*dim)
}

// readSets reads per-principal key sets: offsets (n+1, from 0, non-decreasing, ending at the
// key count) and keys strictly increasing within each principal.
func readSets(r *wire.Reader, field string, n int) ([]uint32, []uint64) {
	total := int(r.U32(field + " count"))
	off := r.U32s(field+" offsets", n+1)
	if r.Err() != nil {
		return nil, nil
	}
	if total > r.Remaining()/8 {
		r.Fail(field, fmt.Errorf("%w: %d keys, have %d bytes", wire.ErrTruncated, total, r.Remaining()))
		return nil, nil
	}
	if off[0] != 0 || int(off[n]) != total {
		r.Fail(field, errors.New("offsets do not span the keys"))
		return nil, nil
	}
	for i := range n {
		if off[i+1] < off[i] {
			r.Failf(field, "offsets decrease at principal %d", i)
			return nil, nil
		}
	}
	keys := r.U64s(field+" keys", total)
	if r.Err() != nil {
		return nil, nil
	}
	for i := range n {
		for j := off[i] + 1; j < off[i+1]; j++ {
			if keys[j] <= keys[j-1] {
				r.Failf(field, "keys of principal %d not strictly increasing", i)
				return nil, nil
			}
		}
	}
	return off, keys
}
