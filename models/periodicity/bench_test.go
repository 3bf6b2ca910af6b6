package periodicity_test

import (
	"sync/atomic"
	"testing"

	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/synth/apicalls"
)

// benchCalls trains on generated data and returns the model and the scored weeks' calls.
func benchCalls(b *testing.B) (*periodicity.Model, []periodicity.Call) {
	b.Helper()
	ds, err := apicalls.Generate(apicalls.DefaultConfig(1))
	if err != nil {
		b.Fatal(err)
	}
	return trainOn(b, ds)
}

// BenchmarkObserveScore is the inline cost per record: count the call, then score it.
func BenchmarkObserveScore(b *testing.B) {
	m, calls := benchCalls(b)
	state := periodicity.NewState(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := &calls[i%len(calls)]
		obs, _ := state.Observe(c.Principal, c.API, c.Time)
		_ = m.Score(c.Principal, c.API, obs)
	}
}

// BenchmarkObserveScoreParallel is the same from concurrent flushes.
func BenchmarkObserveScoreParallel(b *testing.B) {
	m, calls := benchCalls(b)
	state := periodicity.NewState(0)
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := &calls[next.Add(1)%uint64(len(calls))]
			obs, _ := state.Observe(c.Principal, c.API, c.Time)
			_ = m.Score(c.Principal, c.API, obs)
		}
	})
}

// BenchmarkTrain is the training cost for sixteen weeks of generated CloudTrail.
func BenchmarkTrain(b *testing.B) {
	ds, err := apicalls.Generate(apicalls.DefaultConfig(1))
	if err != nil {
		b.Fatal(err)
	}
	c := periodicity.NewCounts()
	c.AddCalls(ds.Calls())
	w, _ := c.Span()
	b.ResetTimer()
	for range b.N {
		if _, err := periodicity.Train(c, w, periodicity.DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}
