// Package wire is the little-endian encoding shared by the bundle container and the model
// sections inside it. Writing is plain appending; reading goes through Reader, which checks
// every length against the bytes that are actually left before allocating, so a corrupt or
// hostile length can never trigger a huge allocation or a panic.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrTruncated is wrapped by every error about data ending early.
var ErrTruncated = errors.New("truncated")

// AppendU8 appends one byte.
func AppendU8(b []byte, v uint8) []byte { return append(b, v) }

// AppendU16 appends v little-endian.
func AppendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }

// AppendU32 appends v little-endian.
func AppendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

// AppendU64 appends v little-endian.
func AppendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// AppendI64 appends v as its two's-complement bits.
func AppendI64(b []byte, v int64) []byte { return AppendU64(b, uint64(v)) }

// AppendF64 appends the IEEE-754 bits of v, so the value round-trips exactly.
func AppendF64(b []byte, v float64) []byte { return AppendU64(b, math.Float64bits(v)) }

// AppendF32s appends the IEEE-754 bits of every element of v.
func AppendF32s(b []byte, v []float32) []byte {
	for _, x := range v {
		b = AppendU32(b, math.Float32bits(x))
	}
	return b
}

// AppendF64s appends the IEEE-754 bits of every element of v.
func AppendF64s(b []byte, v []float64) []byte {
	for _, x := range v {
		b = AppendF64(b, x)
	}
	return b
}

// AppendU64s appends every element of v.
func AppendU64s(b []byte, v []uint64) []byte {
	for _, x := range v {
		b = AppendU64(b, x)
	}
	return b
}

// AppendU32s appends every element of v.
func AppendU32s(b []byte, v []uint32) []byte {
	for _, x := range v {
		b = AppendU32(b, x)
	}
	return b
}

// AppendBytes appends a uint32 length followed by p.
func AppendBytes(b []byte, p []byte) []byte {
	return append(AppendU32(b, uint32(len(p))), p...)
}

// Reader decodes what the Append functions wrote. Its error is sticky: after the first
// failure every read returns zero values, and Err reports the first failure with the name of
// the field being read, so decoders can read a whole structure and check once.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader reads p.
func NewReader(p []byte) *Reader { return &Reader{b: p} }

// Err returns the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Offset returns how many bytes have been consumed.
func (r *Reader) Offset() int { return r.off }

// Remaining returns how many bytes are left.
func (r *Reader) Remaining() int { return len(r.b) - r.off }

// Fail records err (with the field name) unless an error is already recorded.
func (r *Reader) Fail(field string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %w", field, err)
	}
}

// Failf records a formatted error for field unless an error is already recorded.
func (r *Reader) Failf(field, format string, args ...any) {
	r.Fail(field, fmt.Errorf(format, args...))
}

// Done reports an error if bytes are left over: every format here is exact, so trailing bytes
// mean the data is not what it claims to be.
func (r *Reader) Done() error {
	if r.err == nil && r.off != len(r.b) {
		r.err = fmt.Errorf("%d unexpected trailing bytes at offset %d", len(r.b)-r.off, r.off)
	}
	return r.err
}

func (r *Reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.Fail(field, fmt.Errorf("%w: need %d bytes at offset %d, have %d", ErrTruncated, n, r.off, len(r.b)-r.off))
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

// U8 reads one byte.
func (r *Reader) U8(field string) uint8 {
	if p := r.take(field, 1); p != nil {
		return p[0]
	}
	return 0
}

// U16 reads a little-endian uint16.
func (r *Reader) U16(field string) uint16 {
	if p := r.take(field, 2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

// U32 reads a little-endian uint32.
func (r *Reader) U32(field string) uint32 {
	if p := r.take(field, 4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

// U64 reads a little-endian uint64.
func (r *Reader) U64(field string) uint64 {
	if p := r.take(field, 8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// I64 reads an int64.
func (r *Reader) I64(field string) int64 { return int64(r.U64(field)) }

// F64 reads a float64 and rejects NaN and ±Inf: no stored parameter may be non-finite.
func (r *Reader) F64(field string) float64 {
	v := math.Float64frombits(r.U64(field))
	if math.IsNaN(v) || math.IsInf(v, 0) {
		r.Failf(field, "non-finite value %v", v)
		return 0
	}
	return v
}

// Count reads a uint32 element count and checks that count elements of elemSize bytes fit in
// what is left (and that count <= max), so the caller may allocate count elements safely.
func (r *Reader) Count(field string, elemSize, max int) int {
	n := int(r.U32(field))
	if r.err != nil {
		return 0
	}
	if n > max {
		r.Failf(field, "count %d exceeds the limit %d", n, max)
		return 0
	}
	if elemSize > 0 && n > (len(r.b)-r.off)/elemSize {
		r.Fail(field, fmt.Errorf("%w: %d elements of %d bytes at offset %d, have %d bytes",
			ErrTruncated, n, elemSize, r.off, len(r.b)-r.off))
		return 0
	}
	return n
}

// F32s reads n float32 values, rejecting non-finite ones.
func (r *Reader) F32s(field string, n int) []float32 {
	p := r.take(field, 4*n)
	if p == nil {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		v := math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			r.Failf(field, "non-finite value at index %d", i)
			return nil
		}
		out[i] = v
	}
	return out
}

// F64s reads n float64 values, rejecting non-finite ones.
func (r *Reader) F64s(field string, n int) []float64 {
	p := r.take(field, 8*n)
	if p == nil {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		v := math.Float64frombits(binary.LittleEndian.Uint64(p[8*i:]))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			r.Failf(field, "non-finite value at index %d", i)
			return nil
		}
		out[i] = v
	}
	return out
}

// U64s reads n uint64 values.
func (r *Reader) U64s(field string, n int) []uint64 {
	p := r.take(field, 8*n)
	if p == nil {
		return nil
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(p[8*i:])
	}
	return out
}

// U32s reads n uint32 values.
func (r *Reader) U32s(field string, n int) []uint32 {
	p := r.take(field, 4*n)
	if p == nil {
		return nil
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(p[4*i:])
	}
	return out
}

// IncreasingU64s reads n uint64s that must be strictly increasing (keys a binary search relies
// on).
func (r *Reader) IncreasingU64s(field string, n int) []uint64 {
	keys := r.U64s(field, n)
	for i := 1; i < len(keys); i++ {
		if keys[i] <= keys[i-1] {
			r.Failf(field, "not strictly increasing at %d", i)
			return nil
		}
	}
	return keys
}

// Bytes reads what AppendBytes wrote (at most max bytes). The result aliases the input.
func (r *Reader) Bytes(field string, max int) []byte {
	n := r.Count(field, 1, max)
	return r.take(field, n)
}

// Raw reads exactly n bytes. The result aliases the input.
func (r *Reader) Raw(field string, n int) []byte { return r.take(field, n) }
