package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Fluent Bit gives a Go plugin no list of the properties it was given (no config_map), so a key
// with a typo would be silently ignored and its setting left at the default: `es_hots` would
// send everything to localhost. The plugin cannot ask for what it does not know, so it asks for
// every name one edit away from a key of its own (one character inserted, deleted, replaced, two
// neighbours swapped) and for the same with '-' in place of '_', and refuses to start when one
// is set. The names are case-insensitive (Fluent Bit compares them so), hence lowercase only.

// slipAlphabet is what a slip inserts or substitutes: what property names are made of.
const slipAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789_-."

// eachSlip calls fn with every name one slip away from a key or one of its aliases that is not
// itself a key, an alias or a listed mistake, and the key it may have been meant as; a name can
// come more than once. There are about a hundred thousand such names: they are generated and
// probed one at a time rather than kept in a table, which took most of the plugin's start-up.
func eachSlip(fn func(slip, key string)) {
	known := map[string]bool{}
	for _, k := range keys {
		known[k.Name] = true
		for _, a := range k.Aliases {
			known[a] = true
		}
	}
	for _, k := range keys {
		for _, name := range append([]string{k.Name}, k.Aliases...) {
			slipsOf(name, func(v string) {
				if !known[v] && mistakes[v] == "" {
					fn(v, k.Name)
				}
			})
		}
	}
}

// slipsOf calls fn with the names one edit away from name, and from name with every '_' written
// '-' (that form itself included); some may be name itself, or come twice.
func slipsOf(name string, fn func(string)) {
	bases := []string{name}
	if dashed := strings.ReplaceAll(name, "_", "-"); dashed != name {
		bases = append(bases, dashed)
		fn(dashed)
	}
	for _, b := range bases {
		for i := 0; i <= len(b); i++ {
			for _, c := range slipAlphabet {
				fn(b[:i] + string(c) + b[i:]) // insertion
				if i < len(b) && byte(c) != b[i] {
					fn(b[:i] + string(c) + b[i+1:]) // substitution
				}
			}
			if i < len(b) {
				fn(b[:i] + b[i+1:]) // deletion
			}
			if i+1 < len(b) && b[i] != b[i+1] {
				fn(b[:i] + b[i+1:i+2] + b[i:i+1] + b[i+2:]) // adjacent swap
			}
		}
	}
}

// slipErrors probes every slip through g and reports those that are set, in name order, each
// with the keys it may have been meant as.
func slipErrors(g Getter) []error {
	meant := map[string][]string{}
	eachSlip(func(slip, key string) {
		if k, hit := meant[slip]; hit {
			if !slices.Contains(k, key) {
				meant[slip] = append(k, key)
			}
			return
		}
		if g.Get(slip) != "" {
			meant[slip] = []string{key}
		}
	})
	var errs []error
	for _, v := range slices.Sorted(maps.Keys(meant)) {
		errs = append(errs, fmt.Errorf("%s: not a siemscore key; did you mean %s?", v, strings.Join(meant[v], " or ")))
	}
	return errs
}
