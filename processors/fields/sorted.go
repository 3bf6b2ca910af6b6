package fields

import (
	"iter"
	"slices"
)

// sortStack is the largest map Sorted orders without allocating.
const sortStack = 32

// Sorted iterates over m's members in key order, the order canonical forms need (the record
// ID digest, JSON text that does not depend on map iteration order).
//
// Maps of up to 32 members, nearly all of them, are ordered in local arrays sized for the map,
// so that small maps do not pay for zeroing large ones; byte indices are sorted rather than
// members, as they hold no pointers and so cost no GC write barriers when swapped.
func Sorted(m map[string]any) iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		switch n := len(m); {
		case n <= 1:
			for k, v := range m { // nothing to order
				if !yield(k, v) {
					return
				}
			}
		case n <= 8:
			var (
				keys   [8]string
				vals   [8]any
				prefix [8]uint64
				idx    [8]uint8
			)
			sorted(m, keys[:n], vals[:n], prefix[:n], idx[:n], yield)
		case n <= 16:
			var (
				keys   [16]string
				vals   [16]any
				prefix [16]uint64
				idx    [16]uint8
			)
			sorted(m, keys[:n], vals[:n], prefix[:n], idx[:n], yield)
		case n <= sortStack:
			var (
				keys   [sortStack]string
				vals   [sortStack]any
				prefix [sortStack]uint64
				idx    [sortStack]uint8
			)
			sorted(m, keys[:n], vals[:n], prefix[:n], idx[:n], yield)
		default:
			keys := make([]string, 0, n)
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if !yield(k, m[k]) {
					return
				}
			}
		}
	}
}

// sorted yields m's members in key order; the slices have len(m) elements.
func sorted(m map[string]any, keys []string, vals []any, prefix []uint64, idx []uint8, yield func(string, any) bool) {
	n := 0
	for k, v := range m {
		if n == len(keys) {
			break
		}
		keys[n], vals[n], prefix[n], idx[n] = k, v, keyPrefix(k), uint8(n)
		n++
	}
	idx = idx[:n]
	// Insertion sort over at most sortStack members. Comparing the 8-byte prefixes settles
	// almost every comparison; equal prefixes fall back to the keys.
	for i := 1; i < n; i++ {
		for j := i; j > 0; j-- {
			a, b := idx[j], idx[j-1]
			if prefix[a] > prefix[b] || prefix[a] == prefix[b] && keys[a] >= keys[b] {
				break
			}
			idx[j], idx[j-1] = b, a
		}
	}
	for _, i := range idx {
		if !yield(keys[i], vals[i]) {
			return
		}
	}
}

// keyPrefix packs the first 8 bytes of k, zero-padded, so that comparing prefixes orders keys
// as strings.Compare would, up to ties.
func keyPrefix(k string) uint64 {
	if len(k) >= 8 {
		// Written out so that the compiler merges it into one load and a byte swap.
		return uint64(k[0])<<56 | uint64(k[1])<<48 | uint64(k[2])<<40 | uint64(k[3])<<32 |
			uint64(k[4])<<24 | uint64(k[5])<<16 | uint64(k[6])<<8 | uint64(k[7])
	}
	var p uint64
	for i := 0; i < 8; i++ {
		p <<= 8
		if i < len(k) {
			p |= uint64(k[i])
		}
	}
	return p
}
