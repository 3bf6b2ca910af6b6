package companion

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/bundle/bundletest"
	"github.com/siemscore/siemscore/plugin/flbtest"
)

// BenchmarkFlushLatency measures the plugin's flush calls inside flbhost, delivery to the real
// Elasticsearch included, with the model left alone and with a new version published to the
// models index every second (the companion finds it within its 200 ms watch period and the
// plugin swaps it in), and, as a control, with the same publications to another index. A swap is an atomic pointer store, so the two must not differ beyond the
// machine's noise, which Elasticsearch dominates: BenchmarkScoreDuringSwaps in plugin/companion
// measures the swap's own cost. Each op is a chunk of 25 CloudTrail records, one every 50 ms;
// the percentiles need several hundred flushes, so a run sends at least minFlushes chunks
// whatever b.N (-benchtime=600x gives more).
func BenchmarkFlushLatency(b *testing.B) {
	for _, c := range []struct {
		name  string
		every time.Duration
		swap  bool
	}{
		{"steady", 0, false},
		// The control: the same publications, to an index the companion does not follow, so
		// Elasticsearch works as hard but nothing is swapped.
		{"publish-elsewhere-every-1s", time.Second, false},
		{"swap-every-1s", time.Second, true},
	} {
		b.Run(c.name, func(b *testing.B) { benchFlush(b, c.every, c.swap) })
	}
}

// minFlushes is the fewest flushes a BenchmarkFlushLatency run measures.
const minFlushes = 300

func benchFlush(b *testing.B, publishEvery time.Duration, swap bool) {
	so, cli := binaries(b)
	e := newEnv(b)
	b0 := bundletest.Bundle(b, bundletest.Version(0, 0))
	e.put(b0, bundletest.Encode(b, b0))
	ns := readertest.Namespace(b, e.url)
	h, log := startHost(b, flbtest.Config{
		Plugin: so, Instances: []flbtest.Instance{{Props: e.props(cli, ns, "a", b.TempDir(), "0")}},
		Interval: 50 * time.Millisecond, RetryLimit: "no_limits", RetryBase: 100 * time.Millisecond, RetryCap: time.Second,
	})
	waitFor(b, time.Minute, "the companion", func() bool { return len(companions(e.models.Name())) == 1 })

	publishTo := e.models
	if !swap {
		publishTo = newEnv(b).models
	}

	n := max(b.N, minFlushes)
	b.ResetTimer()
	start := time.Now()
	f := startFeeder(b, h, 25, n)
	var wg sync.WaitGroup
	stopSwaps := make(chan struct{})
	if publishEvery > 0 {
		wg.Go(func() {
			t := time.NewTicker(publishEvery)
			defer t.Stop()
			for i := 1; ; i++ {
				select {
				case <-stopSwaps:
					return
				case <-t.C:
				}
				bi := bundletest.Bundle(b, bundletest.Version(i, 0))
				if _, err := publishTo.Put(context.Background(), bi.Header(), bundletest.Encode(b, bi)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	<-f.done
	close(stopSwaps)
	wg.Wait()
	f.stop(b)
	sum, err := h.Wait()
	b.StopTimer()
	elapsed := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	ins := sum.Instances[0]
	if ins.Dropped != 0 || ins.MaxAttempts > 1 {
		b.Fatalf("dropped %d, max attempts %d: the latencies would include retries", ins.Dropped, ins.MaxAttempts)
	}
	versions, _ := swaps(log)
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/op")
	b.ReportMetric(ins.FlushP50Micros, "p50-µs")
	b.ReportMetric(ins.FlushP99Micros, "p99-µs")
	b.ReportMetric(ins.FlushMaxMicros, "max-µs")
	b.ReportMetric(float64(len(versions)-1), "swaps")
	if swap && len(versions) < 3 {
		b.Errorf("only %d versions swapped in during %d flushes: the run did not measure swaps", len(versions), n)
	}
	b.Logf("%d flushes, %d versions swapped in", ins.FlushCalls, len(versions))
}
