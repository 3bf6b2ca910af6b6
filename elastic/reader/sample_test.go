package reader

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// TestSampleIsTheLowestPrioritiesWhateverTheOrder offers the same items in different orders,
// concurrently, and checks the sample is always the limit items of lowest priority.
func TestSampleIsTheLowestPrioritiesWhateverTheOrder(t *testing.T) {
	const n, limit = 5000, 300
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("doc-%d", i)
	}
	ref := NewSample[string](limit, 42)
	prios := make([]uint64, n)
	for i, k := range keys {
		prios[i] = ref.Priority(k)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case prios[a] < prios[b]:
			return -1
		case prios[a] > prios[b]:
			return 1
		}
		return 0
	})
	var want []string
	for _, i := range order[:limit] {
		want = append(want, keys[i])
	}

	for trial := range 4 {
		s := NewSample[string](limit, 42)
		perm := rand.New(rand.NewPCG(uint64(trial), 9)).Perm(n)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < n; j += 4 {
					k := keys[perm[j]]
					s.Offer(s.Priority(k), k)
				}
			}()
		}
		wg.Wait()
		if s.Seen() != n || s.Len() != limit {
			t.Fatalf("trial %d: seen %d, kept %d", trial, s.Seen(), s.Len())
		}
		if got := s.Items(); !slices.Equal(got, want) {
			t.Fatalf("trial %d: the sample is not the %d lowest priorities in priority order", trial, limit)
		}
	}
}

// TestSampleIsUniform checks that every item is about equally likely to be kept: over many
// seeds, each of 20 items is kept close to limit/n of the time.
func TestSampleIsUniform(t *testing.T) {
	const n, limit, seeds = 20, 5, 4000
	kept := make([]int, n)
	for seed := range uint64(seeds) {
		s := NewSample[int](limit, seed)
		for i := range n {
			s.Offer(s.Priority(fmt.Sprint(i)), i)
		}
		for _, i := range s.Items() {
			kept[i]++
		}
	}
	want := float64(seeds) * limit / n // 1000, binomial sd ≈ 27
	for i, k := range kept {
		if d := float64(k) - want; d > 120 || d < -120 {
			t.Errorf("item %d kept %d times of %d, want about %.0f", i, k, seeds, want)
		}
	}
}

func TestSampleSmallerThanLimitKeepsEverything(t *testing.T) {
	s := NewSample[int](10, 1)
	for i := range 7 {
		if !s.Offer(s.Priority(fmt.Sprint(i)), i) {
			t.Fatalf("item %d refused by a sample that is not full", i)
		}
	}
	got := s.Items()
	slices.Sort(got)
	if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6}) {
		t.Errorf("kept %v", got)
	}
}
