//go:build cgo

// fluent-bit-go's output package uses cgo, hence the build constraint.

package decode_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/siemscore/siemscore/plugin/decode"
	"github.com/siemscore/siemscore/plugin/decode/flbgo"
	"github.com/siemscore/siemscore/processors/body"
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

// tree is decodeChunk's tree, reused as the pipeline reuses one per flush worker.
var tree body.Tree

func decodeChunk(chunk []byte) (int, error) {
	tree.Reset(append(tree.Buffer()[:0], chunk...))
	d := decode.New(&tree)
	n := 0
	for d.Next() {
		ev := d.Event()
		if ev.Err != nil {
			return n, ev.Err
		}
		sink = ev.Body.Len()
		n++
	}
	return n, d.Err()
}

// fluentBitGoChunk is the loop a fluent-bit-go plugin runs over a flush,
// optionally with the string conversion it needs afterwards.
func fluentBitGoChunk(convert bool) func([]byte) (int, error) {
	if !convert {
		return func(chunk []byte) (int, error) {
			return flbgo.Raw(chunk, func(_ any, rec map[any]any) { sink = rec }), nil
		}
	}
	return func(chunk []byte) (int, error) {
		return flbgo.Records(chunk, func(t time.Time, body map[string]any) {
			sink = struct {
				time time.Time
				body map[string]any
			}{t, body}
		})
	}
}
