package hashsearch

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Find answers exactly as a binary search, for hashed keys and for the worst case of keys that
// are not spread at all.
func TestFindAgreesWithBinarySearch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 5, 63, 64, 65, 1000, 100000} {
		for _, spread := range []bool{true, false} {
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = r.Uint64()
				if !spread {
					keys[i] = uint64(r.IntN(3 * n))
				}
			}
			slices.Sort(keys)
			keys = slices.Compact(keys)
			probes := append(slices.Clone(keys), 0, ^uint64(0))
			for range 2000 {
				probes = append(probes, r.Uint64(), uint64(r.IntN(3*n+1)))
			}
			for _, k := range probes {
				wi, wok := slices.BinarySearch(keys, k)
				if i, ok := Find(keys, k); i != wi || ok != wok {
					t.Fatalf("n %d spread %v key %d: Find %d %v, binary search %d %v", n, spread, k, i, ok, wi, wok)
				}
			}
		}
	}
}

func BenchmarkFind(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]uint64, 1<<20)
	for i := range keys {
		keys[i] = r.Uint64()
	}
	slices.Sort(keys)
	probes := make([]uint64, 4096)
	for i := range probes {
		probes[i] = keys[r.IntN(len(keys))]
	}
	var sink int
	b.Run("hashsearch", func(b *testing.B) {
		i := 0
		for b.Loop() {
			j, _ := Find(keys, probes[i&4095])
			sink += j
			i++
		}
	})
	b.Run("binary", func(b *testing.B) {
		i := 0
		for b.Loop() {
			j, _ := slices.BinarySearch(keys, probes[i&4095])
			sink += j
			i++
		}
	})
	_ = sink
}
