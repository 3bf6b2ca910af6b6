package wire

import (
	"errors"
	"math"
	"testing"
)

func TestRoundTripAndStickyErrors(t *testing.T) {
	var b []byte
	b = AppendU8(b, 7)
	b = AppendU16(b, 0xbeef)
	b = AppendI64(b, -3)
	b = AppendF64(b, math.Copysign(0, -1))
	b = AppendU32(b, 2)
	b = AppendF32s(b, []float32{1.5, -2})
	b = AppendBytes(b, []byte("hi"))
	r := NewReader(b)
	if r.U8("a") != 7 || r.U16("b") != 0xbeef || r.I64("c") != -3 {
		t.Fatal("integers did not round-trip")
	}
	if z := r.F64("d"); z != 0 || !math.Signbit(z) {
		t.Fatal("negative zero lost its sign")
	}
	n := r.Count("n", 4, 10)
	if f := r.F32s("f", n); len(f) != 2 || f[0] != 1.5 || f[1] != -2 {
		t.Fatalf("floats = %v", f)
	}
	if s := r.Bytes("s", 10); string(s) != "hi" {
		t.Fatalf("bytes = %q", s)
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	// Past the end: the first failure names its field and sticks.
	r.U32("beyond")
	r.U8("later")
	if err := r.Err(); err == nil || !errors.Is(err, ErrTruncated) || err.Error()[:6] != "beyond" {
		t.Fatalf("err = %v", err)
	}
}

func TestCountGuardsAllocations(t *testing.T) {
	huge := AppendU32(nil, math.MaxUint32)
	r := NewReader(huge)
	if n := r.Count("n", 8, math.MaxInt32); n != 0 || r.Err() == nil {
		t.Fatalf("a count larger than the data must fail before allocating, got %d, %v", n, r.Err())
	}
	r = NewReader(AppendU32(nil, 11))
	if r.Count("n", 0, 10); r.Err() == nil {
		t.Fatal("count above its limit accepted")
	}
	r = NewReader(AppendF64(nil, math.Inf(-1)))
	if r.F64("x"); r.Err() == nil {
		t.Fatal("infinite float accepted")
	}
	r = NewReader([]byte{1, 2})
	r.U8("x")
	if r.Done() == nil {
		t.Fatal("trailing byte accepted")
	}
}
