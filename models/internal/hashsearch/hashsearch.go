// Package hashsearch finds a key in a sorted slice of hash values. Hashes are spread evenly
// over the 64-bit range, so a key's position is about key/2^64 of the way along: a search that
// starts there and gallops outward touches two or three cache lines where a binary search of a
// table larger than the caches takes a miss for each of its ~17 halvings.
package hashsearch

import (
	"math/bits"
	"slices"
)

// Find returns the position of k in keys, sorted in increasing order, or where it would be
// inserted, and whether it is there: the same answer as slices.BinarySearch.
func Find(keys []uint64, k uint64) (int, bool) {
	n := len(keys)
	if n < 64 {
		return slices.BinarySearch(keys, k)
	}
	guess, _ := bits.Mul64(k, uint64(n)) // ⌊k·n / 2^64⌋
	i := int(guess)
	// Gallop from the guess to a bracket [lo, hi] that holds k's position: keys[lo-1] < k
	// (or lo = 0) and keys[hi] >= k (or hi = n).
	lo, hi := i, i
	step := 8
	if keys[i] < k {
		for hi < n && keys[hi] < k {
			lo, hi = hi, min(n, hi+step)
			step *= 2
		}
	} else {
		for lo > 0 && keys[lo-1] >= k {
			hi, lo = lo, max(0, lo-step)
			step *= 2
		}
	}
	j, ok := slices.BinarySearch(keys[lo:min(n, hi+1)], k)
	return lo + j, ok
}
