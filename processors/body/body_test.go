package body_test

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	goccy "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/processors/body"
)

// decodeOne writes v as msgpack and decodes it into a fresh tree.
func decodeOne(t testing.TB, v any) (body.Value, error) {
	t.Helper()
	var e decodetest.Encoder
	e.Value(v)
	b, err := e.Chunk()
	if err != nil {
		t.Fatal(err)
	}
	var tree body.Tree
	tree.Reset(b)
	return tree.Decode(0, len(b))
}

// expected is what decoding v must give, computed from the Go value itself: integers as int64
// (uint64 above MaxInt64), float32 widened, duplicate keys resolved to the last, non-string keys
// named by fmt's %v of their own expected value.
func expected(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return x
		}
		return int64(x)
	case float32:
		return float64(x)
	case time.Time:
		return x.UTC()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = expected(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = expected(e)
		}
		return out
	case decodetest.Map:
		out := map[string]any{}
		for _, kv := range x {
			k, ok := kv.Key.(string)
			if b, isBin := kv.Key.([]byte); isBin {
				k, ok = string(b), true
			}
			if !ok {
				k = fmt.Sprint(expected(kv.Key))
			}
			out[k] = expected(kv.Value)
		}
		return out
	}
	return v
}

// random makes a random value of every kind msgpack carries, maps with duplicate and
// non-string keys included.
func random(r *rand.Rand, depth int) any {
	keys := []string{"a", "b", "eventName", "B", "é", "", "ab", "aa", "prefix__x", "prefix__y", "prefix_"}
	switch n := r.IntN(14); {
	case n == 0 && depth < 4:
		m := map[string]any{}
		for range r.IntN(6) {
			m[keys[r.IntN(len(keys))]] = random(r, depth+1)
		}
		return m
	case n == 1 && depth < 4:
		var m decodetest.Map
		for range r.IntN(40) {
			var k any = keys[r.IntN(len(keys))]
			switch r.IntN(6) {
			case 0:
				k = int64(r.IntN(5))
			case 1:
				k = []byte(keys[r.IntN(len(keys))])
			}
			m = append(m, decodetest.KV{Key: k, Value: random(r, depth+1)})
		}
		return m
	case n == 2 && depth < 4:
		a := make([]any, r.IntN(4))
		for i := range a {
			a[i] = random(r, depth+1)
		}
		return a
	case n == 3:
		return int64(r.Int64()) >> r.IntN(64)
	case n == 4:
		return r.Uint64()
	case n == 5:
		return []float64{0.5, -1e300, 1e-7, 3, math.Copysign(0, -1)}[r.IntN(5)]
	case n == 6:
		return float32(r.NormFloat64())
	case n == 7:
		return r.IntN(2) == 0
	case n == 8:
		return nil
	case n == 9:
		return []byte(keys[r.IntN(len(keys))] + "\x00\xff")
	case n == 10:
		return time.Unix(r.Int64N(1<<32), r.Int64N(1e9))
	case n == 11:
		return body.ExtValue{Type: int8(1 + r.IntN(100)), Data: []byte("x")}
	}
	return keys[r.IntN(len(keys))] + "<\"\\\n\u2028"
}

func TestDecodeMatchesTheGoValue(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 3000 {
		v := random(r, 0)
		got, err := decodeOne(t, v)
		if err != nil {
			t.Fatalf("value %d (%#v): %v", i, v, err)
		}
		if want := expected(v); !reflect.DeepEqual(got.Any(), want) {
			t.Fatalf("value %d:\n got  %#v\n want %#v", i, got.Any(), want)
		}
	}
}

func TestMembersSortedLastWins(t *testing.T) {
	v, err := decodeOne(t, decodetest.Map{{Key: "z", Value: 1}, {Key: "a", Value: 2}, {Key: "m", Value: 3}, {Key: "a", Value: 4}, {Key: 7, Value: 5}, {Key: "7", Value: 6}})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range v.Len() {
		keys = append(keys, v.Key(i))
	}
	if !slices.Equal(keys, []string{"7", "a", "m", "z"}) || v.Get("a").Int() != 4 || v.Get("7").Int() != 6 {
		t.Errorf("members %v, a=%v, 7=%v", keys, v.Get("a").Any(), v.Get("7").Any())
	}
	if v.Get("q").Exists() || v.Get("a").Get("x").Exists() || v.Elem(0).Len() != 0 {
		t.Error("absent keys and non-maps must give Absent")
	}
	big := map[string]any{}
	for i := range 100 {
		big[fmt.Sprintf("k%03d", 99-i)] = i
	}
	v, _ = decodeOne(t, big)
	for i := range v.Len() {
		if want := fmt.Sprintf("k%03d", i); v.Key(i) != want {
			t.Fatalf("member %d is %q, want %q", i, v.Key(i), want)
		}
	}
}

// HasKeyPrefix must agree with a scan of every key, for keys and prefixes drawn from a small
// alphabet (so that prefixes often match, sit between keys, or run past them).
func TestHasKeyPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abe"[r.IntN(3)]
		}
		return string(b)
	}
	for range 2000 {
		m := map[string]any{}
		for range r.IntN(12) {
			m[word(1+r.IntN(4))] = 1
		}
		v, err := decodeOne(t, m)
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			prefix := word(r.IntN(5))
			want := false
			for k := range m {
				want = want || strings.HasPrefix(k, prefix)
			}
			if got := v.HasKeyPrefix(prefix); got != want {
				t.Fatalf("HasKeyPrefix(%q) of %v = %v", prefix, m, got)
			}
		}
	}
	if body.Of([]any{"event"}).HasKeyPrefix("") || body.Of("event").HasKeyPrefix("e") {
		t.Error("only a map has keys")
	}
}

// TestMembersSortedInOneTree decodes many maps into one tree, as a chunk's records are: most
// with the keys in one order (which sortSmall reuses), some shuffled, some with two keys
// swapped, some with a key repeated, keys sharing their first eight bytes. Each must come out
// with its keys ascending and a repeated key holding its last value.
func TestMembersSortedInOneTree(t *testing.T) {
	keys := []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "request_type", "client",
		"longkey_aaaaaaa2", "longkey_aaaaaaa1", "a", "service"}
	r := rand.New(rand.NewPCG(4, 2))
	var e decodetest.Encoder
	var bodies []decodetest.Map
	var ends []int
	for range 3000 {
		order := slices.Clone(keys[:4+r.IntN(len(keys)-3)])
		switch r.IntN(6) {
		case 0:
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		case 1:
			i, j := r.IntN(len(order)), r.IntN(len(order))
			order[i], order[j] = order[j], order[i]
		case 2:
			order = append(order, order[r.IntN(len(order))])
		}
		m := decodetest.Map{}
		for i, k := range order {
			m = append(m, decodetest.KV{Key: k, Value: i})
		}
		e.Value(m)
		bodies = append(bodies, m)
		ends = append(ends, e.Len())
	}
	chunk, err := e.Chunk()
	if err != nil {
		t.Fatal(err)
	}
	var tree body.Tree
	tree.Reset(chunk)
	off := 0
	for i, m := range bodies {
		v, err := tree.Decode(off, ends[i])
		if err != nil {
			t.Fatal(err)
		}
		off = ends[i]
		last := map[string]int{}
		for _, kv := range m {
			last[kv.Key.(string)] = kv.Value.(int)
		}
		want := slices.Sorted(maps.Keys(last))
		var got []string
		for j := range v.Len() {
			got = append(got, v.Key(j))
			if v.Elem(j).Int() != int64(last[v.Key(j)]) {
				t.Fatalf("map %d (%v): %s = %d, want the last value %d", i, m, v.Key(j), v.Elem(j).Int(), last[v.Key(j)])
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("map %d (%v): keys %v, want %v", i, m, got, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := any("leaf")
	for range body.MaxDepth + 1 {
		deep = []any{deep}
	}
	if _, err := decodeOne(t, deep); !errors.Is(err, body.ErrTooDeep) {
		t.Errorf("%d levels: %v", body.MaxDepth+1, err)
	}
	if _, err := decodeOne(t, deep.([]any)[0]); err != nil {
		t.Errorf("%d levels: %v", body.MaxDepth, err)
	}
	var tree body.Tree
	for _, bad := range [][]byte{{0xc1}, {0xa5, 'a'}, {0xdc, 0xff}, {0x82, 0xa1, 'k'}, {0xc7, 0x05, 0x01}, {}} {
		tree.Reset(bad)
		if _, err := tree.Decode(0, len(bad)); err == nil {
			t.Errorf("% x decoded without error", bad)
		}
	}
	tree.Reset([]byte{0x01, 0x02})
	if _, err := tree.Decode(0, 2); err == nil {
		t.Error("trailing bytes must be an error")
	}
}

// TestAppendTextMatchesEncodingJSON holds AppendText to encoding/json without HTML escaping,
// over the value with binary strings as text, non-finite floats as null and ext values as
// their Go text.
func TestAppendTextMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 3000 {
		v := random(r, 0)
		if i%10 == 0 {
			v = []any{math.NaN(), v, math.Inf(1)}
		}
		val, err := decodeOne(t, v)
		if err != nil {
			t.Fatal(err)
		}
		got, faithful := val.AppendText(nil)
		var buf bytes.Buffer
		enc := stdjson.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		clean, wasFaithful := textForm(val.Any())
		if err := enc.Encode(clean); err != nil {
			t.Fatal(err)
		}
		if want := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, want) || faithful != wasFaithful {
			t.Fatalf("value %d: AppendText = %s (%v)\n want %s (%v)", i, got, faithful, want, wasFaithful)
		}
	}
}

func textForm(v any) (any, bool) {
	switch x := v.(type) {
	case []byte:
		return string(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
	case body.ExtValue:
		return fmt.Sprint(x), false
	case []any:
		ok := true
		out := make([]any, len(x))
		for i, e := range x {
			var f bool
			out[i], f = textForm(e)
			ok = ok && f
		}
		return out, ok
	case map[string]any:
		ok := true
		out := map[string]any{}
		for k, e := range x {
			var f bool
			out[k], f = textForm(e)
			ok = ok && f
		}
		return out, ok
	}
	return v, true
}

// TestAppendJSONMatchesGoccy holds AppendJSON to goccy/go-json, which encoded these values
// before, over the value once non-finite floats are null and ext values their Go text.
func TestAppendJSONMatchesGoccy(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 3000 {
		v := random(r, 0)
		val, err := decodeOne(t, v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := goccy.Marshal(jsonForm(val.Any()))
		if err != nil {
			t.Fatal(err)
		}
		if got := val.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("value %d: AppendJSON = %s\n want %s", i, got, want)
		}
	}
}

func jsonForm(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case body.ExtValue:
		return fmt.Sprint(x)
	case []any:
		for i, e := range x {
			x[i] = jsonForm(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = jsonForm(e)
		}
	}
	return v
}

func TestBuildersAndRewind(t *testing.T) {
	var tree body.Tree
	tree.Reset([]byte{0x81, 0xa1, 'k', 0xa1, 'v'}) // {"k":"v"}
	ev, err := tree.Decode(0, 5)
	if err != nil {
		t.Fatal(err)
	}
	pass := tree.AppendAny(map[string]any{"k": "pass", "p": int64(1), "log": "x"})
	merged := tree.Merge(pass, tree.AppendAny(map[string]any{"k": "over", "log": "skipped", "o": true}), "log")
	if got := merged.Any(); !reflect.DeepEqual(got, map[string]any{"k": "over", "p": int64(1), "log": "x", "o": true}) {
		t.Errorf("Merge = %v", got)
	}
	arr := tree.NewArray(ev, tree.NewString("s"), tree.NewInt(-3))
	if got := arr.Any(); !reflect.DeepEqual(got, []any{map[string]any{"k": "v"}, "s", int64(-3)}) {
		t.Errorf("NewArray = %v", got)
	}
	// Strings made with Text outlive the buffer's growth.
	first := tree.Text(func(b []byte) []byte { return append(b, "first"...) })
	for range 1000 {
		tree.Text(func(b []byte) []byte { return append(b, strings.Repeat("x", 100)...) })
	}
	if first != "first" {
		t.Errorf("an early Text string changed: %q", first)
	}
	tree.Rewind()
	if !bytes.Equal(tree.Buffer(), []byte{0x81, 0xa1, 'k', 0xa1, 'v'}) {
		t.Errorf("Rewind must keep the buffer Reset gave: % x", tree.Buffer())
	}
	if v, err := tree.Decode(0, 5); err != nil || v.Get("k").Str() != "v" {
		t.Errorf("decoding again after Rewind: %v %v", v.Any(), err)
	}
	if o := body.Of(map[string]any{"u": uint64(math.MaxUint64), "n": uint8(7)}); o.Get("u").Kind() != body.Uint || o.Get("n").Kind() != body.Int {
		t.Errorf("Of: %v", o.Any())
	}
}

// FuzzBody decodes arbitrary bytes as one msgpack object. Invariants: no panic; an error for
// anything that is not exactly one well-formed object within MaxDepth; for what decodes, the
// members of every map in strictly increasing key order, and the text and document JSON valid
// and equal to encoding/json's and goccy's writing of the same value.
func FuzzBody(f *testing.F) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 40 {
		var e decodetest.Encoder
		e.Value(random(r, 0))
		b, _ := e.Chunk()
		f.Add(b)
	}
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'k'})
	f.Fuzz(func(t *testing.T, data []byte) {
		var tree body.Tree
		tree.Reset(data)
		// DecodePrefix reads the same object, and says where it ends, with anything after it.
		var prefixTree body.Tree
		prefixTree.Reset(append(bytes.Clone(data), 0xc0, 0x01))
		p, end, perr := prefixTree.DecodePrefix(0)
		v, err := tree.Decode(0, len(data))
		if err != nil {
			if perr == nil && end == len(data) {
				t.Fatalf("DecodePrefix read the whole input as one object, Decode refused it: %v", err)
			}
			return
		}
		if perr != nil || end != len(data) || fmt.Sprint(p.Any()) != fmt.Sprint(v.Any()) {
			t.Fatalf("DecodePrefix = %v, %d, %v; Decode = %v over %d bytes", p.Any(), end, perr, v.Any(), len(data))
		}
		checkOrder(t, v)
		text, faithful := v.AppendText(nil)
		if !stdjson.Valid(text) {
			t.Fatalf("AppendText wrote invalid JSON: %s", text)
		}
		clean, wasFaithful := textForm(v.Any())
		var buf bytes.Buffer
		enc := stdjson.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(clean); err == nil {
			if want := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(text, want) || faithful != wasFaithful {
				t.Fatalf("AppendText = %s (%v), want %s (%v)", text, faithful, want, wasFaithful)
			}
		}
		if want, err := goccy.Marshal(jsonForm(v.Any())); err == nil {
			if got := v.AppendJSON(nil); !bytes.Equal(got, want) {
				t.Fatalf("AppendJSON = %s, want %s", got, want)
			}
		}
	})
}

func checkOrder(t *testing.T, v body.Value) {
	switch v.Kind() {
	case body.Map:
		for i := range v.Len() {
			if i > 0 && v.Key(i-1) >= v.Key(i) {
				t.Fatalf("members out of order or repeated: %q then %q", v.Key(i-1), v.Key(i))
			}
			checkOrder(t, v.Elem(i))
		}
	case body.Array:
		for i := range v.Len() {
			checkOrder(t, v.Elem(i))
		}
	}
}
