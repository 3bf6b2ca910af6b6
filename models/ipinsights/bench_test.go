package ipinsights

import (
	"context"
	"slices"
	"testing"

	"github.com/siemscore/siemscore/models/synth/ipnet"
)

// BenchmarkTrainEpoch measures training throughput on the tutorial scheme with the default
// configuration (5 negatives per pair, all cores): epoch-pairs/s is the median over the
// epochs of the pairs trained per second of the epoch itself (what the progress callback
// reports); ns/op covers a whole three-epoch training including its set-up and calibration.
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
	mc.Epochs = 3
	var rates []float64
	b.ResetTimer()
	for b.Loop() {
		if _, err := Train(context.Background(), ds, mc, func(p Progress) { rates = append(rates, p.PairsPerSec) }); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(rates)
	b.ReportMetric(rates[len(rates)/2], "epoch-pairs/s")
}
