package kerberos

import (
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
)

// NumBuckets is the number of sub-windows the sliding window is made of. Counts advance one
// bucket at a time, so a window of one hour moves in five-minute steps.
const NumBuckets = 12

// Defaults for StateConfig.
const (
	DefaultWindow     = time.Hour
	DefaultMaxHosts   = 32768
	DefaultMaxServers = 4096
)

// Heap bounds of the state, per tracked entry, table overhead included: a State holds at most
// MaxHosts·StateBytesPerHost + MaxServers·StateBytesPerServer bytes (105 MiB with the default
// caps). A host costs about 1.2 KiB; StateBytesPerHost is the worst host, whose four
// distinct-count sets have all turned into sketches (measured: 3.1 KiB).
const (
	StateBytesPerHost   = 3328
	StateBytesPerServer = 256
)

// topServers is how many responders per host keep per-bucket counts for top_server_share. A
// host that talks to more responders in one window loses the counts of its least used one,
// which cannot be the top responder unless the host spreads its requests nearly evenly over
// more than topServers responders.
const topServers = 4

// StateConfig bounds the streaming state. Zero fields take the defaults.
type StateConfig struct {
	// Window is the length of the sliding window features are computed over. It must be a
	// whole number of seconds per bucket (a multiple of NumBuckets seconds).
	Window time.Duration
	// MaxHosts caps the source hosts tracked; beyond it the least recently updated host is
	// forgotten (its counts restart from zero if it comes back).
	MaxHosts int
	// MaxServers caps the responders whose request load is tracked for top_server_load, with
	// the same eviction.
	MaxServers int
}

func (c StateConfig) withDefaults() (StateConfig, error) {
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.MaxHosts == 0 {
		c.MaxHosts = DefaultMaxHosts
	}
	if c.MaxServers == 0 {
		c.MaxServers = DefaultMaxServers
	}
	bucket := c.Window / NumBuckets
	if c.Window <= 0 || bucket%time.Second != 0 || bucket == 0 {
		return c, fmt.Errorf("kerberos: window %v is not a positive multiple of %d seconds", c.Window, NumBuckets)
	}
	if c.MaxHosts < 0 || c.MaxServers < 0 {
		return c, fmt.Errorf("kerberos: negative caps (hosts %d, servers %d)", c.MaxHosts, c.MaxServers)
	}
	return c, nil
}

// State is the per-host sliding-window state that scores Kerberos records as they stream
// through. It does not depend on any model: swapping models keeps it. It is safe for concurrent
// use.
type State struct {
	cfg     StateConfig
	width   int64 // bucket width in seconds
	hosts   *table[host]
	servers *table[serverLoad]
	first   atomic.Uint32 // earliest bucket observed; 0 before the first record
}

// NewState returns an empty state.
func NewState(cfg StateConfig) (*State, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return newState(cfg), nil
}

// DefaultState returns an empty state with the default window and caps, which are valid by
// construction.
func DefaultState() *State {
	return newState(StateConfig{Window: DefaultWindow, MaxHosts: DefaultMaxHosts, MaxServers: DefaultMaxServers})
}

func newState(cfg StateConfig) *State {
	return &State{
		cfg:     cfg,
		width:   int64(cfg.Window / NumBuckets / time.Second),
		hosts:   newTable[host](cfg.MaxHosts, 64),
		servers: newTable[serverLoad](cfg.MaxServers, 16),
	}
}

// Window is the sliding window's length.
func (s *State) Window() time.Duration { return s.cfg.Window }

// Hosts is the number of source hosts currently tracked (never more than MaxHosts).
func (s *State) Hosts() int { return s.hosts.len() }

// bucket numbers t's sub-window. Numbers start at NumBuckets so that 0 can mean "never" and
// the window arithmetic never wraps below zero.
func (s *State) bucket(t time.Time) uint32 {
	b := t.Unix() / s.width
	return uint32(min(max(b, NumBuckets), 1<<32-1))
}

// Observation is a host's window right after one of its records.
type Observation struct {
	Features Features
	// Complete reports that the state has been running for the whole window the features
	// cover. Until then they undercount (requests from before the state started are missing,
	// and so is most of every responder's load), and scoring them would flag ordinary hosts.
	Complete bool
}

// ErrNoSource reports a request without a valid source address, the key of all features.
var ErrNoSource = errors.New("kerberos: request has no valid source address")

// Observe adds r to its source host's window and returns the host's features over the window
// ending with r (or with the host's newest record, if r arrived late).
func (s *State) Observe(r *Request) (Observation, error) {
	if !r.Source.IsValid() {
		return Observation{}, ErrNoSource
	}
	b := s.bucket(r.Time)
	first := s.noteFirst(b)
	var destHash uint64
	var destLoad uint32
	if r.Dest.IsValid() {
		destHash = addrHash(r.Dest)
		sh := s.servers.shard(destHash)
		sh.mu.Lock()
		destLoad = sh.touch(r.Dest).val.add(b)
		sh.mu.Unlock()
	}

	sh := s.hosts.shard(addrHash(r.Source))
	sh.mu.Lock()
	h := &sh.touch(r.Source).val
	h.observe(r, b, destHash)
	now := max(b, h.latest)
	f, top := h.features(now)
	sh.mu.Unlock()

	if top.IsValid() {
		if top == r.Dest && now == b {
			f[TopServerLoad] = float64(destLoad)
		} else {
			f[TopServerLoad] = float64(s.serverLoad(top, now))
		}
	}
	// The first bucket was probably joined midway, so it does not count as observed.
	return Observation{Features: f, Complete: first+NumBuckets <= now}, nil
}

// noteFirst lowers the earliest bucket seen to b if b is earlier, and returns it.
func (s *State) noteFirst(b uint32) uint32 {
	for {
		f := s.first.Load()
		if f != 0 && f <= b {
			return f
		}
		if s.first.CompareAndSwap(f, b) {
			return b
		}
	}
}

// featuresAt is a host's features over the window ending with bucket now, or false if the
// host is not tracked.
func (s *State) featuresAt(addr netip.Addr, now uint32) (Features, bool) {
	sh := s.hosts.shard(addrHash(addr))
	sh.mu.Lock()
	e := sh.m[addr]
	if e == nil {
		sh.mu.Unlock()
		return Features{}, false
	}
	f, top := e.val.features(now)
	sh.mu.Unlock()
	if top.IsValid() {
		f[TopServerLoad] = float64(s.serverLoad(top, now))
	}
	return f, true
}

func (s *State) serverLoad(addr netip.Addr, now uint32) uint32 {
	sh := s.servers.shard(addrHash(addr))
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.m[addr]; e != nil {
		return e.val.count(now)
	}
	return 0
}

// host is one source host's window.
type host struct {
	latest   uint32 // newest bucket seen; 0 for a fresh host
	ring     [NumBuckets]bucketCounts
	top      [topServers]serverCount
	nTop     uint8
	servers  distinctSet
	clients  distinctSet
	services distinctSet
	// weakServices are the services this host got RC4 or DES tickets for.
	weakServices distinctSet
}

type bucketCounts struct {
	id                                   uint32
	requests, failures, preauth, unknown uint32
	tgs                                  uint32
}

// serverCount is one responder's requests from this host, per ring slot.
type serverCount struct {
	addr netip.Addr
	n    [NumBuckets]uint32
}

func hash32(s string) uint32 {
	h := xxhash.Sum64String(s)
	return uint32(h ^ h>>32)
}

// observe counts r, which fell in bucket b; destHash is addrHash(r.Dest).
func (h *host) observe(r *Request, b uint32, destHash uint64) {
	switch {
	case h.latest == 0 || b >= h.latest+NumBuckets:
		// Everything the host had is outside the window: start over (and let go of sketches).
		*h = host{latest: b}
	case b > h.latest:
		h.latest = b
	case b+NumBuckets <= h.latest:
		return // older than the window: scored, not counted
	}
	slot := b % NumBuckets
	c := &h.ring[slot]
	if c.id != b {
		*c = bucketCounts{id: b}
		for i := range h.nTop {
			h.top[i].n[slot] = 0
		}
	}
	c.requests++
	if r.failed() {
		c.failures++
		switch r.ErrorMsg {
		case ErrPreauthFailed:
			c.preauth++
		case ErrPrincipalUnknown:
			c.unknown++
		}
	}
	if r.RequestType == "TGS" {
		c.tgs++
	}
	if r.Client != "" {
		h.clients.add(hash32(r.Client), b, h.latest)
	}
	if r.Service != "" {
		hs := hash32(r.Service)
		h.services.add(hs, b, h.latest)
		if r.weakCipher() {
			h.weakServices.add(hs, b, h.latest)
		}
	}
	if r.Dest.IsValid() {
		h.servers.add(uint32(destHash^destHash>>32), b, h.latest)
		h.countServer(r.Dest, slot)
	}
}

// countServer adds one request to dest's count in slot, making room by dropping the tracked
// responder with the fewest requests in the window.
func (h *host) countServer(dest netip.Addr, slot uint32) {
	for i := range h.nTop {
		if h.top[i].addr == dest {
			h.top[i].n[slot]++
			return
		}
	}
	i := h.nTop
	if i == topServers {
		least, mask := ^uint32(0), h.liveSlots(h.latest)
		for j := range h.top {
			if n := h.top[j].count(mask); n < least {
				i, least = uint8(j), n
			}
		}
	} else {
		h.nTop++
	}
	h.top[i] = serverCount{addr: dest}
	h.top[i].n[slot] = 1
}

// slotSet is a set of ring slots, bit i for slot i.
type slotSet uint16

const _ = slotSet(1 << (NumBuckets - 1)) // the ring's slots fit

// liveSlots is the set of ring slots that belong to the window ending at now.
func (h *host) liveSlots(now uint32) slotSet {
	var set slotSet
	for slot := range h.ring {
		if live(h.ring[slot].id, now) {
			set |= 1 << slot
		}
	}
	return set
}

// count is the responder's requests in the slots of set.
func (s *serverCount) count(set slotSet) uint32 {
	var n uint32
	for slot := range s.n {
		if set&(1<<slot) != 0 {
			n += s.n[slot]
		}
	}
	return n
}

// features sums the live buckets of the window ending at now and returns the top responder
// (the zero Addr if none); top_server_load is left for the caller, which owns the server table.
func (h *host) features(now uint32) (f Features, top netip.Addr) {
	var c bucketCounts
	var mask slotSet
	for slot := range h.ring {
		if b := &h.ring[slot]; live(b.id, now) {
			mask |= 1 << slot
			c.requests += b.requests
			c.failures += b.failures
			c.preauth += b.preauth
			c.unknown += b.unknown
			c.tgs += b.tgs
		}
	}
	f[Requests] = float64(c.requests)
	f[Failures] = float64(c.failures)
	f[PreauthFailures] = float64(c.preauth)
	f[PrincipalUnknown] = float64(c.unknown)
	f[WeakCipherServices] = h.weakServices.count(now)
	f[DistinctServers] = h.servers.count(now)
	f[DistinctClients] = h.clients.count(now)
	f[DistinctServices] = h.services.count(now)
	if c.requests == 0 {
		return f, top
	}
	// One pseudo-request that succeeded: a single failed request (the first of a mistyped
	// logon, before its retry) is not a 100% failure rate.
	f[FailureRatio] = float64(c.failures) / float64(c.requests+1)
	f[TGSShare] = float64(c.tgs) / float64(c.requests)
	var most uint32
	for i := range h.nTop {
		if n := h.top[i].count(mask); n > most {
			most, top = n, h.top[i].addr
		}
	}
	f[TopServerShare] = float64(most) / float64(c.requests)
	return f, top
}

// serverLoad is one responder's requests from all hosts, per bucket.
type serverLoad struct {
	latest uint32
	ring   [NumBuckets]struct{ id, n uint32 }
}

// add counts one request in bucket b and returns the load over the window ending with the
// server's newest bucket.
func (s *serverLoad) add(b uint32) uint32 {
	s.latest = max(s.latest, b)
	if b+NumBuckets > s.latest {
		c := &s.ring[b%NumBuckets]
		if c.id != b {
			c.id, c.n = b, 0
		}
		c.n++
	}
	return s.count(s.latest)
}

func (s *serverLoad) count(now uint32) uint32 {
	var n uint32
	for _, c := range s.ring {
		if live(c.id, now) {
			n += c.n
		}
	}
	return n
}
