package reader

import (
	"container/heap"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Sample keeps a uniform random sample of at most Max items out of a stream of any length: a
// reservoir in its priority ("bottom-k") form. Every item gets a pseudo-random priority, the hash
// of a key that identifies it (a document _id, a host and window) under a seed, and the sample is
// the Max items of lowest priority. That is a uniform sample without replacement, like the
// classic reservoir, but it does not depend on the order items arrive in, so parallel slices of a
// scan, interleaved however the scheduler likes, always give the same sample.
//
// Memory is bounded by Max items whatever the stream's length. Safe for concurrent use.
type Sample[T any] struct {
	max  int
	seed uint64
	seen atomic.Int64

	mu    sync.Mutex
	items sampleHeap[T]
	// full and bar (the highest priority in the full sample) let Offer refuse most items of a
	// long stream without taking the lock; bar only goes down, so a stale value is merely
	// cautious.
	full atomic.Bool
	bar  atomic.Uint64
}

// NewSample returns an empty sample of at most limit items (at least one).
func NewSample[T any](limit int, seed uint64) *Sample[T] {
	return &Sample[T]{max: max(1, limit), seed: seed}
}

// Priority is the priority of key under the sample's seed.
func (s *Sample[T]) Priority(key string) uint64 {
	var b [8]byte
	for i := range b {
		b[i] = byte(s.seed >> (8 * i))
	}
	d := xxhash.New()
	_, _ = d.Write(b[:])
	_, _ = d.WriteString(key)
	return d.Sum64()
}

// Offer considers one item with the given priority (see Priority). It reports whether the item
// is in the sample now; it may be pushed out again by later items.
func (s *Sample[T]) Offer(priority uint64, item T) bool {
	s.seen.Add(1)
	if s.full.Load() && priority >= s.bar.Load() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) < s.max {
		heap.Push(&s.items, entry[T]{priority, item})
		if len(s.items) == s.max {
			s.bar.Store(s.items[0].priority)
			s.full.Store(true)
		}
		return true
	}
	if priority >= s.items[0].priority {
		return false
	}
	s.items[0] = entry[T]{priority, item}
	heap.Fix(&s.items, 0)
	s.bar.Store(s.items[0].priority)
	return true
}

// Seen is the number of items offered.
func (s *Sample[T]) Seen() int64 { return s.seen.Load() }

// Len is the number of items in the sample.
func (s *Sample[T]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// Items returns the sample in priority order, which is deterministic for a seed and the set of
// items offered, and empties it.
func (s *Sample[T]) Items() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	es := []entry[T](s.items)
	slices.SortFunc(es, func(a, b entry[T]) int {
		switch {
		case a.priority < b.priority:
			return -1
		case a.priority > b.priority:
			return 1
		}
		return 0
	})
	out := make([]T, len(es))
	for i := range es {
		out[i] = es[i].item
	}
	s.items = nil
	s.full.Store(false)
	return out
}

type entry[T any] struct {
	priority uint64
	item     T
}

// sampleHeap is a max-heap on priority: the root is the first item to give up.
type sampleHeap[T any] []entry[T]

func (h sampleHeap[T]) Len() int           { return len(h) }
func (h sampleHeap[T]) Less(i, j int) bool { return h[i].priority > h[j].priority }
func (h sampleHeap[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sampleHeap[T]) Push(x any)        { *h = append(*h, x.(entry[T])) }
func (h *sampleHeap[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
