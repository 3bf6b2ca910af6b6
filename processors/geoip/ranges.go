package geoip

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Ranges maps address ranges to autonomous systems: ip-location-db's IP-to-ASN tables, held
// compactly (12 bytes per IPv4 range, 36 per IPv6 range, each AS's name once), about 12 MB for
// the full tables.
type Ranges struct {
	v4   []range4
	v6   []range6
	ases []asInfo
}

type range4 struct {
	first, last uint32
	as          uint32 // index into ases
}

type range6 struct {
	first, last [2]uint64
	as          uint32
}

type asInfo struct {
	number uint32
	org    string
}

// Len4 and Len6 count the ranges loaded.
func (r *Ranges) Len4() int { return len(r.v4) }
func (r *Ranges) Len6() int { return len(r.v6) }

// LoadRanges reads CSV files of first,last,asn,organisation rows (ip-location-db's asn-ipv4.csv
// and asn-ipv6.csv; the address form, not the -num one). An unreadable file, a malformed row or a
// file without ranges is an error naming the file and line.
func LoadRanges(paths ...string) (*Ranges, error) {
	r := &Ranges{}
	index := map[asInfo]uint32{}
	for _, p := range paths {
		if err := r.load(p, index); err != nil {
			return nil, &FieldError{Field: "ASNRanges", Path: p, Err: err}
		}
	}
	slices.SortFunc(r.v4, func(a, b range4) int { return cmp.Compare(a.first, b.first) })
	slices.SortFunc(r.v6, func(a, b range6) int { return cmp128(a.first, b.first) })
	return r, nil
}

func (r *Ranges) load(path string, index map[asInfo]uint32) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	cr.FieldsPerRecord = 4
	cr.ReuseRecord = true
	n := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err // a csv.ParseError names its line
		}
		line, _ := cr.FieldPos(0)
		first, err1 := netip.ParseAddr(rec[0])
		last, err2 := netip.ParseAddr(rec[1])
		num, err3 := strconv.ParseUint(rec[2], 10, 32)
		switch {
		case err1 != nil || err2 != nil:
			return fmt.Errorf("line %d: %q,%q is not an address range (ip-location-db's address form, not the -num one, is read)", line, rec[0], rec[1])
		case err3 != nil:
			return fmt.Errorf("line %d: %q is not an AS number", line, rec[2])
		case first.Is4() != last.Is4() || last.Less(first):
			return fmt.Errorf("line %d: %s-%s is not a range", line, first, last)
		}
		key := asInfo{number: uint32(num), org: rec[3]}
		as, ok := index[key]
		if !ok {
			as = uint32(len(r.ases))
			key.org = strings.Clone(key.org)
			r.ases = append(r.ases, key)
			index[key] = as
		}
		if first.Is4() {
			r.v4 = append(r.v4, range4{u32(first), u32(last), as})
		} else {
			r.v6 = append(r.v6, range6{u128(first), u128(last), as})
		}
		n++
	}
	if n == 0 {
		return errors.New("holds no ranges")
	}
	return nil
}

// Lookup returns the AS of ip: that of the range with the greatest first address not above ip,
// when ip is within it.
func (r *Ranges) Lookup(ip netip.Addr) (number uint32, org string, ok bool) {
	ip = ip.Unmap()
	var as uint32
	if ip.Is4() {
		x := u32(ip)
		i := sort.Search(len(r.v4), func(i int) bool { return r.v4[i].first > x })
		if i == 0 || r.v4[i-1].last < x {
			return 0, "", false
		}
		as = r.v4[i-1].as
	} else {
		x := u128(ip)
		i := sort.Search(len(r.v6), func(i int) bool { return cmp128(r.v6[i].first, x) > 0 })
		if i == 0 || cmp128(r.v6[i-1].last, x) < 0 {
			return 0, "", false
		}
		as = r.v6[i-1].as
	}
	info := r.ases[as]
	return info.number, info.org, true
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func u128(a netip.Addr) [2]uint64 {
	b := a.As16()
	return [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func cmp128(a, b [2]uint64) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}
