package decodetest_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/tinylib/msgp/msgp"
)

func TestWireFormat(t *testing.T) {
	ts := time.Unix(0x01020304, 0x05060708)
	cases := []struct {
		name  string
		write func(*decodetest.Encoder)
		want  []byte
	}{
		{"v1 uint", func(e *decodetest.Encoder) { e.V1(decodetest.UintSeconds(200), map[string]any{"a": "b"}) },
			[]byte{0x92, 0xcc, 200, 0x81, 0xa1, 'a', 0xa1, 'b'}},
		{"v1 int", func(e *decodetest.Encoder) { e.V1(decodetest.IntSeconds(200), nil) },
			[]byte{0x92, 0xd1, 0x00, 200, 0x80}},
		{"v2 eventtime", func(e *decodetest.Encoder) { e.V2(decodetest.EventTime(ts), map[string]any{"m": true}, nil) },
			[]byte{0x92, 0x92, 0xd7, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0x81, 0xa1, 'm', 0xc3, 0x80}},
		{"eventtime ext8", func(e *decodetest.Encoder) { e.Value(decodetest.EventTimeExt8(ts)) },
			[]byte{0xc7, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"float64", func(e *decodetest.Encoder) { e.Value(decodetest.FloatSeconds(0.5)) },
			[]byte{0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0}},
		{"float32", func(e *decodetest.Encoder) { e.Value(decodetest.Float32Seconds(0.5)) },
			[]byte{0xca, 0x3f, 0x00, 0, 0}},
		{"group start", func(e *decodetest.Encoder) { e.GroupStart(nil, map[string]any{"k": nil}) },
			[]byte{0x92, 0x92, 0xff, 0x80, 0x81, 0xa1, 'k', 0xc0}},
		{"group end", func(e *decodetest.Encoder) { e.GroupEnd() },
			[]byte{0x92, 0x92, 0xfe, 0x80, 0x80}},
		{"ordered map", func(e *decodetest.Encoder) {
			e.Value(decodetest.Map{{Key: 2, Value: "x"}, {Key: "a", Value: []string{"y"}}})
		}, []byte{0x82, 0x02, 0xa1, 'x', 0xa1, 'a', 0x91, 0xa1, 'y'}},
		{"raw", func(e *decodetest.Encoder) { e.Value([]any{msgp.Raw{0xc1}}); e.Raw([]byte{0xff}) },
			[]byte{0x91, 0xc1, 0xff}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e decodetest.Encoder
			c.write(&e)
			got, err := e.Chunk()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("got % x\nwant % x", got, c.want)
			}
			if e.Len() != len(c.want) {
				t.Errorf("Len() = %d, want %d", e.Len(), len(c.want))
			}
		})
	}
}

func TestMapKeysSorted(t *testing.T) {
	body := map[string]any{}
	for _, k := range []string{"zeta", "alpha", "mu", "beta", "omega", "kappa"} {
		body[k] = map[string]string{k + "2": "v", k + "1": "w"}
	}
	var first []byte
	for i := range 20 {
		var e decodetest.Encoder
		e.V1(decodetest.UintSeconds(1), body)
		got, err := e.Chunk()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = got
			if a, z := bytes.Index(got, []byte("alpha")), bytes.Index(got, []byte("zeta")); a > z {
				t.Fatalf("keys not sorted: % x", got)
			}
			continue
		}
		if !bytes.Equal(got, first) {
			t.Fatalf("encoding %d differs from the first", i)
		}
	}
}

func TestErrorsStick(t *testing.T) {
	var e decodetest.Encoder
	e.V1(decodetest.UintSeconds(1), nil)
	n := e.Len()
	e.V1(decodetest.UintSeconds(2), map[string]any{"bad": struct{}{}})
	e.V1(decodetest.UintSeconds(3), nil)
	if _, err := e.Chunk(); err == nil {
		t.Fatal("unsupported type: no error")
	}
	if e.Len() != n {
		t.Errorf("Len() = %d after the error, want %d", e.Len(), n)
	}

	var out decodetest.Encoder
	out.V2(decodetest.EventTime(time.Unix(1<<33, 0)), nil, nil)
	if _, err := out.Chunk(); err == nil {
		t.Fatal("EventTime beyond uint32 seconds: no error")
	}
}
