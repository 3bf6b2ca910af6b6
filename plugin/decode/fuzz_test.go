package decode_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/siemscore/siemscore/plugin/decode"
	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/processors/body"
)

var updateSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzDecode from fuzzSeeds")

// fuzzSeeds are the committed seed corpus of FuzzDecode, by file name.
func fuzzSeeds(tb testing.TB) map[string][]byte {
	ts := decodetest.EventTime(chunkEpoch)
	rec := map[string]any{"message": "hello", "n": int64(3)}
	deep := func(n int) any { return nest(n, map[string]any{"leaf": "x"}) }
	valid := stringsChunk(tb, 3)
	seeds := map[string][]byte{
		"empty":      {},
		"v2":         valid,
		"cloudtrail": cloudTrailChunk(tb, 2),
		"v1_all_timestamps": build(tb, func(e *decodetest.Encoder) {
			e.V1(decodetest.EventTimeExt8(chunkEpoch), rec)
			e.V1(decodetest.IntSeconds(1714979289), rec)
			e.V1(decodetest.UintSeconds(1714979289), rec)
			e.V1(decodetest.FloatSeconds(1714979289.5), rec)
			e.V1(decodetest.Float32Seconds(1e6), rec)
		}),
		"mixed_versions": build(tb, func(e *decodetest.Encoder) {
			e.V2(ts, map[string]any{"tag": "x"}, rec)
			e.V1(ts, rec)
			e.V2(ts, nil, rec)
		}),
		"group_markers": build(tb, func(e *decodetest.Encoder) {
			e.GroupStart(map[string]any{"schema": "otlp"}, map[string]any{"resource": map[string]any{"service.name": "svc"}})
			e.V2(ts, map[string]any{"otlp": map[string]any{"severity_number": int64(9)}}, rec)
			e.GroupEnd()
			e.V1(decodetest.IntSeconds(-1), rec)
		}),
		"float_ts_midchunk": build(tb, func(e *decodetest.Encoder) {
			e.V2(ts, nil, rec)
			e.V2(decodetest.FloatSeconds(1714979289.25), nil, rec)
			e.V2(ts, nil, rec)
		}),
		"truncated":      valid[:len(valid)-3],
		"truncated_head": valid[:1],
		"deep_nesting": build(tb, func(e *decodetest.Encoder) {
			e.V1(ts, map[string]any{"ok": deep(decode.MaxDepth - 2)})
			e.V1(ts, map[string]any{"too_deep": deep(decode.MaxDepth)})
			e.V2(ts, map[string]any{"too_deep": deep(decode.MaxDepth)}, rec)
		}),
		"deep_nesting_cut":  append(bytes.Clone(valid), bytes.Repeat([]byte{0x91}, 2000)...),
		"huge_map_header":   {0x92, 0x92, 0xd7, 0x00, 0x66, 0x38, 0x80, 0x59, 0, 0, 0, 0, 0x80, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'k'},
		"huge_array_header": {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03},
		"huge_str_header":   {0x92, 0x01, 0x81, 0xa1, 'k', 0xdb, 0xff, 0xff, 0xff, 0xff, 'v'},
		"huge_bin_ext":      {0x92, 0x01, 0x82, 0xa1, 'b', 0xc6, 0x7f, 0xff, 0xff, 0xff, 0xa1, 'e', 0xc9, 0, 0, 0x10, 0, 0x05},
		"invalid_utf8": build(tb, func(e *decodetest.Encoder) {
			e.V2(ts, map[string]any{"\xc3\x28": "\xa0\xa1"}, map[string]any{"msg\xff": "\xf0\x28\x8c\xbc", "ok": "é"})
		}),
		"nan_inf": build(tb, func(e *decodetest.Encoder) {
			e.V1(ts, map[string]any{"nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1), "f32nan": float32(math.NaN())})
			e.V1(decodetest.FloatSeconds(math.NaN()), rec)
			e.V1(decodetest.FloatSeconds(math.Inf(1)), rec)
			e.V1(decodetest.Float32Seconds(float32(math.Inf(-1))), rec)
		}),
		"non_string_keys": build(tb, func(e *decodetest.Encoder) {
			e.Value([]any{ts, decodetest.Map{
				{Key: 1, Value: "a"}, {Key: -1.5, Value: "b"}, {Key: nil, Value: "c"}, {Key: []byte("d"), Value: 1},
				{Key: []any{1, "x"}, Value: 2}, {Key: map[string]any{"k": 1}, Value: 3}, {Key: "dup", Value: 4}, {Key: "dup", Value: 5},
			}})
		}),
		"all_value_types": build(tb, func(e *decodetest.Encoder) {
			e.V1(ts, map[string]any{
				"u": uint64(math.MaxUint64), "i": int64(math.MinInt64), "b": []byte{1, 2}, "t": chunkEpoch,
				"x": body.ExtValue{Type: 42, Data: []byte("abc")}, "nil": nil, "f": float32(1.5), "list": []any{true, false, nil},
			})
		}),
		"malformed_shapes": build(tb, func(e *decodetest.Encoder) {
			e.Value("not an event")
			e.Value([]any{ts, rec, rec})
			e.Value([]any{"2024-05-06", rec})
			e.Value([]any{[]any{ts, "meta"}, rec})
			e.Value([]any{ts, nil})
			e.V1(decodetest.IntSeconds(-7), rec)
			e.V1(ts, rec)
		}),
		"garbage_midchunk": append(append(stringsChunk(tb, 1), 0xc1), stringsChunk(tb, 1)...),
	}
	return seeds
}

func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	for name, chunk := range fuzzSeeds(t) {
		path := filepath.Join(dir, name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", chunk)
		if *updateSeeds {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is missing or stale (%v); run go test -run TestFuzzSeedCorpus -update-fuzz-seeds", path, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		chunk := bytes.Clone(data)
		d := newDecoder(chunk)
		var evs []event
		end, covered := 0, 0
		for d.Next() {
			ev := d.Event()
			if ev.Start < end || ev.End <= ev.Start || ev.End > len(chunk) {
				t.Fatalf("event [%d,%d) after byte %d in a %d-byte chunk", ev.Start, ev.End, end, len(chunk))
			}
			if !bytes.Equal(ev.Raw, chunk[ev.Start:ev.End]) {
				t.Fatalf("event [%d,%d): Raw differs from the chunk", ev.Start, ev.End)
			}
			if (ev.Err == nil) != (ev.Body.Kind() == body.Map) {
				t.Fatalf("event [%d,%d): Err %v with Body %v", ev.Start, ev.End, ev.Err, ev.Body.Kind())
			}
			covered += ev.End - ev.Start
			end = ev.End
			evs = append(evs, event{Event: ev, Body: asMap(ev.Body), Metadata: asMap(ev.Metadata)})
		}

		// Measuring each object before decoding it (the path of malformed objects) gives
		// the same events, counts and errors as decoding well-formed events in one pass.
		slow := newDecoder(chunk)
		decode.MeasureFirst(slow)
		for i := 0; slow.Next(); i++ {
			if i >= len(evs) {
				t.Fatalf("measured first: more than the %d events of one pass", len(evs))
			}
			got, want := slow.Event(), evs[i].Event
			if got.Start != want.Start || got.End != want.End || !got.Time.Equal(want.Time) || fmt.Sprint(got.Err) != fmt.Sprint(want.Err) ||
				fmt.Sprint(asMap(got.Metadata), asMap(got.Body)) != fmt.Sprint(evs[i].Metadata, evs[i].Body) {
				t.Fatalf("event %d measured first: [%d,%d) %v %v %v %v; in one pass: [%d,%d) %v %v %v %v", i,
					got.Start, got.End, got.Time, got.Err, asMap(got.Metadata), asMap(got.Body),
					want.Start, want.End, want.Time, want.Err, evs[i].Metadata, evs[i].Body)
			}
		}
		if slow.Stats() != d.Stats() || slow.Offset() != d.Offset() || fmt.Sprint(slow.Err()) != fmt.Sprint(d.Err()) {
			t.Fatalf("measured first: %+v at %d (%v); in one pass: %+v at %d (%v)", slow.Stats(), slow.Offset(), slow.Err(), d.Stats(), d.Offset(), d.Err())
		}

		st, off := d.Stats(), d.Offset()
		if st.Records+st.Malformed != len(evs) {
			t.Fatalf("Stats %+v for %d events", st, len(evs))
		}
		if off < end || off > len(chunk) {
			t.Fatalf("Offset() = %d, last event ends at %d, chunk has %d bytes", off, end, len(chunk))
		}
		if err := d.Err(); err == nil {
			if off != len(chunk) || d.Tail() != nil {
				t.Fatalf("no error but Offset() = %d of %d", off, len(chunk))
			}
		} else if !errors.Is(err, decode.ErrUndecodable) || off == len(chunk) || !bytes.Equal(d.Tail(), chunk[off:]) {
			t.Fatalf("Err() = %v, Offset() = %d of %d, Tail() = % x", err, off, len(chunk), d.Tail())
		}
		if got := covered + st.GroupBytes + len(chunk) - off; got != len(chunk) {
			t.Fatalf("events, markers and tail account for %d of %d bytes", got, len(chunk))
		}

		// What the decoder returns, decodetest writes back to the same values.
		for _, ev := range evs {
			if ev.Err != nil {
				continue
			}
			var e decodetest.Encoder
			e.V2(decodetest.UintSeconds(0), ev.Metadata, ev.Body)
			again, err := e.Chunk()
			if err != nil {
				t.Fatalf("re-encoding event [%d,%d): %v", ev.Start, ev.End, err)
			}
			d2 := newDecoder(again)
			if !d2.Next() || d2.Event().Err != nil {
				t.Fatalf("re-encoded event [%d,%d) does not decode: %v %v", ev.Start, ev.End, d2.Err(), d2.Event().Err)
			}
			want := fmt.Sprint(ev.Metadata, ev.Body)
			if got := fmt.Sprint(asMap(d2.Event().Metadata), asMap(d2.Event().Body)); got != want {
				t.Fatalf("round trip of event [%d,%d):\n got %s\nwant %s", ev.Start, ev.End, got, want)
			}
		}
	})
}
