package kerberos

import (
	"encoding/binary"
	"net/netip"
	"sync"
)

// table maps addresses to per-address state under a hard capacity, evicting the least recently
// updated address when full. It is split into shards, each with its own lock, so concurrent
// Fluent Bit flushes only contend when they touch hosts in the same shard.
type table[V any] struct {
	shards []tableShard[V]
}

type tableShard[V any] struct {
	mu         sync.Mutex
	m          map[netip.Addr]*entry[V]
	head, tail *entry[V] // head is the most recently touched
	capacity   int
	_          [64]byte // keeps neighbouring shards' locks off one cache line
}

type entry[V any] struct {
	key        netip.Addr
	prev, next *entry[V]
	val        V
}

// newTable holds at most capacity entries in total: capacity is split evenly over up to
// maxShards shards (each shard evicts on its own, so the whole table never exceeds it).
func newTable[V any](capacity, maxShards int) *table[V] {
	n := min(maxShards, capacity)
	t := &table[V]{shards: make([]tableShard[V], n)}
	for i := range t.shards {
		t.shards[i].capacity = capacity / n
		t.shards[i].m = make(map[netip.Addr]*entry[V])
	}
	return t
}

// addrHash mixes an address's 128 bits into 64 (the finaliser of SplitMix64 over both halves):
// enough to spread shards and sketch slots, and a fraction of a general hash's cost.
func addrHash(a netip.Addr) uint64 {
	b := a.As16()
	h := binary.LittleEndian.Uint64(b[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(b[8:])
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

func (t *table[V]) shard(hash uint64) *tableShard[V] {
	return &t.shards[hash%uint64(len(t.shards))]
}

// touch returns key's entry, creating it if needed (reusing the least recently touched entry
// when the shard is full, its value zeroed), and marks it most recently touched. The caller
// holds s.mu.
func (s *tableShard[V]) touch(key netip.Addr) *entry[V] {
	e := s.m[key]
	switch {
	case e != nil:
		if e == s.head {
			return e
		}
		s.unlink(e)
	case len(s.m) >= s.capacity:
		e = s.tail
		s.unlink(e)
		delete(s.m, e.key)
		var zero V
		*e = entry[V]{key: key, val: zero}
		s.m[key] = e
	default:
		e = &entry[V]{key: key}
		s.m[key] = e
	}
	e.next = s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
	return e
}

func (s *tableShard[V]) unlink(e *entry[V]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// len counts the entries of every shard.
func (t *table[V]) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
