package periodicity

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultStateCapacity bounds the pairs a State tracks when NewState is given no capacity:
// about 50 MB with ARN-sized keys, room for thousands of principals with dozens of APIs each.
const DefaultStateCapacity = 1 << 18

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
// The State holds at most its capacity of pairs. Inserting into a full shard first drops the
// pairs whose count is older than yesterday (once per day: they can only be reset anyway),
// then, if still full, the pair with the oldest day and then the smallest count among a few
// sampled ones (which ones depends on Go's randomised map order). Eviction can only lower a
// count - a returning pair starts again from zero - so it can cause missed bursts, never false
// ones.
type State struct {
	seed     maphash.Seed
	perShard int
	shards   [stateShards]stateShard
}

type stateShard struct {
	mu      sync.Mutex
	pairs   map[Pair]*dayCount
	latest  Day // newest day seen in the shard
	swept   Day // the latest day for which stale pairs were dropped
	evicted atomic.Uint64
	_       [64]byte // keeps neighbouring shards' locks off one cache line
}

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
	s := &State{seed: maphash.MakeSeed(), perShard: max(1, capacity/stateShards)}
	for i := range s.shards {
		s.shards[i].pairs = make(map[Pair]*dayCount)
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
	h := maphash.String(s.seed, principal) ^ maphash.String(s.seed, api)*0x9E3779B97F4A7C15
	sh := &s.shards[h>>58]
	key := Pair{principal, api}

	sh.mu.Lock()
	defer sh.mu.Unlock()
	if d > sh.latest {
		sh.latest = d
	}
	c := sh.pairs[key]
	if c == nil {
		if len(sh.pairs) >= s.perShard {
			sh.makeRoom(s.perShard)
		}
		sh.pairs[Pair{strings.Clone(principal), strings.Clone(api)}] = &dayCount{day: d, count: 1}
		return Observation{Day: d, Count: 1}, true
	}
	switch {
	case d > c.day:
		c.prev = 0
		if d == c.day+1 {
			c.prev = c.count
		}
		c.day, c.count = d, 1
		return Observation{Day: d, Count: 1}, true
	case d == c.day:
		c.count++
		return Observation{Day: d, Count: c.count}, true
	case d == c.day-1:
		c.prev++
		return Observation{Day: d, Count: c.prev}, true
	default:
		return Observation{Day: d, Late: true}, true
	}
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
	var victim Pair
	var worst *dayCount
	n := 0
	for k, c := range sh.pairs {
		if worst == nil || c.day < worst.day || (c.day == worst.day && c.count < worst.count) {
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
