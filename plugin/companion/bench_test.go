package companion

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/bundle/bundletest"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/metrics"
	"github.com/siemscore/siemscore/plugin/plugintest"
)

// BenchmarkScoreDuringSwaps measures the scoring of one flush's worth of records (25 CloudTrail
// records) by a scorer bound to a companion, with no swap and while a bundle is validated and
// swapped in every millisecond (a real companion swaps once per retraining). It isolates what a
// swap can cost a flush: the atomic pointer store, and the validation sharing the machine's
// cores; Elasticsearch is out of the picture (BenchmarkFlushLatency in plugin/plugintest/companion
// measures the whole flush). It reports the p50 and p99 of the per-chunk latency and the swaps.
func BenchmarkScoreDuringSwaps(b *testing.B) {
	bodies := make([]map[string]any, 25)
	for i := range bodies {
		bodies[i] = plugintest.CloudTrail(i)
	}
	recs := readertest.Records(b, bodies, nil)
	// Versions to swap in, one per millisecond for two seconds, encoded ahead: the swapper
	// decodes each, as fetch does.
	datas := make([][]byte, 2000)
	for i := range datas {
		datas[i] = bundletest.Encode(b, bundletest.Bundle(b, bundletest.Version(i+1, 0)))
	}
	for _, swapping := range []bool{false, true} {
		name := "steady"
		if swapping {
			name = "swapping"
		}
		b.Run(name, func(b *testing.B) {
			c := newCompanion(Config{}.withDefaults(), metrics.New())
			s := &Scorer{Scorer: score.New(), m: c.metrics}
			c.subscribe(s.Scorer)
			c.install(bundletest.Bundle(b, bundletest.Version(0, 0)), "bench")
			stop := make(chan struct{})
			var wg sync.WaitGroup
			swaps := 0
			if swapping {
				wg.Go(func() {
					tick := time.NewTicker(time.Millisecond)
					defer tick.Stop()
					for _, data := range datas {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						nb, err := c.accept(data)
						if err != nil {
							b.Error(err)
							return
						}
						c.install(nb, "bench")
						swaps++
					}
				})
			}
			lat := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				start := time.Now()
				for i := range recs {
					s.Score(&recs[i])
				}
				lat = append(lat, time.Since(start))
			}
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
			b.ReportMetric(float64(swaps), "swaps")
			if v := recs[len(recs)-1].Doc.SiemScore.Model.Version; v == "" {
				b.Fatal("records not scored")
			}
		})
	}
}
