package periodicity_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/internal/heaptest"
	"github.com/siemscore/siemscore/models/periodicity"
)

// A flood of distinct (principal, API) pairs, with names as long as an attacker likes and
// sharing their event's buffer as decoded strings do, leaves the State at its capacity and
// within StateBytesPerPair per pair: it neither keeps nor pins the names.
func TestStateMemoryIsBoundedUnderAFloodOfPairs(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds a million pairs")
	}
	const (
		pairs     = 1_000_000
		eventSize = 4 << 10 // a CloudTrail event's size
	)
	base := heaptest.Live()
	s := periodicity.NewState(0)
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 32<<10)
	bound := uint64(periodicity.DefaultStateCapacity * periodicity.StateBytesPerPair)
	var heap uint64
	for i := range pairs {
		principal := fmt.Sprintf("arn:aws:iam::123456789012:user/u%07d", i)
		if i%1000 == 0 {
			principal += long // now and then a principal far longer than any real ARN
		}
		names := heaptest.Event(eventSize, principal, fmt.Sprintf("Api%07d", i))
		if obs, ok := s.Observe(names[0], names[1], at); !ok || obs.Count != 1 {
			t.Fatalf("pair %d: %+v %v", i, obs, ok)
		}
		if n := i + 1; n == pairs/4 || n == pairs/2 || n == pairs {
			heap = heaptest.Live() - base
			t.Logf("%7d pairs: %d held, %d evicted, heap %.1f MiB (%.0f bytes per held pair)",
				n, s.Len(), s.Evicted(), float64(heap)/(1<<20), float64(heap)/float64(s.Len()))
		}
	}
	if s.Len() > periodicity.DefaultStateCapacity || s.Evicted() != uint64(pairs-s.Len()) {
		t.Errorf("%d pairs held, %d evicted; capacity %d", s.Len(), s.Evicted(), periodicity.DefaultStateCapacity)
	}
	if heap > bound {
		t.Errorf("heap %d bytes after %d pairs, bound %d (%d pairs of %d bytes)",
			heap, pairs, bound, periodicity.DefaultStateCapacity, periodicity.StateBytesPerPair)
	}
	// Still a working State: a pair seen again counts on.
	if obs, _ := s.Observe("p", "a", at); obs.Count != 1 {
		t.Errorf("fresh pair: %+v", obs)
	}
	if obs, _ := s.Observe("p", "a", at); obs.Count != 2 {
		t.Errorf("second call: %+v", obs)
	}
}
