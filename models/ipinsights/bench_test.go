package ipinsights

import (
	"context"
	"testing"

	"github.com/siemscore/siemscore/synth/ipnet"
)

// BenchmarkTrainEpoch measures training throughput on the tutorial scheme (one epoch,
// default configuration: 5 negatives per pair, both cores); pairs/s is reported.
func BenchmarkTrainEpoch(b *testing.B) {
	cfg := ipnet.DefaultTutorialConfig()
	cfg.Users = 500
	data, _, err := ipnet.Tutorial(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ds := NewDataset()
	for i := range data.Train {
		ds.Add(entityOf(&data.Train[i]), data.Train[i].IP)
	}
	mc := DefaultConfig()
	mc.Epochs = 1
	mc.CalibrationSample = 1000
	b.ResetTimer()
	for b.Loop() {
		if _, err := Train(context.Background(), ds, mc, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ds.Len())*float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}
