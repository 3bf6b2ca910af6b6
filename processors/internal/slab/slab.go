// Package slab hands out zeroed values of one type from chunks that are kept and handed out
// again after Reset, so that the per-record structs of a batch cost no allocation once the
// slab has grown to the batch's size.
package slab

// maxChunk is how many values the largest allocation holds; the first holds one, and each
// next one twice as many, so a slab used for a single value costs no more than that value.
const maxChunk = 64

// Slab is a source of *T. The zero Slab is ready to use; it is not safe for concurrent use.
type Slab[T any] struct {
	chunks [][]T
	chunk  int // the chunk values come from
	next   int // the next value of it
}

// New returns a zeroed *T, valid until Reset.
func (s *Slab[T]) New() *T {
	if s.chunk == len(s.chunks) || s.next == len(s.chunks[s.chunk]) {
		if s.chunk < len(s.chunks) {
			s.chunk++
		}
		if s.chunk == len(s.chunks) {
			s.chunks = append(s.chunks, make([]T, min(1<<len(s.chunks), maxChunk)))
		}
		s.next = 0
	}
	p := &s.chunks[s.chunk][s.next]
	s.next++
	var zero T
	*p = zero
	return p
}

// Reset makes every value handed out so far available again: the caller must not use them any
// more.
func (s *Slab[T]) Reset() {
	s.chunk, s.next = 0, 0
}
