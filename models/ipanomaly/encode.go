package ipanomaly

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/siemscore/siemscore/models/calibrate"
	"github.com/siemscore/siemscore/models/ipinsights"
	"github.com/siemscore/siemscore/models/wire"
)

// formatV3 is the version of the encoding below (models/bundle/FORMAT.md, section IPIN).
// Version 1 was siemscore's first IP model (an embedding with one vector per address),
// version 2 this model's first combiner (other bins, no excursions); their bundles are
// refused with a message saying to retrain.
const formatV3 = 3

// ErrFormatV1 is returned for the first IP model's sections.
var ErrFormatV1 = errors.New("IP model format 1 (siemscore's first, embedding-only IP model) is no longer read: retrain the bundle with this version's `siemscore train` or let the companion retrain")

// ErrFormatV2 is returned for sections of the hybrid model's first version.
var ErrFormatV2 = errors.New("IP model format 2 (the hybrid model's first combiner) is no longer read: retrain the bundle with this version's `siemscore train` or let the companion retrain")

// AppendBinary appends the model's encoding to b. Decoding and re-encoding reproduces the
// bytes exactly.
func (m *Model) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendU16(b, formatV3)
	b = appendConfig(b, &m.cfg)
	eb, err := m.h.emb.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("ipanomaly: %w", err)
	}
	b = wire.AppendBytes(b, eb)
	h := m.h
	b = wire.AppendU32(b, uint32(len(h.keys)))
	b = wire.AppendU64s(b, h.keys)
	b = wire.AppendU32s(b, h.events)
	b = wire.AppendF32s(b, h.novelty)
	b = wire.AppendU32s(b, h.exc)
	for _, v := range [][]int32{h.account, h.group, h.embPos} {
		b = appendI32s(b, v)
	}
	b = appendSets(b, &h.own)
	b = wire.AppendU32(b, uint32(len(h.accKeys)))
	b = wire.AppendU64s(b, h.accKeys)
	b = appendSets(b, &h.acc)
	b = wire.AppendU32(b, uint32(h.groups))
	b = appendSets(b, &h.grp)
	c := &h.nets
	b = appendU16s(b, c.v4Block)
	b = wire.AppendU32(b, uint32(len(c.v4Net)))
	b = appendU16s(wire.AppendU32s(b, c.v4Net), c.v4NetN)
	b = wire.AppendU32(b, uint32(len(c.v6Block)))
	b = appendU16s(wire.AppendU32s(b, c.v6Block), c.v6BlockN)
	b = wire.AppendU32(b, uint32(len(c.v6Net)))
	b = appendU16s(wire.AppendU64s(b, c.v6Net), c.v6NetN)
	b = wire.AppendU32(b, uint32(numWeights))
	b = wire.AppendF64(b, m.c.bias)
	b = wire.AppendF64s(b, m.c.w)
	b = wire.AppendF32s(b, m.affEdges[0][:])
	b = wire.AppendF32s(b, m.affEdges[1][:])
	b = wire.AppendF64(b, m.refRarity)
	b = wire.AppendF64(b, m.refAffinity)
	cb, err := m.cal.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("ipanomaly: %w", err)
	}
	return wire.AppendBytes(b, cb), nil
}

func appendConfig(b []byte, c *Config) []byte {
	b = wire.AppendF64(b, c.HoldoutFraction)
	for _, v := range []int{c.NegativesPerPositive, c.MaxPositives, c.MaxCliqueUsers, c.MinPrincipalEvents, c.CalibrationSample} {
		b = wire.AppendU32(b, uint32(v))
	}
	b = wire.AppendF64(b, c.Smoothness)
	b = wire.AppendF64(b, c.Prior)
	b = wire.AppendU64(b, c.Seed)
	b = wire.AppendU32(b, uint32(c.Calibration.Knots))
	b = wire.AppendF64(b, c.Calibration.TailFraction)
	b = wire.AppendU32(b, uint32(c.Calibration.MinTail))
	b = wire.AppendF64(b, c.Calibration.FloorDecades)
	return wire.AppendF64(b, c.Calibration.CapDecades)
}

func appendI32s(b []byte, v []int32) []byte {
	for _, x := range v {
		b = wire.AppendU32(b, uint32(x))
	}
	return b
}

func appendU16s(b []byte, v []uint16) []byte {
	for _, x := range v {
		b = wire.AppendU16(b, x)
	}
	return b
}

func appendSets(b []byte, s *sets) []byte {
	b = wire.AppendU32(b, uint32(len(s.v4)))
	b = wire.AppendU32s(wire.AppendU32s(b, s.v4Off), s.v4)
	b = wire.AppendU32(b, uint32(len(s.v6)))
	b = wire.AppendU32s(b, s.v6Off)
	for _, a := range s.v6 {
		b = wire.AppendU64(wire.AppendU64(b, a.hi), a.lo)
	}
	return b
}

// Decode parses and validates what AppendBinary wrote (all of p). Every size is checked
// against the data before anything is allocated, every float must be finite, keys and
// addresses must be strictly increasing (binary search depends on it) and every index in
// range, so a decoded model can be scored without further checks.
func Decode(p []byte) (*Model, error) {
	m, err := decode(p)
	if err != nil {
		return nil, fmt.Errorf("ipanomaly: decode: %w", err)
	}
	return m, nil
}

func decode(p []byte) (*Model, error) {
	r := wire.NewReader(p)
	switch v := r.U16("format"); {
	case r.Err() != nil:
		return nil, r.Err()
	case v == 1:
		return nil, ErrFormatV1
	case v == 2:
		return nil, ErrFormatV2
	case v != formatV3:
		return nil, fmt.Errorf("unknown format version %d", v)
	}
	m := &Model{cfg: readConfig(r)}
	eb := r.Bytes("embedding", math.MaxInt32)
	if r.Err() != nil {
		return nil, r.Err()
	}
	emb, err := ipinsights.Decode(eb)
	if err != nil {
		return nil, err
	}
	m.cfg.Embedding = emb.Config()
	if err := m.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hyperparameters: %w", err)
	}
	h := &history{emb: emb, excScale: 1}
	m.h = h
	np := r.Count("principals", 8+4+4+4*numFar+12, math.MaxInt32)
	h.keys = r.IncreasingU64s("principal keys", np)
	h.events = r.U32s("principal events", np)
	h.novelty = r.F32s("principal novelty", np)
	h.exc = r.U32s("principal excursions", np*numFar)
	h.account = readI32s(r, "principal accounts", np)
	h.group = readI32s(r, "principal groups", np)
	h.embPos = readI32s(r, "principal embedding rows", np)
	h.own = readSets(r, "principal addresses", np)
	na := r.Count("accounts", 8, math.MaxInt32)
	h.accKeys = r.IncreasingU64s("account keys", na)
	h.acc = readSets(r, "account addresses", na)
	h.groups = r.Count("co-user groups", 8, math.MaxInt32)
	h.grp = readSets(r, "co-user group addresses", h.groups)
	c := &h.nets
	c.v4Block = readU16s(r, "IPv4 /16 principals", 1<<16)
	c.v4Net, c.v4NetN = readCounts(r, "IPv4 /24 principals", r.U32s, 4)
	c.v6Block, c.v6BlockN = readCounts(r, "IPv6 /32 principals", r.U32s, 4)
	c.v6Net, c.v6NetN = readCounts(r, "IPv6 /64 principals", r.U64s, 8)
	if n := r.U32("weights"); r.Err() == nil && int(n) != numWeights {
		return nil, fmt.Errorf("%d combiner weights, this build has %d: retrain the model", n, numWeights)
	}
	m.c = &combiner{bias: r.F64("bias"), w: r.F64s("weights", numWeights)}
	for u := range m.affEdges {
		if e := r.F32s("affinity edges", affBins-1); e != nil {
			copy(m.affEdges[u][:], e)
		}
	}
	m.refRarity, m.refAffinity = r.F64("rarity reference"), r.F64("affinity reference")
	cb := r.Bytes("calibration", math.MaxInt32)
	if err := r.Done(); err != nil {
		return nil, err
	}
	if m.cal, err = calibrate.Decode(cb); err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	return m, m.validate()
}

// validate checks what the reader cannot: ranges and orders across fields.
func (m *Model) validate() error {
	h := m.h
	for i := range h.keys {
		switch {
		case h.events[i] == 0:
			return fmt.Errorf("principal %d has no training events", i)
		case !(h.novelty[i] >= 0 && h.novelty[i] <= 1):
			return fmt.Errorf("principal %d: novelty %v outside [0, 1]", i, h.novelty[i])
		case h.account[i] < -1 || int(h.account[i]) >= len(h.accKeys):
			return fmt.Errorf("principal %d: account %d of %d", i, h.account[i], len(h.accKeys))
		case h.group[i] < -1 || int(h.group[i]) >= h.groups:
			return fmt.Errorf("principal %d: group %d of %d", i, h.group[i], h.groups)
		case h.embPos[i] < -1 || int(h.embPos[i]) >= h.emb.Principals():
			return fmt.Errorf("principal %d: embedding row %d of %d", i, h.embPos[i], h.emb.Principals())
		}
	}
	for _, e := range m.affEdges {
		for i := 1; i < len(e); i++ {
			if !(e[i] >= e[i-1]) {
				return errors.New("affinity edges not increasing")
			}
		}
	}
	for _, v := range append([]float64{m.c.bias, m.refRarity, m.refAffinity}, m.c.w...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("non-finite combiner value")
		}
	}
	return nil
}

func readConfig(r *wire.Reader) Config {
	var c Config
	c.HoldoutFraction = r.F64("holdout fraction")
	for _, dst := range []*int{&c.NegativesPerPositive, &c.MaxPositives, &c.MaxCliqueUsers, &c.MinPrincipalEvents, &c.CalibrationSample} {
		*dst = int(int32(r.U32("hyperparameters")))
	}
	c.Smoothness = r.F64("smoothness")
	c.Prior = r.F64("prior")
	c.Seed = r.U64("seed")
	c.Calibration.Knots = int(int32(r.U32("calibration knots")))
	c.Calibration.TailFraction = r.F64("calibration tail fraction")
	c.Calibration.MinTail = int(int32(r.U32("calibration min tail")))
	c.Calibration.FloorDecades = r.F64("calibration floor")
	c.Calibration.CapDecades = r.F64("calibration cap")
	return c
}

func readI32s(r *wire.Reader, field string, n int) []int32 {
	u := r.U32s(field, n)
	if u == nil {
		return nil
	}
	out := make([]int32, n)
	for i, x := range u {
		out[i] = int32(x)
	}
	return out
}

func readU16s(r *wire.Reader, field string, n int) []uint16 {
	p := r.Raw(field, 2*n)
	if p == nil {
		return nil
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(p[2*i:])
	}
	return out
}

// readCounts reads a count, that many strictly increasing keys and their principal counts
// (each at least 1).
func readCounts[K uint32 | uint64](r *wire.Reader, field string, keys func(string, int) []K, size int) ([]K, []uint16) {
	n := r.Count(field, size+2, math.MaxInt32)
	k := keys(field+" keys", n)
	c := readU16s(r, field, n)
	if r.Err() != nil {
		return nil, nil
	}
	for i := range k {
		if i > 0 && k[i] <= k[i-1] {
			r.Failf(field, "keys not strictly increasing at %d", i)
			return nil, nil
		}
		if c[i] == 0 {
			r.Failf(field, "zero count at %d", i)
			return nil, nil
		}
	}
	return k, c
}

// readSets reads the address sets of n owners: offsets from 0, non-decreasing, ending at the
// address count, and addresses strictly increasing within each owner.
func readSets(r *wire.Reader, field string, n int) sets {
	var s sets
	n4 := r.Count(field+" IPv4 count", 4, math.MaxInt32)
	s.v4Off = readOffsets(r, field+" IPv4 offsets", n, n4)
	s.v4 = r.U32s(field+" IPv4", n4)
	n6 := r.Count(field+" IPv6 count", 16, math.MaxInt32)
	s.v6Off = readOffsets(r, field+" IPv6 offsets", n, n6)
	raw := r.Raw(field+" IPv6", 16*n6)
	if r.Err() != nil {
		return sets{}
	}
	s.v6 = make([]addr6, n6)
	for i := range s.v6 {
		s.v6[i] = addr6{binary.LittleEndian.Uint64(raw[16*i:]), binary.LittleEndian.Uint64(raw[16*i+8:])}
	}
	for o := range n {
		for j := s.v4Off[o] + 1; j < s.v4Off[o+1]; j++ {
			if s.v4[j] <= s.v4[j-1] {
				r.Failf(field, "IPv4 addresses of owner %d not strictly increasing", o)
				return sets{}
			}
		}
		for j := s.v6Off[o] + 1; j < s.v6Off[o+1]; j++ {
			if cmp6(s.v6[j], s.v6[j-1]) <= 0 {
				r.Failf(field, "IPv6 addresses of owner %d not strictly increasing", o)
				return sets{}
			}
		}
	}
	return s
}

func readOffsets(r *wire.Reader, field string, n, total int) []uint32 {
	off := r.U32s(field, n+1)
	if off == nil {
		return nil
	}
	if off[0] != 0 || int(off[n]) != total {
		r.Fail(field, errors.New("offsets do not span the addresses"))
		return nil
	}
	for i := range n {
		if off[i+1] < off[i] {
			r.Failf(field, "offsets decrease at %d", i)
			return nil
		}
	}
	return off
}
