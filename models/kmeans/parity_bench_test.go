package kmeans_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/kmeans"
)

// BenchmarkFit100kx8 is the Go side of the timing comparison with scikit-learn (see
// sklearn_parity.py --bench): KMeans(n_clusters=6, n_init=10) on 100k hosts × 8 z-scored
// features. It reports the inertia so equal quality can be checked, and process CPU time per fit
// besides wall time, because the build machine is shared.
func BenchmarkFit100kx8(b *testing.B) {
	x, err := BenchData(100_000)
	if err != nil {
		b.Fatal(err)
	}
	z := Standardise(x)
	var inertia float64
	start := cpuNow()
	for b.Loop() {
		r, err := kmeans.Fit(z, kmeans.Config{K: 6, NInit: 10, Seed: 0})
		if err != nil {
			b.Fatal(err)
		}
		inertia = r.Inertia
	}
	b.ReportMetric(float64(cpuNow()-start)/float64(b.N)/1e9, "cpu-s/op")
	b.ReportMetric(inertia, "inertia")
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
