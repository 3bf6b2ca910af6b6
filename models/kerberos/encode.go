package kerberos

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Binary encoding (little-endian), version 1:
//
//	"KRBM" u16 version
//	u16 feature count, then each feature name as u8 length + bytes
//	i64 window ns, i64 trained-at Unix ns (0 = unset), u64 samples, f64 silhouette
//	f64 median, f64 lambda
//	d × f64 mean, d × f64 std
//	u16 k, then k × (d × f64 centroid, f64 fraction, d × f64 spread)
//
// Feature names are part of the encoding so that a model trained with a different feature list
// is rejected instead of silently misread.
const (
	encMagic   = "KRBM"
	encVersion = 1
	maxK       = 1 << 10
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
	case !finite(m.median) || !(m.lambda > 0) || math.IsInf(m.lambda, 0):
		return bad("calibration median %v lambda %v", m.median, m.lambda)
	case !math.IsNaN(m.silhouette) && !(m.silhouette >= -1 && m.silhouette <= 1):
		return bad("silhouette %v", m.silhouette)
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

// MarshalBinary encodes the model. The same model always encodes to the same bytes.
func (m *Model) MarshalBinary() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 128+NumFeatures*24+len(m.centroids)*(2*NumFeatures+1)*8)
	b = append(b, encMagic...)
	b = binary.LittleEndian.AppendUint16(b, encVersion)
	b = binary.LittleEndian.AppendUint16(b, uint16(NumFeatures))
	for _, name := range featureNames {
		b = append(b, byte(len(name)))
		b = append(b, name...)
	}
	var trained int64
	if !m.trainedAt.IsZero() {
		trained = m.trainedAt.UnixNano()
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(m.window))
	b = binary.LittleEndian.AppendUint64(b, uint64(trained))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.samples))
	b = appendFloats(b, m.silhouette, m.median, m.lambda)
	b = appendFloats(b, m.mean[:]...)
	b = appendFloats(b, m.std[:]...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(m.centroids)))
	for c := range m.centroids {
		b = appendFloats(b, m.centroids[c][:]...)
		b = appendFloats(b, m.fraction[c])
		b = appendFloats(b, m.spread[c][:]...)
	}
	return b, nil
}

func appendFloats(b []byte, vs ...float64) []byte {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// UnmarshalBinary decodes a model written by MarshalBinary and validates it. Use it on a new
// Model value: models are immutable once shared.
func (m *Model) UnmarshalBinary(data []byte) error {
	r := reader{b: data}
	if string(r.bytes(len(encMagic))) != encMagic {
		return fmt.Errorf("%w: not a Kerberos model (bad magic)", ErrModel)
	}
	if v := r.u16(); v != encVersion {
		return fmt.Errorf("%w: encoding version %d, want %d", ErrModel, v, encVersion)
	}
	if d := int(r.u16()); d != NumFeatures {
		return fmt.Errorf("%w: %d features, want %d", ErrModel, d, NumFeatures)
	}
	for i, want := range featureNames {
		if got := string(r.bytes(int(r.u8()))); got != want {
			return fmt.Errorf("%w: feature %d is %q, want %q", ErrModel, i, got, want)
		}
	}
	var out Model
	out.window = time.Duration(r.u64())
	if ns := int64(r.u64()); ns != 0 {
		out.trainedAt = time.Unix(0, ns).UTC()
	}
	out.samples = int(min(r.u64(), math.MaxInt32))
	out.silhouette, out.median, out.lambda = r.f64(), r.f64(), r.f64()
	r.floats(out.mean[:])
	r.floats(out.std[:])
	k := int(r.u16())
	if k > maxK {
		return fmt.Errorf("%w: %d clusters", ErrModel, k)
	}
	out.centroids = make([][NumFeatures]float64, k)
	out.fraction = make([]float64, k)
	out.spread = make([][NumFeatures]float64, k)
	for c := range k {
		r.floats(out.centroids[c][:])
		out.fraction[c] = r.f64()
		r.floats(out.spread[c][:])
	}
	if r.short {
		return fmt.Errorf("%w: truncated", ErrModel)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrModel, len(r.b))
	}
	if err := out.Validate(); err != nil {
		return err
	}
	out.prepare()
	*m = out
	return nil
}

// reader consumes little-endian values; past the end it yields zeros and sets short, so decoding
// never panics and reports truncation once at the end.
type reader struct {
	b     []byte
	short bool
}

func (r *reader) bytes(n int) []byte {
	if n > len(r.b) {
		r.short, r.b = true, nil
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8 {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) f64() float64 { return math.Float64frombits(r.u64()) }

func (r *reader) floats(dst []float64) {
	for i := range dst {
		dst[i] = r.f64()
	}
}
