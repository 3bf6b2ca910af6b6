package bodyjson

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// stdJSON is the reference: encoding/json without HTML escaping.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
}

func TestMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, "", "plain", "quote\" back\\slash <tag> & amp", "ctl\x00\x01\x1f\n\r\t\b\f", "caf\u00e9 \u2028 \u2029 \U0001F600",
		"bad\xffutf8\xc3", 0.0, math.Copysign(0, -1), 1.0, -2.5, 1e20, 1e21, 123456789012.0, 1e-6, 1e-7, 5e-324, math.MaxFloat64,
		float32(1.5), float32(1e-7), int64(math.MinInt64), uint64(math.MaxUint64), 42,
		time.Date(2024, 5, 6, 7, 8, 9, 123, time.UTC),
		[]any{}, []any{1.0, "a", nil, []any{map[string]any{}}},
		map[string]any{}, map[string]any{"b": 1.0, "a": map[string]any{"z": []any{true}, "y": "x"}, "": "empty key", "é": 1.0},
	}
	big := map[string]any{}
	for i := range 40 {
		big[string(rune('A'+i))+"key"] = float64(i)
	}
	values = append(values, big, map[string]any{"prefix__b": 1.0, "prefix__a": 2.0, "prefix_": 3.0, "prefix": 4.0})
	for _, v := range values {
		got, safe := Append(nil, v)
		if want := stdJSON(t, v); !bytes.Equal(got, want) || !safe {
			t.Errorf("%#v:\n got %s (safe %v)\nwant %s", v, got, safe, want)
		}
	}
}

func TestUnsafeValues(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{math.NaN(), `null`},
		{[]any{math.Inf(1), float32(math.Inf(-1))}, `[null,null]`},
		{map[any]any{2: "b", "1": "a"}, `{"1":"a","2":"b"}`},
		{time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), `"12000-01-01 00:00:00 +0000 UTC"`},
		{make(chan int), ``},
		{struct{ A int }{1}, `"{1}"`},
	} {
		got, safe := Append(nil, tc.v)
		if safe || !json.Valid(got) || tc.want != "" && string(got) != tc.want {
			t.Errorf("%#v: got %s safe %v, want %s unsafe", tc.v, got, safe, tc.want)
		}
	}
	got, safe := Append([]byte("prefix:"), []byte("bin\xff"))
	if string(got) != `prefix:"bin\ufffd"` || !safe {
		t.Errorf("[]byte is written as text after dst: %s %v", got, safe)
	}
	if got, safe := Append(nil, int8(-3)); string(got) != "-3" || !safe {
		t.Errorf("small ints: %s %v", got, safe)
	}
}

// FuzzBodyJSON checks Append against encoding/json on every JSON value the fuzzer finds.
func FuzzBodyJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true,{"b":{}}]}`, `"\u2028\ud800"`, `1e-7`, `[1e21,-0]`, `{"z":1,"a":2,"m":{"k":"v"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		got, safe := Append(nil, v)
		if want := stdJSON(t, v); !bytes.Equal(got, want) || !safe {
			t.Fatalf("got %s (safe %v), want %s", got, safe, want)
		}
	})
}
