package ipanomaly

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math"
	"net/netip"
	"time"

	"github.com/siemscore/siemscore/processors/identity"
)

// Dataset accumulates training observations: a principal (identity.Principal: its ID and,
// when known, its account) at an address, at a time when known. Principals and addresses are
// interned. Not safe for concurrent use.
type Dataset struct {
	principals []string
	accounts   []string // per principal: the first account it was seen with
	pIndex     map[string]uint32
	addrs      []netip.Addr
	aIndex     map[netip.Addr]uint32
	pairs      []pair
	timed      int
	digest     hash.Hash
}

type pair struct {
	p, a uint32
	t    int64 // Unix nanoseconds, 0 when unknown
}

// NewDataset returns an empty dataset.
func NewDataset() *Dataset {
	return &Dataset{pIndex: map[string]uint32{}, aIndex: map[netip.Addr]uint32{}, digest: sha256.New()}
}

// Add appends one observation of p at ip at time t (the zero time when unknown: training then
// takes the order of Add as the order of time). The principal must be as the scorer will see
// it (identity.Record or identity.Parse). IPv4-mapped IPv6 addresses count as IPv4 and zones
// are ignored.
func (d *Dataset) Add(p identity.Principal, ip netip.Addr, t time.Time) error {
	if p.ID == "" {
		return errors.New("ipanomaly: empty principal")
	}
	if !ip.IsValid() {
		return fmt.Errorf("ipanomaly: invalid address for principal %q", p.ID)
	}
	if len(d.pairs) == math.MaxUint32 {
		return errors.New("ipanomaly: dataset full (2^32 pairs)")
	}
	ip = ip.Unmap().WithZone("")
	pi, ok := d.pIndex[p.ID]
	if !ok {
		pi = uint32(len(d.principals))
		d.principals = append(d.principals, p.ID)
		d.accounts = append(d.accounts, p.Account)
		d.pIndex[p.ID] = pi
	} else if d.accounts[pi] == "" {
		d.accounts[pi] = p.Account
	}
	ai, ok := d.aIndex[ip]
	if !ok {
		ai = uint32(len(d.addrs))
		d.addrs = append(d.addrs, ip)
		d.aIndex[ip] = ai
	}
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
		d.timed++
	}
	d.pairs = append(d.pairs, pair{pi, ai, ns})
	// The fingerprint covers the observations in order: training splits by time, or by order
	// when times are missing, so the same pairs in another order are other data.
	var rec [1 + 16 + 8]byte
	b := ip.As16()
	rec[0] = byte(len(ip.AsSlice()))
	copy(rec[1:], b[:])
	binary.LittleEndian.PutUint64(rec[17:], uint64(ns))
	d.digest.Write([]byte(p.ID))
	d.digest.Write([]byte{0})
	d.digest.Write([]byte(p.Account))
	d.digest.Write([]byte{0})
	d.digest.Write(rec[:])
	return nil
}

// Pair returns observation i (0 <= i < Len): its principal and address.
func (d *Dataset) Pair(i int) (identity.Principal, netip.Addr) {
	p := d.pairs[i]
	return identity.Principal{ID: d.principals[p.p], Account: d.accounts[p.p]}, d.addrs[p.a]
}

// Len returns the number of observations.
func (d *Dataset) Len() int { return len(d.pairs) }

// Principals returns the number of distinct principals.
func (d *Dataset) Principals() int { return len(d.principals) }

// Accounts returns the number of distinct accounts the principals belong to.
func (d *Dataset) Accounts() int {
	seen := map[string]bool{}
	for _, a := range d.accounts {
		if a != "" {
			seen[a] = true
		}
	}
	return len(seen)
}

// Addresses returns the number of distinct addresses.
func (d *Dataset) Addresses() int { return len(d.addrs) }

// Top returns the principal with the most observations and how many it has.
func (d *Dataset) Top() (principal string, n int) {
	per := make([]int, len(d.principals))
	for _, p := range d.pairs {
		per[p.p]++
	}
	for i, c := range per {
		if c > n {
			principal, n = d.principals[i], c
		}
	}
	return principal, n
}

// Fingerprint returns the SHA-256 of the observations added so far, in order.
func (d *Dataset) Fingerprint() [32]byte {
	var out [32]byte
	d.digest.Sum(out[:0])
	return out
}
