package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Fluent Bit gives a Go plugin no list of the properties it was given (no config_map), so a key
// with a typo would be silently ignored and its setting left at the default: `es_hots` would
// send everything to localhost. The plugin cannot ask for what it does not know, so it asks for
// every name one edit away from a key of its own (one character inserted, deleted, replaced, two
// neighbours swapped) and for the same with '-' in place of '_', and refuses to start when one
// is set. The names are case-insensitive (Fluent Bit compares them so), hence lowercase only.

// slipAlphabet is what a slip inserts or substitutes: what property names are made of.
const slipAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789_-."

// slipTable maps every name one slip away from a key or one of its aliases, and not itself a
// key, an alias or a listed mistake, to the keys it may have been meant as.
var slipTable = sync.OnceValue(func() map[string][]string {
	known := map[string]bool{}
	for _, k := range keys {
		known[k.Name] = true
		for _, a := range k.Aliases {
			known[a] = true
		}
	}
	out := map[string][]string{}
	for _, k := range keys {
		for _, name := range append([]string{k.Name}, k.Aliases...) {
			for v := range slipsOf(name) {
				if known[v] || mistakes[v] != "" {
					continue
				}
				if !slices.Contains(out[v], k.Name) {
					out[v] = append(out[v], k.Name)
				}
			}
		}
	}
	return out
})

// slipsOf returns the names one edit away from name, and from name with every '_' written '-'
// (that form itself included).
func slipsOf(name string) map[string]bool {
	out := map[string]bool{}
	bases := []string{name}
	if dashed := strings.ReplaceAll(name, "_", "-"); dashed != name {
		bases = append(bases, dashed)
		out[dashed] = true
	}
	for _, b := range bases {
		for i := 0; i <= len(b); i++ {
			for _, c := range slipAlphabet {
				out[b[:i]+string(c)+b[i:]] = true // insertion
				if i < len(b) && byte(c) != b[i] {
					out[b[:i]+string(c)+b[i+1:]] = true // substitution
				}
			}
			if i < len(b) {
				out[b[:i]+b[i+1:]] = true // deletion
			}
			if i+1 < len(b) && b[i] != b[i+1] {
				out[b[:i]+b[i+1:i+2]+b[i:i+1]+b[i+2:]] = true // adjacent swap
			}
		}
	}
	delete(out, name)
	return out
}

// slipNames are slipTable's names in order, so that errors come out in a stable order.
var slipNames = sync.OnceValue(func() []string { return slices.Sorted(maps.Keys(slipTable())) })

// slipErrors probes every slip through g and reports those that are set, in name order.
func slipErrors(g Getter) []error {
	table := slipTable()
	var errs []error
	for _, v := range slipNames() {
		if g.Get(v) == "" {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: not a siemscore key; did you mean %s?", v, strings.Join(table[v], " or ")))
	}
	return errs
}
