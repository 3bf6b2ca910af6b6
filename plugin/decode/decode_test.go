package decode_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/plugin/decode"
	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/processors/body"
)

func build(t testing.TB, write func(e *decodetest.Encoder)) []byte {
	t.Helper()
	var e decodetest.Encoder
	write(&e)
	chunk, err := e.Chunk()
	if err != nil {
		t.Fatal(err)
	}
	return chunk
}

// event is a decoded event with its body and metadata as Go values, to compare.
type event struct {
	decode.Event
	Body, Metadata map[string]any
}

func asMap(v body.Value) map[string]any {
	m, _ := v.Any().(map[string]any)
	return m
}

// newDecoder copies chunk into a tree of its own, as the pipeline copies the chunk Fluent Bit
// lends it, and returns a Decoder of the copy.
func newDecoder(chunk []byte) *decode.Decoder {
	var t body.Tree
	t.Reset(bytes.Clone(chunk))
	return decode.New(&t)
}

func collect(d *decode.Decoder) []event {
	var evs []event
	for d.Next() {
		ev := d.Event()
		evs = append(evs, event{Event: ev, Body: asMap(ev.Body), Metadata: asMap(ev.Metadata)})
	}
	return evs
}

// decodeAll decodes a chunk that must decode to the end.
func decodeAll(t *testing.T, chunk []byte) ([]event, decode.Stats) {
	t.Helper()
	d := newDecoder(chunk)
	evs := collect(d)
	if err := d.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	if d.Offset() != len(chunk) || d.Tail() != nil {
		t.Fatalf("Offset() = %d, Tail() = % x; want %d and nil", d.Offset(), d.Tail(), len(chunk))
	}
	return evs, d.Stats()
}

func TestTimestampForms(t *testing.T) {
	ns := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	cases := []struct {
		name string
		ts   decodetest.Timestamp
		want time.Time
	}{
		{"EventTime fixext8", decodetest.EventTime(ns), ns},
		{"EventTime ext8", decodetest.EventTimeExt8(ns), ns},
		{"EventTime zero", decodetest.EventTime(time.Unix(0, 0)), time.Unix(0, 0).UTC()},
		{"EventTime max", decodetest.EventTime(time.Unix(math.MaxUint32, 999999999)), time.Unix(math.MaxUint32, 999999999).UTC()},
		{"int", decodetest.IntSeconds(ns.Unix()), ns.Truncate(time.Second)},
		{"int zero", decodetest.IntSeconds(0), time.Unix(0, 0).UTC()},
		{"uint", decodetest.UintSeconds(uint64(ns.Unix())), ns.Truncate(time.Second)},
		{"uint year 9999", decodetest.UintSeconds(253402300799), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"float64", decodetest.FloatSeconds(1714979289.25), time.Unix(1714979289, 250000000).UTC()},
		{"float64 rounds to nanoseconds", decodetest.FloatSeconds(1.0000000004), time.Unix(1, 0).UTC()},
		{"float64 rounds up to next second", decodetest.FloatSeconds(1.9999999999), time.Unix(2, 0).UTC()},
		{"float64 last second of year 9999", decodetest.FloatSeconds(253402300799.5), time.Date(9999, 12, 31, 23, 59, 59, 5e8, time.UTC)},
		{"float32", decodetest.Float32Seconds(1000000.5), time.Unix(1000000, 500000000).UTC()},
	}
	rec := map[string]any{"message": "hello"}
	meta := map[string]any{"otlp": map[string]any{"severity": int64(9)}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, st := decodeAll(t, build(t, func(e *decodetest.Encoder) {
				e.V1(c.ts, rec)
				e.V2(c.ts, meta, rec)
			}))
			if len(evs) != 2 || st.Records != 2 {
				t.Fatalf("got %d events, stats %+v; want 2 records", len(evs), st)
			}
			for i, ev := range evs {
				if ev.Err != nil {
					t.Fatalf("event %d: %v", i, ev.Err)
				}
				if !ev.Time.Equal(c.want) || ev.Time.Location() != time.UTC {
					t.Errorf("event %d: Time = %v, want %v UTC", i, ev.Time, c.want)
				}
				if !reflect.DeepEqual(ev.Body, rec) {
					t.Errorf("event %d: Body = %#v", i, ev.Body)
				}
			}
			if evs[0].Metadata != nil || !reflect.DeepEqual(evs[1].Metadata, meta) {
				t.Errorf("Metadata = %#v (v1), %#v (v2)", evs[0].Metadata, evs[1].Metadata)
			}
		})
	}
}

func TestMixedVersionsAndOffsets(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	var bounds []int
	chunk := build(t, func(e *decodetest.Encoder) {
		e.V2(decodetest.EventTime(t0), map[string]any{"tag": "a"}, map[string]any{"n": int64(1)})
		bounds = append(bounds, e.Len())
		e.V1(decodetest.EventTime(t0.Add(time.Second)), map[string]any{"n": int64(2)})
		bounds = append(bounds, e.Len())
		e.V2(decodetest.EventTime(t0.Add(2*time.Second)), nil, map[string]any{"n": int64(3)})
		bounds = append(bounds, e.Len())
	})
	evs, st := decodeAll(t, chunk)
	if len(evs) != 3 || st != (decode.Stats{Records: 3}) {
		t.Fatalf("got %d events, stats %+v", len(evs), st)
	}
	start := 0
	for i, ev := range evs {
		if ev.Start != start || ev.End != bounds[i] {
			t.Errorf("event %d spans [%d,%d), want [%d,%d)", i, ev.Start, ev.End, start, bounds[i])
		}
		if !bytes.Equal(ev.Raw, chunk[ev.Start:ev.End]) {
			t.Errorf("event %d: Raw differs from the chunk bytes", i)
		}
		if ev.Body["n"] != int64(i+1) || !ev.Time.Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Errorf("event %d: Body %v, Time %v", i, ev.Body, ev.Time)
		}
		start = ev.End
	}
	if !reflect.DeepEqual(evs[0].Metadata, map[string]any{"tag": "a"}) {
		t.Errorf("v2 metadata = %#v", evs[0].Metadata)
	}
	if evs[1].Metadata != nil || evs[2].Metadata != nil {
		t.Errorf("v1 / empty metadata should be nil: %#v, %#v", evs[1].Metadata, evs[2].Metadata)
	}
}

func TestGroupMarkersSkippedAndCounted(t *testing.T) {
	ts := decodetest.EventTime(time.Unix(1700000000, 0))
	markerBytes := 0
	marker := func(e *decodetest.Encoder, write func()) {
		n := e.Len()
		write()
		markerBytes += e.Len() - n
	}
	chunk := build(t, func(e *decodetest.Encoder) {
		marker(e, func() {
			e.GroupStart(map[string]any{"schema": "otlp"}, map[string]any{"resource": map[string]any{"service.name": "x"}})
		})
		e.V2(ts, map[string]any{"otlp": map[string]any{}}, map[string]any{"msg": "first"})
		e.V2(ts, nil, map[string]any{"msg": "second"})
		marker(e, e.GroupEnd)
		e.V1(ts, map[string]any{"msg": "third"})
		marker(e, func() { e.GroupStart(nil, nil) })
		marker(e, e.GroupEnd)
	})
	evs, st := decodeAll(t, chunk)
	var msgs []string
	for _, ev := range evs {
		msgs = append(msgs, ev.Body["msg"].(string))
	}
	if strings.Join(msgs, ",") != "first,second,third" {
		t.Errorf("events: %q", msgs)
	}
	want := decode.Stats{Records: 3, GroupStarts: 2, GroupEnds: 2, GroupBytes: markerBytes}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

// fluent-bit-go's decoder returns -5 at a float timestamp and its callers stop
// there, silently dropping the rest of the chunk.
func TestFloatTimestampMidChunkKeepsDecoding(t *testing.T) {
	chunk := build(t, func(e *decodetest.Encoder) {
		e.V2(decodetest.EventTime(time.Unix(10, 0)), nil, map[string]any{"i": int64(0)})
		e.V2(decodetest.FloatSeconds(11.5), nil, map[string]any{"i": int64(1)})
		e.V1(decodetest.Float32Seconds(12), map[string]any{"i": int64(2)})
		e.V2(decodetest.EventTime(time.Unix(13, 0)), nil, map[string]any{"i": int64(3)})
	})
	evs, _ := decodeAll(t, chunk)
	if len(evs) != 4 {
		t.Fatalf("got %d events, want 4", len(evs))
	}
	if !evs[1].Time.Equal(time.Unix(11, 5e8)) || evs[3].Body["i"] != int64(3) {
		t.Errorf("events after the float timestamp: %+v, %+v", evs[1], evs[3])
	}
}

func TestValues(t *testing.T) {
	when := time.Date(2024, 1, 1, 0, 0, 0, 42, time.UTC)
	rec := map[string]any{
		"str":     "text",
		"empty":   "",
		"badutf8": "\xff\xfe ok",
		"neg":     int64(-42),
		"minint":  int64(math.MinInt64),
		"small":   uint8(7),
		"maxi64":  uint64(math.MaxInt64),
		"bigu":    uint64(math.MaxUint64),
		"f64":     1.25,
		"f32":     float32(0.5),
		"nan":     math.NaN(),
		"inf":     math.Inf(1),
		"ninf":    math.Inf(-1),
		"yes":     true,
		"no":      false,
		"null":    nil,
		"bin":     []byte{0, 1, 2},
		"ext":     body.ExtValue{Type: 5, Data: []byte{9, 9, 9}},
		"time":    when,
		"badtime": body.ExtValue{Type: 0, Data: []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}},
		"nested": map[string]any{
			"list": []any{int64(1), "two", []any{map[string]any{"deep": true}}, map[string]any{}},
			"obj":  map[string]any{"a": map[string]any{"b": map[string]any{"c": "d"}}},
		},
		"emptylist": []any{},
	}
	want := map[string]any{
		"str":       "text",
		"empty":     "",
		"badutf8":   "\xff\xfe ok",
		"neg":       int64(-42),
		"minint":    int64(math.MinInt64),
		"small":     int64(7),
		"maxi64":    int64(math.MaxInt64),
		"bigu":      uint64(math.MaxUint64),
		"f64":       1.25,
		"f32":       0.5,
		"yes":       true,
		"no":        false,
		"null":      nil,
		"bin":       []byte{0, 1, 2},
		"ext":       body.ExtValue{Type: 5, Data: []byte{9, 9, 9}},
		"time":      when,
		"badtime":   body.ExtValue{Type: 0, Data: []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}},
		"nested":    rec["nested"],
		"emptylist": []any{},
	}
	evs, _ := decodeAll(t, build(t, func(e *decodetest.Encoder) {
		e.V1(decodetest.UintSeconds(1), rec)
	}))
	got := evs[0].Body
	// NaN never equals itself, so the float specials are checked apart.
	if f, ok := got["nan"].(float64); !ok || !math.IsNaN(f) {
		t.Errorf("nan = %#v", got["nan"])
	}
	if got["inf"] != math.Inf(1) || got["ninf"] != math.Inf(-1) {
		t.Errorf("inf = %#v, ninf = %#v", got["inf"], got["ninf"])
	}
	for _, k := range []string{"nan", "inf", "ninf"} {
		delete(got, k)
	}
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("%s = %#v, want %#v", k, got[k], want[k])
			}
		}
		t.Fatalf("body mismatch")
	}
}

func TestNonStringKeys(t *testing.T) {
	rec := decodetest.Map{
		{Key: 1, Value: "int"},
		{Key: uint64(math.MaxUint64), Value: "uint"},
		{Key: -7, Value: "negative"},
		{Key: 1.5, Value: "float"},
		{Key: true, Value: "bool"},
		{Key: nil, Value: "nil"},
		{Key: []byte("bin"), Value: "bin"},
		{Key: []any{int64(1), "x"}, Value: "array"},
		{Key: map[string]any{"b": 2, "a": 1}, Value: "map"},
		{Key: "dup", Value: "first"},
		{Key: "dup", Value: "last"},
		{Key: "", Value: "empty"},
	}
	evs, _ := decodeAll(t, build(t, func(e *decodetest.Encoder) {
		e.Value([]any{decodetest.UintSeconds(1), rec})
	}))
	want := map[string]any{
		"1":                    "int",
		"18446744073709551615": "uint",
		"-7":                   "negative",
		"1.5":                  "float",
		"true":                 "bool",
		"<nil>":                "nil",
		"bin":                  "bin",
		"[1 x]":                "array",
		"map[a:1 b:2]":         "map",
		"dup":                  "last",
		"":                     "empty",
	}
	if !reflect.DeepEqual(evs[0].Body, want) {
		t.Errorf("Body = %#v\nwant %#v", evs[0].Body, want)
	}
}

// nest wraps v in n single-element arrays.
func nest(n int, v any) any {
	for range n {
		v = []any{v}
	}
	return v
}

func TestMalformedEventsAreReturnedAndDecodingContinues(t *testing.T) {
	ts := decodetest.EventTime(time.Unix(1700000000, 0))
	ok := map[string]any{"ok": true}
	cases := []struct {
		name  string
		write func(e *decodetest.Encoder)
		class error
	}{
		// Bytes decodetest's typed API cannot produce.
		{"EventTime nanoseconds 1e9", func(e *decodetest.Encoder) {
			e.Raw([]byte{0x92, 0xd7, 0x00, 0, 0, 0, 1, 0x3b, 0x9a, 0xca, 0x00, 0x80})
		}, decode.ErrTimestamp},
		{"100000 levels", func(e *decodetest.Encoder) {
			e.Raw([]byte{0x92, 0x01, 0x81, 0xa1, 'x'})
			e.Raw(bytes.Repeat([]byte{0x91}, 100000))
			e.Raw([]byte{0xc0})
		}, decode.ErrTooDeep},
		{"bare string", func(e *decodetest.Encoder) { e.Value("hello") }, decode.ErrShape},
		{"bare nil", func(e *decodetest.Encoder) { e.Value(nil) }, decode.ErrShape},
		{"map", func(e *decodetest.Encoder) { e.Value(ok) }, decode.ErrShape},
		{"array of 3", func(e *decodetest.Encoder) { e.Value([]any{ts, ok, ok}) }, decode.ErrShape},
		{"array of 1", func(e *decodetest.Encoder) { e.Value([]any{ts}) }, decode.ErrShape},
		{"empty array", func(e *decodetest.Encoder) { e.Value([]any{}) }, decode.ErrShape},
		{"v1 rec string", func(e *decodetest.Encoder) { e.Value([]any{ts, "body"}) }, decode.ErrShape},
		{"v1 rec array", func(e *decodetest.Encoder) { e.Value([]any{ts, []any{ok}}) }, decode.ErrShape},
		{"v2 rec nil", func(e *decodetest.Encoder) { e.Value([]any{[]any{ts, ok}, nil}) }, decode.ErrShape},
		{"v2 header of 3", func(e *decodetest.Encoder) { e.Value([]any{[]any{ts, ok, ok}, ok}) }, decode.ErrShape},
		{"v2 header of 1", func(e *decodetest.Encoder) { e.Value([]any{[]any{ts}, ok}) }, decode.ErrShape},
		{"v2 metadata string", func(e *decodetest.Encoder) { e.Value([]any{[]any{ts, "meta"}, ok}) }, decode.ErrShape},
		{"v2 metadata nil", func(e *decodetest.Encoder) { e.Value([]any{[]any{ts, nil}, ok}) }, decode.ErrShape},
		{"timestamp string", func(e *decodetest.Encoder) { e.Value([]any{"2024-01-01", ok}) }, decode.ErrTimestamp},
		{"timestamp nil", func(e *decodetest.Encoder) { e.Value([]any{[]any{nil, ok}, ok}) }, decode.ErrTimestamp},
		{"timestamp map", func(e *decodetest.Encoder) { e.Value([]any{ok, ok}) }, decode.ErrTimestamp},
		{"timestamp negative", func(e *decodetest.Encoder) { e.V1(decodetest.IntSeconds(-5), ok) }, decode.ErrTimestamp},
		{"timestamp after year 9999", func(e *decodetest.Encoder) { e.V1(decodetest.UintSeconds(253402300800), ok) }, decode.ErrTimestamp},
		{"timestamp huge int", func(e *decodetest.Encoder) { e.V1(decodetest.IntSeconds(math.MaxInt64), ok) }, decode.ErrTimestamp},
		{"timestamp NaN", func(e *decodetest.Encoder) { e.V2(decodetest.FloatSeconds(math.NaN()), nil, ok) }, decode.ErrTimestamp},
		{"timestamp +Inf", func(e *decodetest.Encoder) { e.V1(decodetest.FloatSeconds(math.Inf(1)), ok) }, decode.ErrTimestamp},
		{"float timestamp rounding past year 9999", func(e *decodetest.Encoder) {
			e.V1(decodetest.FloatSeconds(253402300799.9999999), ok)
		}, decode.ErrTimestamp},
		{"timestamp negative float", func(e *decodetest.Encoder) { e.V1(decodetest.FloatSeconds(-1), ok) }, decode.ErrTimestamp},
		{"ext type 1 timestamp", func(e *decodetest.Encoder) {
			e.Value([]any{body.ExtValue{Type: 1, Data: make([]byte, 8)}, ok})
		}, decode.ErrTimestamp},
		{"ext type 0 of 4 bytes", func(e *decodetest.Encoder) {
			e.Value([]any{body.ExtValue{Type: 0, Data: make([]byte, 4)}, ok})
		}, decode.ErrTimestamp},
		{"body one level too deep", func(e *decodetest.Encoder) {
			e.V1(ts, map[string]any{"x": nest(decode.MaxDepth, "leaf")})
		}, decode.ErrTooDeep},
		{"metadata one level too deep", func(e *decodetest.Encoder) {
			e.V2(ts, map[string]any{"x": nest(decode.MaxDepth, nil)}, ok)
		}, decode.ErrTooDeep},
		{"map key too deep", func(e *decodetest.Encoder) {
			e.Value([]any{ts, decodetest.Map{{Key: nest(decode.MaxDepth, 1), Value: 1}}})
		}, decode.ErrTooDeep},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var start, end int
			chunk := build(t, func(e *decodetest.Encoder) {
				e.V1(ts, map[string]any{"i": int64(0)})
				start = e.Len()
				c.write(e)
				end = e.Len()
				e.V2(ts, nil, map[string]any{"i": int64(2)})
			})
			evs, st := decodeAll(t, chunk)
			if len(evs) != 3 || st.Records != 2 || st.Malformed != 1 {
				t.Fatalf("got %d events, stats %+v; want 2 records and 1 malformed", len(evs), st)
			}
			bad := evs[1]
			if !errors.Is(bad.Err, c.class) {
				t.Fatalf("Err = %v, want %v", bad.Err, c.class)
			}
			if !strings.Contains(bad.Err.Error(), "at byte ") {
				t.Errorf("Err %q does not name the offset", bad.Err)
			}
			if bad.Start != start || bad.End != end || !bytes.Equal(bad.Raw, chunk[start:end]) {
				t.Errorf("malformed event spans [%d,%d), want [%d,%d); Raw equal: %v",
					bad.Start, bad.End, start, end, bytes.Equal(bad.Raw, chunk[start:end]))
			}
			if bad.Body != nil || bad.Metadata != nil || !bad.Time.IsZero() {
				t.Errorf("malformed event carries data: %+v", bad)
			}
			if evs[0].Body["i"] != int64(0) || evs[2].Body["i"] != int64(2) {
				t.Errorf("neighbours: %v, %v", evs[0].Body, evs[2].Body)
			}
		})
	}
}

func TestDepthLimitBoundary(t *testing.T) {
	// The body map is level 1, so MaxDepth-1 arrays inside it reach the limit.
	evs, _ := decodeAll(t, build(t, func(e *decodetest.Encoder) {
		e.V1(decodetest.UintSeconds(1), map[string]any{"x": nest(decode.MaxDepth, "leaf")})
	}))
	if !errors.Is(evs[0].Err, decode.ErrTooDeep) {
		t.Fatalf("MaxDepth+1 levels: Err = %v", evs[0].Err)
	}
	evs, _ = decodeAll(t, build(t, func(e *decodetest.Encoder) {
		e.V1(decodetest.UintSeconds(1), map[string]any{"x": nest(decode.MaxDepth-1, "leaf")})
	}))
	if evs[0].Err != nil {
		t.Fatalf("MaxDepth levels: %v", evs[0].Err)
	}
	v := evs[0].Body["x"]
	for range decode.MaxDepth - 1 {
		v = v.([]any)[0]
	}
	if v != "leaf" {
		t.Errorf("innermost value = %#v", v)
	}
}

func TestUndecodableTail(t *testing.T) {
	ts := decodetest.EventTime(time.Unix(1700000000, 0))
	good := func(e *decodetest.Encoder) {
		e.V2(ts, nil, map[string]any{"a": "b"})
		e.V1(ts, map[string]any{"c": "d"})
	}
	full := build(t, func(e *decodetest.Encoder) {
		good(e)
		e.V2(ts, map[string]any{"m": 1}, map[string]any{"message": strings.Repeat("x", 300)})
	})
	cases := map[string][]byte{
		"truncated event":      full[:len(full)-3],
		"truncated header":     full[:len(build(t, good))+1],
		"never-used byte 0xc1": append(build(t, good), 0xc1, 0x80),
		"str32 beyond the end": append(build(t, good), 0x92, 0x01, 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'),
		"map32 of 2^32-1":      append(build(t, good), 0x92, 0x01, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'k', 0xc0),
		"array32 of 2^32-1":    append(build(t, good), 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02),
		"bin32 beyond the end": append(build(t, good), 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00),
		"ext32 beyond the end": append(build(t, good), 0xc9, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01),
		"deep nesting cut off": append(build(t, good), bytes.Repeat([]byte{0x91}, 200000)...),
	}
	tailAt := len(build(t, good))
	for name, chunk := range cases {
		t.Run(name, func(t *testing.T) {
			d := newDecoder(chunk)
			evs := collect(d)
			if len(evs) != 2 || d.Stats().Records != 2 {
				t.Fatalf("got %d events before the tail, want 2", len(evs))
			}
			err := d.Err()
			if !errors.Is(err, decode.ErrUndecodable) {
				t.Fatalf("Err() = %v, want ErrUndecodable", err)
			}
			if !strings.Contains(err.Error(), "at byte "+strconv.Itoa(tailAt)) {
				t.Errorf("Err() = %q, does not name byte %d", err, tailAt)
			}
			if d.Offset() != tailAt || !bytes.Equal(d.Tail(), chunk[tailAt:]) {
				t.Errorf("Offset() = %d, want %d; Tail() equal: %v", d.Offset(), tailAt, bytes.Equal(d.Tail(), chunk[tailAt:]))
			}
			if d.Next() {
				t.Error("Next() after the error returned true")
			}
		})
	}
}

func TestAllocationBombHeaders(t *testing.T) {
	bombs := map[string][]byte{
		"map32":        {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05},
		"array32":      {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05},
		"v2 rec map":   {0x92, 0x92, 0x01, 0x80, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa0},
		"str32":        {0x92, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00},
		"nested map32": {0x92, 0x01, 0x81, 0xa1, 'k', 0xdf, 0xff, 0xff, 0xff, 0xff},
	}
	for name, chunk := range bombs {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			d := newDecoder(chunk)
			n := len(collect(d))
			runtime.ReadMemStats(&after)
			if n != 0 || !errors.Is(d.Err(), decode.ErrUndecodable) || d.Offset() != 0 {
				t.Fatalf("%d events, Err() = %v, Offset() = %d", n, d.Err(), d.Offset())
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
				t.Errorf("decoding a %d-byte bomb allocated %d bytes", len(chunk), grew)
			}
		})
	}
}

// The chunk is C memory freed after the flush: nothing decoded may point into it, only into
// the tree's copy, which stays until the tree is Reset.
func TestEventsOutliveTheChunk(t *testing.T) {
	ev := map[string]any{
		"user":   map[string]any{"name": "alice", "tags": []any{"a", "b"}},
		"bin":    []byte("payload"),
		"ext":    body.ExtValue{Type: 7, Data: []byte("xyz")},
		"string": strings.Repeat("s", 100),
	}
	meta := map[string]any{"key": "value"}
	chunk := build(t, func(e *decodetest.Encoder) {
		e.V2(decodetest.EventTime(time.Unix(1, 0)), meta, ev)
		e.Value("malformed")
	})
	raw := bytes.Clone(chunk)
	var tree body.Tree
	tree.Reset(append(tree.Buffer()[:0], chunk...))
	d := decode.New(&tree)
	var evs []decode.Event
	for d.Next() {
		evs = append(evs, d.Event())
	}
	for i := range chunk {
		chunk[i] = 0xc1
	}
	if !reflect.DeepEqual(asMap(evs[0].Body), ev) || !reflect.DeepEqual(asMap(evs[0].Metadata), meta) {
		t.Errorf("event changed with the chunk: %#v %#v", evs[0].Body.Any(), evs[0].Metadata.Any())
	}
	if !bytes.Equal(evs[1].Raw, raw[evs[1].Start:evs[1].End]) {
		t.Errorf("malformed Raw changed with the chunk: % x", evs[1].Raw)
	}
}

func TestEmptyChunk(t *testing.T) {
	for _, chunk := range [][]byte{nil, {}} {
		evs, st := decodeAll(t, chunk)
		if len(evs) != 0 || st != (decode.Stats{}) {
			t.Errorf("empty chunk: %d events, %+v", len(evs), st)
		}
	}
}
