package kerberos

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/siemscore/siemscore/models/calibrate"
	"github.com/siemscore/siemscore/models/wire"
)

// Encoding (models/wire, little-endian), format 1:
//
//	u16 format
//	u8 feature count, then each feature name as u8 length + bytes
//	i64 window ns, i64 trained-at Unix ns (0 = unset), u64 samples
//	u8 k chosen by silhouette (0/1), f64 silhouette (0 when not chosen)
//	d × f64 mean, d × f64 std
//	u32 k, then k × (d × f64 centroid, f64 fraction, d × f64 spread)
//	calibrator (models/calibrate encoding) as u32 length + bytes
//
// Feature names are part of the encoding so that a model trained with a different feature list
// is rejected instead of silently misread.
const (
	formatV1 = 1
	maxK     = 1 << 10
	// maxCalibrator bounds the calibrator's bytes (its own limit is 4096 knots).
	maxCalibrator = 1 << 20
)

// ErrModel reports a model that fails validation or cannot be decoded.
var ErrModel = errors.New("kerberos: invalid model")

// Validate checks the model's dimensions and that every number is finite and in range.
func (m *Model) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrModel, fmt.Sprintf(format, args...))
	}
	k := len(m.centroids)
	switch {
	case m.window <= 0:
		return bad("window %v", m.window)
	case m.samples < k || k < 1 || k > maxK:
		return bad("%d clusters from %d samples", k, m.samples)
	case len(m.fraction) != k || len(m.spread) != k:
		return bad("%d clusters but %d fractions and %d spreads", k, len(m.fraction), len(m.spread))
	case !math.IsNaN(m.silhouette) && !(m.silhouette >= -1 && m.silhouette <= 1):
		return bad("silhouette %v", m.silhouette)
	}
	if err := m.calib.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrModel, err)
	}
	for i := range NumFeatures {
		if !finite(m.mean[i]) || !(m.std[i] > 0) || math.IsInf(m.std[i], 0) {
			return bad("feature %s mean %v std %v", Feature(i), m.mean[i], m.std[i])
		}
	}
	var total float64
	for c := range k {
		for i, v := range m.centroids[c] {
			if !finite(v) {
				return bad("centroid %d feature %s is %v", c, Feature(i), v)
			}
		}
		if !(m.fraction[c] > 0 && m.fraction[c] <= 1) {
			return bad("cluster %d fraction %v", c, m.fraction[c])
		}
		for i, v := range m.spread[c] {
			if !(v > 0) || math.IsInf(v, 0) {
				return bad("cluster %d feature %s spread %v", c, Feature(i), v)
			}
		}
		total += m.fraction[c]
	}
	if math.Abs(total-1) > 1e-9 {
		return bad("cluster fractions sum to %v", total)
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// AppendBinary appends the model's encoding to b (the bundle's section interface). The same
// model always encodes to the same bytes.
func (m *Model) AppendBinary(b []byte) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b = wire.AppendU16(b, formatV1)
	b = wire.AppendU8(b, uint8(NumFeatures))
	for _, name := range featureNames {
		b = wire.AppendU8(b, uint8(len(name)))
		b = append(b, name...)
	}
	var trained int64
	if !m.trainedAt.IsZero() {
		trained = m.trainedAt.UnixNano()
	}
	b = wire.AppendI64(b, int64(m.window))
	b = wire.AppendI64(b, trained)
	b = wire.AppendU64(b, uint64(m.samples))
	if math.IsNaN(m.silhouette) {
		b = wire.AppendU8(b, 0)
		b = wire.AppendF64(b, 0)
	} else {
		b = wire.AppendU8(b, 1)
		b = wire.AppendF64(b, m.silhouette)
	}
	b = wire.AppendF64s(b, m.mean[:])
	b = wire.AppendF64s(b, m.std[:])
	b = wire.AppendU32(b, uint32(len(m.centroids)))
	for c := range m.centroids {
		b = wire.AppendF64s(b, m.centroids[c][:])
		b = wire.AppendF64(b, m.fraction[c])
		b = wire.AppendF64s(b, m.spread[c][:])
	}
	cb, err := m.calib.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("kerberos: %w", err)
	}
	return wire.AppendBytes(b, cb), nil
}

// Decode parses what AppendBinary wrote, all of p, and validates it.
func Decode(p []byte) (*Model, error) {
	m, err := decode(p)
	if err != nil {
		return nil, fmt.Errorf("%w: decode: %w", ErrModel, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	m.prepare()
	return m, nil
}

func decode(p []byte) (*Model, error) {
	r := wire.NewReader(p)
	if v := r.U16("format"); r.Err() == nil && v != formatV1 {
		return nil, fmt.Errorf("unknown format %d", v)
	}
	if d := int(r.U8("feature count")); r.Err() == nil && d != NumFeatures {
		return nil, fmt.Errorf("%d features, this build has %d: retrain the model", d, NumFeatures)
	}
	for i, want := range featureNames {
		got := string(r.Raw("feature name", int(r.U8("feature name length"))))
		if r.Err() == nil && got != want {
			return nil, fmt.Errorf("feature %d is %q, this build has %q: retrain the model", i, got, want)
		}
	}
	m := &Model{}
	m.window = time.Duration(r.I64("window"))
	if ns := r.I64("trained at"); ns != 0 {
		m.trainedAt = time.Unix(0, ns).UTC()
	}
	m.samples = int(min(r.U64("samples"), math.MaxInt32))
	chosen, sil := r.U8("k chosen"), r.F64("silhouette")
	switch {
	case r.Err() != nil:
	case chosen == 1:
		m.silhouette = sil
	case chosen == 0 && sil == 0:
		m.silhouette = math.NaN()
	default:
		return nil, fmt.Errorf("k chosen flag %d with silhouette %v", chosen, sil)
	}
	copy(m.mean[:], r.F64s("means", NumFeatures))
	copy(m.std[:], r.F64s("standard deviations", NumFeatures))
	k := r.Count("clusters", (2*NumFeatures+1)*8, maxK)
	m.centroids = make([][NumFeatures]float64, k)
	m.fraction = make([]float64, k)
	m.spread = make([][NumFeatures]float64, k)
	for c := range k {
		copy(m.centroids[c][:], r.F64s("centroid", NumFeatures))
		m.fraction[c] = r.F64("fraction")
		copy(m.spread[c][:], r.F64s("spread", NumFeatures))
	}
	cb := r.Bytes("calibrator", maxCalibrator)
	if err := r.Done(); err != nil {
		return nil, err
	}
	calib, err := calibrate.Decode(cb)
	if err != nil {
		return nil, err
	}
	m.calib = calib
	return m, nil
}
