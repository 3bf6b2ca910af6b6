package plugintest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
)

// BenchmarkEndToEnd feeds 20,000 mixed records in 40 chunks through the real .so inside flbhost
// (2 workers) into the local Elasticsearch, a fresh namespace per iteration. Besides records/s
// it reports where the flush time goes: "plugin-%" is decoding, routing and scoring, "deliver-%"
// is encoding plus the bulk requests and waiting for Elasticsearch, both as shares of the time
// spent inside flush calls.
func BenchmarkEndToEnd(b *testing.B) {
	url := estest.URL(b)
	so := plugin(b)
	bodies := plugintest.Mixed(20_000)
	chunks := chunking(b, bodies, 500, 0, "bench")
	var wall time.Duration
	var build, deliver, flush float64
	for b.Loop() {
		ns := estest.Namespace(b)
		var stderr strings.Builder
		start := time.Now()
		sum, err := flbtest.Run(context.Background(), flbtest.Config{
			Plugin:     so,
			Instances:  []flbtest.Instance{{Props: map[string]string{"es_hosts": url, "es_namespace": ns}}},
			Workers:    2,
			RetryLimit: "no_limits",
			RetryBase:  200 * time.Millisecond,
			Stderr:     &stderr,
		}, chunks...)
		wall += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if sum.Delivered != uint64(len(chunks)) {
			b.Fatalf("%d of %d chunks delivered", sum.Delivered, len(chunks))
		}
		tot := totals(b, stderr.String(), "siemscore.0")
		build += float64(tot["build_ms"])
		deliver += float64(tot["deliver_ms"])
		flush += sum.FlushTimeMS
	}
	records := float64(b.N * len(bodies))
	b.ReportMetric(records/wall.Seconds(), "records/s")
	b.ReportMetric(100*build/flush, "plugin-%")
	b.ReportMetric(100*deliver/flush, "deliver-%")
}
