//go:build cgo

// fluent-bit-go's output package uses cgo, hence the build constraint.

package pipeline

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"

	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/processors"
)

// BenchmarkFlushVsFluentBitGo runs the workload's 2000-record chunk through the whole flush
// twice per iteration: once as the plugin does it, once with fluent-bit-go's decoder (plus the
// conversion of its []byte strings and interface{} keys that every plugin built on it needs)
// in place of plugin/decode, followed by the same route, score and encode. Interleaving the two
// lets both see the same machine load; "speedup" is fluent-bit-go's time over the plugin's.
func BenchmarkFlushVsFluentBitGo(b *testing.B) {
	w := benchWorkload(b)
	chunk, n := w.chunk, w.n
	proc, err := processors.New(processors.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sink := &encodingSink{}
	scorer := w.scorer(b)
	in, err := New(Options{Processor: proc, Scorer: scorer, Sink: sink, Budget: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	tag := func() string { return "bench" }
	var ours, theirs time.Duration
	for b.Loop() {
		t0 := time.Now()
		if code := in.Flush(chunk, tag); code != OK {
			b.Fatalf("flush: %v", code)
		}
		t1 := time.Now()
		if got := fluentBitGoFlush(b, chunk, proc, scorer, sink); got != n {
			b.Fatalf("fluent-bit-go path made %d records, want %d", got, n)
		}
		ours, theirs = ours+t1.Sub(t0), theirs+time.Since(t1)
	}
	records := float64(b.N * n)
	b.ReportMetric(float64(ours.Nanoseconds())/records, "siemscore-ns/record")
	b.ReportMetric(float64(theirs.Nanoseconds())/records, "fluentbitgo-ns/record")
	b.ReportMetric(float64(theirs)/float64(ours), "speedup")
}

// fluentBitGoFlush is the flush of a plugin built on fluent-bit-go's decoder.
func fluentBitGoFlush(b *testing.B, chunk []byte, proc *processors.Processor, scorer *score.Scorer, sink *encodingSink) int {
	dec := output.NewDecoder(unsafe.Pointer(&chunk[0]), len(chunk))
	var recs []processors.Record
	for {
		ret, ts, rec := output.GetRecord(dec)
		if ret != 0 {
			break
		}
		t, ok := ts.(output.FLBTime)
		if !ok {
			b.Fatalf("timestamp %T", ts)
		}
		recs = proc.Append(recs, stringMap(rec), t.Time.UTC())
	}
	for i := range recs {
		scorer.Score(&recs[i])
	}
	if _, err := sink.Deliver(b.Context(), recs); err != nil {
		b.Fatal(err)
	}
	return len(recs)
}

// stringMap converts a fluent-bit-go record, whose strings arrive as []byte and whose keys are
// interface{}, into the map[string]any the processors take.
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
		for i, e := range v {
			out[i] = stringValue(e)
		}
		return out
	}
	return v
}
