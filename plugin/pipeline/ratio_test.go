//go:build cgo

// fluent-bit-go's output package uses cgo, hence the build constraint.

package pipeline

import (
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/decode/flbgo"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
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
		if code := in.Flush(chunk, tag); code != deliver.OK {
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
	var recs []ecs.Record
	if _, err := flbgo.Records(chunk, func(t time.Time, body map[string]any) { recs = proc.Append(recs, body, t) }); err != nil {
		b.Fatal(err)
	}
	for i := range recs {
		scorer.Score(&recs[i])
	}
	if out := sink.Deliver(b.Context(), recs); out.Err != nil {
		b.Fatal(out.Err)
	}
	return len(recs)
}
