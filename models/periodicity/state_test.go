package periodicity

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestStateRollover(t *testing.T) {
	s := NewState(0)
	t0 := monday.Time().Add(23*time.Hour + 59*time.Minute)
	const p, a = "arn:aws:iam::1:user/u", "ListBuckets"
	steps := []struct {
		at   time.Time
		want Observation
	}{
		{t0, Observation{Day: monday, Count: 1}},
		{t0.Add(30 * time.Second), Observation{Day: monday, Count: 2}},
		{t0.Add(2 * time.Minute), Observation{Day: monday + 1, Count: 1}}, // past midnight
		{t0.Add(40 * time.Second), Observation{Day: monday, Count: 3}},    // straggler from yesterday
		{t0.Add(3 * time.Minute), Observation{Day: monday + 1, Count: 2}},
		{t0.Add(72 * time.Hour), Observation{Day: monday + 3, Count: 1}}, // a gap: yesterday's count is gone
		{t0.Add(48 * time.Hour), Observation{Day: monday + 2, Count: 1}}, // day-1 had no calls: starts at 1
		{t0, Observation{Day: monday, Late: true}},
	}
	for i, st := range steps {
		got, ok := s.Observe(p, a, st.at)
		if !ok || got != st.want {
			t.Errorf("step %d (%v): got %+v ok=%v, want %+v", i, st.at, got, ok, st.want)
		}
	}
	if got, _ := s.Observe(p, "Other", t0); got != (Observation{Day: monday, Count: 1}) {
		t.Errorf("another API of the same principal shares the count: %+v", got)
	}
	if _, ok := s.Observe(p, a, time.Time{}); ok {
		t.Error("a zero time was counted")
	}
	if s.Len() != 2 || s.Evicted() != 0 {
		t.Errorf("len %d evicted %d", s.Len(), s.Evicted())
	}
}

func TestStateCapacity(t *testing.T) {
	const capacity = stateShards * 4
	s := NewState(capacity)
	day0 := monday.Time().Add(time.Hour)
	// Yesterday's pairs are dropped first when today's pairs need room.
	for i := range capacity {
		s.Observe(fmt.Sprintf("old-%d", i), "A", day0)
	}
	for i := range capacity * 3 {
		s.Observe(fmt.Sprintf("new-%d", i), "A", day0.Add(48*time.Hour))
	}
	if n := s.Len(); n > capacity {
		t.Fatalf("%d pairs held, capacity %d", n, capacity)
	}
	if got := s.Evicted(); got != uint64(capacity*4-s.Len()) {
		t.Errorf("evicted %d, want %d", got, capacity*4-s.Len())
	}
	// A pair busy today survives a flood of one-off pairs: victims are the smallest counts.
	busy := "busy"
	for range 50 {
		s.Observe(busy, "A", day0.Add(49*time.Hour))
	}
	for i := range capacity * 3 {
		s.Observe(fmt.Sprintf("flood-%d", i), "A", day0.Add(49*time.Hour))
	}
	if got, _ := s.Observe(busy, "A", day0.Add(50*time.Hour)); got.Count != 51 {
		t.Errorf("the busy pair's count was lost: %+v", got)
	}
}

func TestStateConcurrentObserve(t *testing.T) {
	s := NewState(0)
	const workers, perWorker, pairs = 8, 5000, 37
	at := monday.Time().Add(12 * time.Hour)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				s.Observe(fmt.Sprintf("p%d", (i+w)%pairs), "A", at)
			}
		})
	}
	wg.Wait()
	total := int64(0)
	for i := range pairs {
		got, _ := s.Observe(fmt.Sprintf("p%d", i), "A", at)
		total += got.Count - 1
	}
	if total != workers*perWorker {
		t.Errorf("counted %d calls, want %d", total, workers*perWorker)
	}
}
