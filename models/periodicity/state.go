package periodicity

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultStateCapacity bounds the pairs a State tracks when NewState is given no capacity:
// room for thousands of principals with dozens of APIs each, in at most StateBytesPerPair bytes
// each whatever the names' lengths (see pairKey): 32 MiB when full.
const DefaultStateCapacity = 1 << 18

// StateBytesPerPair bounds the heap a tracked pair costs, the shard maps' spare slots included
// (measured in a full State: 96 bytes).
const StateBytesPerPair = 128

const (
	stateShards = 64 // a power of two: the shard is the top bits of the pair's hash
	// evictionSample is how many entries an insert into a full shard looks at to pick a victim.
	evictionSample = 8
)

// State is the inline, streaming half of the model: each pair's running count for its current
// UTC day. It does not depend on the model, so a new model version takes over the counts as
// they are. It is safe for concurrent use: pairs are spread over independently locked shards,
// so concurrent flushes mostly do not contend.
//
// A pair's day is the day of its newest event (event time, not wall-clock time, so replays
// count the same way). An event of a later day starts a new count; the previous day's count is
// kept too, because records around midnight arrive slightly out of order; events older than
// that are Late.
//
// The State holds at most its capacity of pairs, and keeps none of their strings (see pairKey). Inserting into a full shard first drops the
// pairs whose count is older than yesterday (once per day: they can only be reset anyway),
// then, if still full, the pair with the oldest day and then the smallest count among a few
// sampled ones (which ones depends on Go's randomised map order). Eviction can only lower a
// count - a returning pair starts again from zero - so it can cause missed bursts, never false
// ones.
type State struct {
	seeds    [2]maphash.Seed
	perShard int
	shards   [stateShards]stateShard
}

type stateShard struct {
	mu      sync.Mutex
	pairs   map[pairKey]dayCount
	latest  Day // newest day seen in the shard
	swept   Day // the latest day for which stale pairs were dropped
	evicted atomic.Uint64
	_       [64]byte // keeps neighbouring shards' locks off one cache line
}

// pairKey is how a State knows a pair: two independently seeded 64-bit hashes of it, never its
// strings. Principal and API names are as long as a record makes them, and the decoder's
// strings share their event's buffer, which a kept string would pin; a fixed-size key makes
// every tracked pair cost the same whatever it is called. Two of n pairs share a key with
// probability about n²/2¹²⁹, and the seeds are random per process, so no one can aim two pairs
// at one key.
type pairKey [2]uint64

type dayCount struct {
	day         Day
	count, prev int64 // calls on day and on day-1
}

// NewState returns an empty state holding at most capacity pairs (DefaultStateCapacity when
// capacity <= 0).
func NewState(capacity int) *State {
	if capacity <= 0 {
		capacity = DefaultStateCapacity
	}
	s := &State{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, perShard: max(1, capacity/stateShards)}
	for i := range s.shards {
		s.shards[i].pairs = make(map[pairKey]dayCount)
		s.shards[i].swept = -1
	}
	return s
}

// Observe counts one call of the pair at time t and returns the pair's count for t's day.
// ok is false when t is outside 1970..9999 (the call is not counted).
func (s *State) Observe(principal, api string, t time.Time) (obs Observation, ok bool) {
	d, ok := DayOf(t)
	if !ok {
		return Observation{}, false
	}
	pair := Pair{principal, api}
	key := pairKey{maphash.Comparable(s.seeds[0], pair), maphash.Comparable(s.seeds[1], pair)}
	sh := &s.shards[key[0]>>58]

	sh.mu.Lock()
	defer sh.mu.Unlock()
	if d > sh.latest {
		sh.latest = d
	}
	c, found := sh.pairs[key]
	if !found {
		if len(sh.pairs) >= s.perShard {
			sh.makeRoom(s.perShard)
		}
		sh.pairs[key] = dayCount{day: d, count: 1}
		return Observation{Day: d, Count: 1}, true
	}
	switch {
	case d > c.day:
		c.prev = 0
		if d == c.day+1 {
			c.prev = c.count
		}
		c.day, c.count = d, 1
		obs = Observation{Day: d, Count: 1}
	case d == c.day:
		c.count++
		obs = Observation{Day: d, Count: c.count}
	case d == c.day-1:
		c.prev++
		obs = Observation{Day: d, Count: c.prev}
	default:
		return Observation{Day: d, Late: true}, true
	}
	sh.pairs[key] = c
	return obs, true
}

// makeRoom frees at least one slot in a full shard; the caller holds the lock.
func (sh *stateShard) makeRoom(limit int) {
	if sh.swept != sh.latest {
		sh.swept = sh.latest
		for k, c := range sh.pairs {
			if c.day < sh.latest-1 {
				delete(sh.pairs, k)
				sh.evicted.Add(1)
			}
		}
		if len(sh.pairs) < limit {
			return
		}
	}
	var victim pairKey
	var worst dayCount
	n := 0
	for k, c := range sh.pairs {
		if n == 0 || c.day < worst.day || (c.day == worst.day && c.count < worst.count) {
			victim, worst = k, c
		}
		if n++; n == evictionSample {
			break
		}
	}
	delete(sh.pairs, victim)
	sh.evicted.Add(1)
}

// Len returns the number of pairs tracked.
func (s *State) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.pairs)
		sh.mu.Unlock()
	}
	return n
}

// Evicted returns how many pairs have been dropped to respect the capacity.
func (s *State) Evicted() uint64 {
	var n uint64
	for i := range s.shards {
		n += s.shards[i].evicted.Load()
	}
	return n
}
