package pipeline

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/plugin/decode"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

// encodingSink is the no-op sink of the benchmarks: it encodes every document as the bulk
// request would, with the data_stream and event.ingested fields the deliverer sets, and drops
// it, so the numbers cover decode + route + score + encode.
type encodingSink struct {
	buf     []byte
	streams map[ecs.Kind]ecs.DataStream
}

func (s *encodingSink) Deliver(_ context.Context, recs []ecs.Record, _ ...deliver.Undecodable) deliver.Outcome {
	s.buf = s.buf[:0]
	if s.streams == nil {
		s.streams = map[ecs.Kind]ecs.DataStream{}
	}
	ingested := ecs.Time(time.Now().UTC())
	for i := range recs {
		d, kind := recs[i].Doc, recs[i].Kind
		ds, ok := s.streams[kind]
		if !ok {
			ds = ecs.DataStream{Type: "logs", Dataset: target.LandingSiemscore.Dataset(kind.String()), Namespace: "default"}
			s.streams[kind] = ds
		}
		d.DataStream, d.Event.Ingested = ds, ingested
		s.buf = ecs.AppendDocument(s.buf, d)
	}
	return deliver.Outcome{Status: deliver.OK, Records: len(recs), Created: len(recs)}
}

func (s *encodingSink) Close(context.Context) error { return nil }

// BenchmarkFlush measures one flush of the workload's 2000-record chunk (see workload) through
// decode, route, score and encode, with a sink that only encodes, and a scorer holding a trained
// bundle with warm state. The target is ≥ 150k records/s on one core (-cpu 1).
func BenchmarkFlush(b *testing.B) {
	w := benchWorkload(b)
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
	check := &worker{}
	check.batch.Reset(w.chunk)
	built, _ := in.build(check, decode.New(check.batch.Tree()), func() string { return "bench" })
	w.checkScored(b, built.recs)
	b.SetBytes(int64(len(w.chunk)))
	b.ReportAllocs()
	tag := func() string { return "bench" }
	cpu0 := cpuTime(b)
	for b.Loop() {
		if code := in.Flush(w.chunk, tag); code != deliver.OK {
			b.Fatalf("flush: %v", code)
		}
	}
	reportPerRecord(b, b.N*w.n, cpuTime(b)-cpu0)
}

// reportPerRecord reports wall and CPU time per record. On a shared machine the wall time
// includes waiting for a core; the process CPU time (which with -cpu 1 is this benchmark's, plus
// the garbage collector's) is the steadier measure of the per-record cost.
func reportPerRecord(b *testing.B, records int, cpu time.Duration) {
	wall := float64(b.Elapsed().Nanoseconds()) / float64(records)
	b.ReportMetric(wall, "ns/record")
	b.ReportMetric(1e9/wall, "records/s")
	perCPU := float64(cpu.Nanoseconds()) / float64(records)
	b.ReportMetric(perCPU, "cpu-ns/record")
	b.ReportMetric(1e9/perCPU, "records/cpu-s")
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFlushStages splits BenchmarkFlush into its stages, each run alone over the
// workload's chunk: decode (the chunk copied into the batch's tree and its bodies decoded),
// decode+route (decoding again, then processors.AppendBody: detection, parsing, the record ID;
// routing writes into the tree decoding made, so it cannot run without it), score (a trained
// bundle, warm state) and encode (the documents' JSON). Each stage's input is prepared once by
// the stages before it. The kerberos/ sub-benchmarks run the same stages, and the whole flush,
// over the workload's Kerberos-only chunk.
func BenchmarkFlushStages(b *testing.B) {
	w := benchWorkload(b)
	stages(b, w, "", w.chunk)
	stages(b, w, "kerberos/", w.kerberos)
	proc, err := processors.New(processors.Options{})
	if err != nil {
		b.Fatal(err)
	}
	in, err := New(Options{Processor: proc, Scorer: w.scorer(b), Sink: &encodingSink{}, Budget: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	tag := func() string { return "bench" }
	b.Run("kerberos/flush", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime(b)
		for b.Loop() {
			if code := in.Flush(w.kerberos, tag); code != deliver.OK {
				b.Fatalf("flush: %v", code)
			}
		}
		reportPerRecord(b, b.N*w.n, cpuTime(b)-cpu0)
	})
}

// stages runs BenchmarkFlushStages' stages over chunk, a chunk of w.n records, naming them
// after prefix.
func stages(b *testing.B, w *workload, prefix string, chunk []byte) {
	proc, err := processors.New(processors.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var batch processors.Batch
	route := func(recs []ecs.Record) []ecs.Record {
		batch.Reset(append(batch.Tree().Buffer()[:0], chunk...))
		ids := processors.NewChunk()
		for d := decode.New(batch.Tree()); d.Next(); {
			ev := d.Event()
			recs = proc.AppendBody(recs, &batch, ev.Body, ev.Time, ids)
		}
		return recs
	}
	recs := route(nil)
	scorer := w.scorer(b)
	for i := range recs {
		scorer.Score(&recs[i])
	}
	if prefix == "" {
		w.checkScored(b, recs)
	}
	stage := func(name string, run func()) {
		b.Run(prefix+name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				run()
			}
			reportPerRecord(b, b.N*w.n, cpuTime(b)-cpu0)
		})
	}
	var decoding processors.Batch
	stage("decode", func() {
		decoding.Reset(append(decoding.Tree().Buffer()[:0], chunk...))
		for d := decode.New(decoding.Tree()); d.Next(); {
		}
	})
	var (
		routing processors.Batch
		ids     processors.Chunk
	)
	routed := make([]ecs.Record, 0, len(recs))
	stage("decode+route", func() {
		routing.Reset(append(routing.Tree().Buffer()[:0], chunk...))
		ids.Reset()
		routed = routed[:0]
		for d := decode.New(routing.Tree()); d.Next(); {
			ev := d.Event()
			routed = proc.AppendBody(routed, &routing, ev.Body, ev.Time, &ids)
		}
	})
	stage("score", func() {
		for i := range recs {
			scorer.Score(&recs[i])
		}
	})
	sink := &encodingSink{}
	stage("encode", func() {
		if out := sink.Deliver(b.Context(), recs); out.Err != nil {
			b.Fatal(out.Err)
		}
	})
}
