package pipeline

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors"
)

// encodingSink is the no-op sink of the benchmarks: it encodes every document as the bulk
// request would and drops it, so the numbers cover decode + route + score + encode.
type encodingSink struct {
	buf []byte
}

func (s *encodingSink) Deliver(_ context.Context, recs []processors.Record) (Outcome, error) {
	s.buf = s.buf[:0]
	for i := range recs {
		b, err := recs[i].Doc.MarshalJSON()
		if err != nil {
			return Outcome{}, err
		}
		s.buf = append(s.buf, b...)
	}
	return Outcome{Written: len(recs)}, nil
}

func (s *encodingSink) DeadLetter(context.Context, []DeadLetter) error { return nil }
func (s *encodingSink) Close(context.Context) error                    { return nil }

// BenchmarkFlush measures one flush of a 2000-record mixed chunk (CloudTrail, GuardDuty, Zeek
// Kerberos, generic) through decode, route, score and encode, with a sink that only encodes.
// The scorer is the production one without a bundle (trained models' own cost is measured by
// models/score's benchmarks). The target is ≥ 150k records/s on one core (-cpu 1).
func BenchmarkFlush(b *testing.B) {
	const n = 2000
	chunk, err := plugintest.Chunk(plugintest.Mixed(n))
	if err != nil {
		b.Fatal(err)
	}
	proc, err := processors.New(processors.Options{})
	if err != nil {
		b.Fatal(err)
	}
	in, err := New(Options{Processor: proc, Scorer: score.New(), Sink: &encodingSink{}, Budget: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	tag := func() string { return "bench" }
	cpu0 := cpuTime(b)
	for b.Loop() {
		if code := in.Flush(chunk, tag); code != OK {
			b.Fatalf("flush: %v", code)
		}
	}
	reportPerRecord(b, b.N*n, cpuTime(b)-cpu0)
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
