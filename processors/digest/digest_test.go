package digest

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors/body"
)

func TestIDNormalisesDecoderDifferences(t *testing.T) {
	// The same event as the msgpack decoder and a JSON decoder deliver it.
	msgpack := map[string]any{
		"port": int64(88), "big": uint64(7), "ratio": 0.5, "name": []byte("krbtgt"),
		"nested": map[string]any{"list": []any{int64(1), "a"}}, "zero": int64(0),
	}
	fromJSON := map[string]any{
		"port": 88.0, "big": 7.0, "ratio": 0.5, "name": "krbtgt",
		"nested": map[string]any{"list": []any{1.0, "a"}}, "zero": math.Copysign(0, -1),
	}
	if a, b := ID(1, Key{"k"}, body.Of(msgpack)), ID(1, Key{"k"}, body.Of(fromJSON)); a != b {
		t.Errorf("decoder forms must hash alike: %s != %s", a, b)
	}
}

func TestIDDistinguishes(t *testing.T) {
	base := map[string]any{"a": "x", "n": 5.0}
	same := []any{
		map[string]any{"n": int64(5), "a": "x"},
	}
	different := []any{
		map[string]any{"a": "x", "n": 5.5},
		map[string]any{"a": "x", "n": "5"},                          // a string is not a number
		map[string]any{"a": "x", "n": 5.0, "extra": nil},            // a null member is still a member
		map[string]any{"a": "x"},                                    // missing member
		map[string]any{"a": []any{"x"}, "n": 5.0},                   // array vs scalar
		map[string]any{"ax": "", "n": 5.0},                          // key/value boundary moved
		map[string]any{"a": "x", "n": 5.0000000000000001e0 + 1e-15}, // a different float
		[]any{"a", "x", "n", 5.0},                                   // array of the same tokens
		map[string]any{"a": "x", "n": true},
		map[string]any{"a": "x", "n": uint64(math.MaxUint64)},
	}
	want := ID(1, Key{}, body.Of(base))
	for _, v := range same {
		if got := ID(1, Key{}, body.Of(v)); got != want {
			t.Errorf("%v: %s, want %s", v, got, want)
		}
	}
	seen := map[string]string{want: fmt.Sprint(base)}
	for _, v := range different {
		got := ID(1, Key{}, body.Of(v))
		if prev, dup := seen[got]; dup {
			t.Errorf("%v collides with %s", v, prev)
		}
		seen[got] = fmt.Sprint(v)
	}
	if ID(2, Key{}, body.Of(base)) == want {
		t.Error("the kind must be part of the ID")
	}
	if ID(1, Key{"1"}, body.Of(base)) == want || ID(1, Key{"1"}, body.Of(base)) == ID(1, Key{"", "1"}, body.Of(base)) {
		t.Error("each natural key part must be part of the ID, in its position")
	}
	if ID(1, Key{}, body.Of([]any{"ab"})) == ID(1, Key{}, body.Of([]any{"a", "b"})) {
		t.Error("string boundaries must be part of the ID")
	}
}

func TestIDShape(t *testing.T) {
	id := ID(3, Key{"uid", "ts"}, body.Of(map[string]any{"x": 1.0}))
	if len(id) != 22 {
		t.Errorf("len(%q) = %d, want 22 (128 bits, unpadded base64)", id, len(id))
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) != Size {
		t.Errorf("%q is not URL-safe base64 of %d bytes: %v", id, Size, err)
	}
}

func TestIDLargeAndOddValues(t *testing.T) {
	// More members than the stack sort buffer, nested beyond one level, every value type.
	big := map[string]any{}
	for i := range 100 {
		big[fmt.Sprintf("k%03d", i)] = map[string]any{"i": float64(i), "t": time.Unix(int64(i), 5).UTC()}
	}
	reordered := map[string]any{}
	for i := 99; i >= 0; i-- {
		reordered[fmt.Sprintf("k%03d", i)] = map[string]any{"t": time.Unix(int64(i), 5).UTC(), "i": int64(i)}
	}
	if ID(1, Key{}, body.Of(big)) != ID(1, Key{}, body.Of(reordered)) {
		t.Error("member order must not matter")
	}
	reordered["k050"] = map[string]any{"t": time.Unix(50, 6).UTC(), "i": int64(50)}
	if ID(1, Key{}, body.Of(big)) == ID(1, Key{}, body.Of(reordered)) {
		t.Error("a changed nanosecond must change the ID")
	}
	// Keys sharing their first 8 bytes still sort as strings.
	a := map[string]any{"prefix__a": 1.0, "prefix__b": 2.0, "prefix_": 3.0}
	b := map[string]any{"prefix_": 3.0, "prefix__b": 2.0, "prefix__a": 1.0}
	if ID(1, Key{}, body.Of(a)) != ID(1, Key{}, body.Of(b)) {
		t.Error("keys sharing a prefix must still be ordered canonically")
	}
	type ext struct{ T int8 }
	if ID(1, Key{}, body.Of(ext{1})) == ID(1, Key{}, body.Of(ext{2})) || ID(1, Key{}, body.Of(ext{1})) != ID(1, Key{}, body.Of(ext{1})) {
		t.Error("other types must hash by value")
	}
	if ID(1, Key{}, body.Of(math.NaN())) != ID(1, Key{}, body.Of(math.NaN())) {
		t.Error("NaN must hash consistently")
	}
	long := string(make([]byte, 5000))
	if ID(1, Key{}, body.Of(long)) == ID(1, Key{}, body.Of(long+"\x00")) {
		t.Error("long strings must be hashed whole")
	}
}

func TestIDConcurrent(t *testing.T) {
	ev := map[string]any{"a": []any{1.0, "x", map[string]any{"b": true}}}
	want := ID(1, Key{"k"}, body.Of(ev))
	done := make(chan string)
	for range 8 {
		go func() {
			var got string
			for range 200 {
				got = ID(1, Key{"k"}, body.Of(ev))
			}
			done <- got
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("concurrent ID %s, want %s", got, want)
		}
	}
}

// IDs are stored in Elasticsearch: a chunk re-sent after an upgrade must get the IDs it got
// before, so the canonical form and its hash may not change. These were computed by the
// streaming implementation (a 512-byte buffer fed to XXH3's streaming hasher) and must hold for
// every later one; the values cross that buffer's boundaries and exceed its pooling bound.
func TestIDsAreStable(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{map[string]any{"a": []any{1.0, "x", map[string]any{"b": true}}, "n": nil, "u": uint64(1 << 63), "f": 2.5, "t": time.Unix(1700000000, 123).UTC()}, "d0GGQD2GCo2fGbfePmG-LA"},
		{strings.Repeat("0123456789", 60), "6MUVX4IwIvsXelDak14avg"},
		{map[string]any{"long": strings.Repeat("z", 70000), "k": []any{strings.Repeat("y", 511), strings.Repeat("w", 513)}}, "NYwJiqY9R21zDvQqD_7A8Q"},
	} {
		for range 2 { // the second time in a writer that held the first
			if got := ID(7, Key{"key", "", "third"}, body.Of(c.v)); got != c.want {
				t.Errorf("ID = %s, want %s", got, c.want)
			}
		}
	}
}
