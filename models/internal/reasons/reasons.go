// Package reasons turns the models' reason-code bit sets into the lists of codes the records
// carry. Every list is built once, so that reporting reasons on the scoring hot path never
// allocates.
package reasons

import "slices"

// Table holds the code list of every set of codes: 2^n lists for n codes, meant for a handful.
type Table struct {
	lists [][]string
	mask  uint64
}

// New builds the table of codes, code i standing for bit i.
func New(codes ...string) Table {
	t := Table{lists: make([][]string, 1<<len(codes)), mask: 1<<len(codes) - 1}
	for set := range t.lists {
		var l []string
		for i, code := range codes {
			if set&(1<<i) != 0 {
				l = append(l, code)
			}
		}
		t.lists[set] = slices.Clip(l)
	}
	return t
}

// Codes returns the codes of the bits set in set, in the order they were given to New; bits
// without a code are ignored. The slice is shared by every caller with the same set: do not
// modify its elements (its capacity equals its length, so an append copies).
func (t Table) Codes(set uint64) []string { return t.lists[set&t.mask] }
