package modelstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/siemscore/siemscore/models/bundle"
)

// Finder finds the newest acceptable bundle among those in a cache and an index (either may be
// nil).
type Finder struct {
	Cache *Cache
	Index *Index
	// Accept decodes and validates a bundle's bytes; a bundle it refuses is skipped.
	Accept func(data []byte) (*bundle.Bundle, error)
	// Key re-signs a bundle found in the index when it is kept in the cache.
	Key []byte
	// OnReject, if set, hears of every version skipped, and why.
	OnReject func(version string, err error)
	// OnIndexError, if set, hears that the index could not be listed; the cache is still used.
	OnIndexError func(error)
}

// candidates looked at in the index; older ones are not worth a fallback.
const indexCandidates = 10

// Newest returns the newest version that Accept takes, with its bytes, or a nil bundle when there
// is none. Versions are tried newest first, whichever store holds them; one found only in the
// index is added to the cache.
func (f Finder) Newest(ctx context.Context) (*bundle.Bundle, []byte, error) {
	type candidate struct {
		version  string
		manifest *Manifest // nil: in the cache
	}
	var cands []candidate
	cached := map[string]bool{}
	if f.Cache != nil {
		vs, err := f.Cache.Versions()
		if err != nil {
			return nil, nil, err
		}
		for _, v := range vs {
			cands = append(cands, candidate{version: v})
			cached[v] = true
		}
	}
	if f.Index != nil {
		ms, err := f.Index.List(ctx, indexCandidates)
		if err != nil && f.OnIndexError != nil {
			f.OnIndexError(err)
		}
		for i := range ms {
			if !cached[ms[i].Version] {
				cands = append(cands, candidate{version: ms[i].Version, manifest: &ms[i]})
			}
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(b.version, a.version) })
	for _, c := range cands {
		var data []byte
		var err error
		if c.manifest == nil {
			data, err = f.Cache.Read(c.version)
		} else {
			data, err = f.Index.Fetch(ctx, *c.manifest)
		}
		var b *bundle.Bundle
		if err == nil {
			b, err = f.Accept(data)
		}
		if err == nil && b.VersionString() != c.version {
			err = fmt.Errorf("modelstore: stored as version %s but holds %s", c.version, b.VersionString())
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if f.OnReject != nil {
				f.OnReject(c.version, err)
			}
			continue
		}
		if c.manifest != nil && f.Cache != nil {
			if err := f.Cache.Put(b, f.Key); err != nil && f.OnReject != nil {
				f.OnReject(c.version, fmt.Errorf("accepted, but not cached: %w", err))
			}
		}
		return b, data, nil
	}
	return nil, nil, nil
}
