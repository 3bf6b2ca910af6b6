//go:build cgo

// fluent-bit-go's output package uses cgo, hence the build constraint.

package decode_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
	"github.com/siemscore/siemscore/plugin/decode"
)

// BenchmarkDecode compares this decoder with fluent-bit-go's on the same
// chunks. "fluentbitgo" is its decoder alone; "fluentbitgo+strings" adds the
// conversion every plugin must do after it ([]byte strings and interface{}
// keys to string), which is the fair comparison: decode returns strings.
func BenchmarkDecode(b *testing.B) {
	cases := []struct {
		name  string
		chunk []byte
		n     int
	}{
		{"strings10", stringsChunk(b, 2000), 2000},
		{"cloudtrail", cloudTrailChunk(b, 1000), 1000},
	}
	for _, c := range cases {
		b.Run(c.name+"/siemscore", func(b *testing.B) { benchChunk(b, c.chunk, c.n, decodeChunk) })
		b.Run(c.name+"/fluentbitgo", func(b *testing.B) { benchChunk(b, c.chunk, c.n, fluentBitGoChunk(false)) })
		b.Run(c.name+"/fluentbitgo+strings", func(b *testing.B) { benchChunk(b, c.chunk, c.n, fluentBitGoChunk(true)) })
	}
}

// benchChunk reports, besides ns/op and B/s, the per-record cost.
func benchChunk(b *testing.B, chunk []byte, records int, decodeFn func([]byte) (int, error)) {
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		n, err := decodeFn(chunk)
		if err != nil || n != records {
			b.Fatalf("decoded %d of %d records: %v", n, records, err)
		}
	}
	runtime.ReadMemStats(&after)
	total := float64(b.N * records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/record")
}

var sink any

func decodeChunk(chunk []byte) (int, error) {
	d := decode.New(chunk)
	n := 0
	for d.Next() {
		ev := d.Event()
		if ev.Err != nil {
			return n, ev.Err
		}
		sink = ev.Body
		n++
	}
	return n, d.Err()
}

// fluentBitGoChunk is the loop a fluent-bit-go plugin runs over a flush,
// optionally with the string conversion it needs afterwards.
func fluentBitGoChunk(convert bool) func([]byte) (int, error) {
	return func(chunk []byte) (int, error) {
		dec := output.NewDecoder(unsafe.Pointer(&chunk[0]), len(chunk))
		n := 0
		for {
			ret, ts, rec := output.GetRecord(dec)
			if ret != 0 {
				break
			}
			if convert {
				t, ok := ts.(output.FLBTime)
				if !ok {
					return n, fmt.Errorf("timestamp %T", ts)
				}
				sink = struct {
					time time.Time
					body map[string]any
				}{t.Time.UTC(), stringMap(rec)}
			} else {
				sink = rec
			}
			n++
		}
		return n, nil
	}
}

func stringMap(m map[any]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		var key string
		switch k := k.(type) {
		case []byte:
			key = string(k)
		case string:
			key = k
		default:
			key = fmt.Sprint(k)
		}
		out[key] = stringValue(v)
	}
	return out
}

func stringValue(v any) any {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case map[any]any:
		return stringMap(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = stringValue(x)
		}
		return out
	default:
		return v
	}
}
