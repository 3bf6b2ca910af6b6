package ipinsights

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"math"
	"net/netip"
)

// Dataset accumulates training pairs. Principals and addresses are interned, so a pair costs
// 8 bytes however long the principal is. Not safe for concurrent use.
type Dataset struct {
	principals []string
	pIndex     map[string]uint32
	addrs      []netip.Addr
	aIndex     map[netip.Addr]uint32
	pairs      []pair
	digest     hash.Hash
}

type pair struct{ p, a uint32 }

// NewDataset returns an empty dataset.
func NewDataset() *Dataset {
	return &Dataset{pIndex: map[string]uint32{}, aIndex: map[netip.Addr]uint32{}, digest: sha256.New()}
}

// Add appends one observation of principal at ip. The principal must be the entity as the
// scorer will see it (see models/score for the extraction rule). IPv4-mapped IPv6 addresses
// count as IPv4 and zones are ignored.
func (d *Dataset) Add(principal string, ip netip.Addr) error {
	if principal == "" {
		return errors.New("ipinsights: empty principal")
	}
	if !ip.IsValid() {
		return fmt.Errorf("ipinsights: invalid address for principal %q", principal)
	}
	if len(d.pairs) == math.MaxUint32 {
		return errors.New("ipinsights: dataset full (2^32 pairs)")
	}
	ip = normalize(ip)
	p, ok := d.pIndex[principal]
	if !ok {
		p = uint32(len(d.principals))
		d.principals = append(d.principals, principal)
		d.pIndex[principal] = p
	}
	a, ok := d.aIndex[ip]
	if !ok {
		a = uint32(len(d.addrs))
		d.addrs = append(d.addrs, ip)
		d.aIndex[ip] = a
	}
	d.pairs = append(d.pairs, pair{p, a})
	// The fingerprint covers the pairs in order: training shuffles with a seed, so the same
	// pairs in another order are, for reproducibility, other data.
	var rec [1 + 16]byte
	b := ip.As16()
	rec[0] = byte(len(ip.AsSlice()))
	copy(rec[1:], b[:])
	d.digest.Write([]byte(principal))
	d.digest.Write([]byte{0})
	d.digest.Write(rec[:])
	return nil
}

// Pair returns the i-th pair added, 0 <= i < Len().
func (d *Dataset) Pair(i int) (principal string, ip netip.Addr) {
	p := d.pairs[i]
	return d.principals[p.p], d.addrs[p.a]
}

// Len returns the number of pairs.
func (d *Dataset) Len() int { return len(d.pairs) }

// Principals returns the number of distinct principals.
func (d *Dataset) Principals() int { return len(d.principals) }

// Addresses returns the number of distinct addresses.
func (d *Dataset) Addresses() int { return len(d.addrs) }

// Fingerprint returns the SHA-256 of the pairs added so far, in order.
func (d *Dataset) Fingerprint() [32]byte {
	var out [32]byte
	d.digest.Sum(out[:0])
	return out
}
