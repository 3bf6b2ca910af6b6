package slab

import "testing"

func TestSlabReusesZeroedValues(t *testing.T) {
	var s Slab[[3]int]
	var first []*[3]int
	for i := range 200 {
		p := s.New()
		if *p != [3]int{} {
			t.Fatalf("value %d not zeroed: %v", i, *p)
		}
		p[0] = i + 1
		first = append(first, p)
	}
	for i, p := range first {
		if p[0] != i+1 {
			t.Fatalf("value %d overwritten before Reset: %v", i, *p)
		}
	}
	allocs := testing.AllocsPerRun(10, func() {
		s.Reset()
		for i := range 200 {
			p := s.New()
			if *p != [3]int{} {
				t.Fatalf("value %d not zeroed after Reset", i)
			}
			p[1] = 1
		}
	})
	if allocs != 0 {
		t.Errorf("a slab grown to the batch allocates %v times per batch", allocs)
	}
	held := 0
	for _, c := range s.chunks {
		held += len(c)
	}
	if held >= 200+maxChunk {
		t.Errorf("%d values held for 200 used", held)
	}
	var one Slab[[1024]byte]
	one.New()
	if len(one.chunks) != 1 || len(one.chunks[0]) != 1 {
		t.Errorf("a slab used once holds %d chunks of %d", len(one.chunks), len(one.chunks[0]))
	}
}
