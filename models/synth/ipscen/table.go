package ipscen

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/siemscore/siemscore/models/synth/ipnet"
)

// AS is one autonomous system of the table: its number, name and address ranges.
type AS struct {
	Number uint32
	Name   string
	V4     []Range4
	V6     []Range6
	size4  uint64
	role   role
}

// Range4 is an inclusive range of IPv4 addresses as 32-bit numbers.
type Range4 struct{ First, Last uint32 }

// Range6 is an inclusive range of IPv6 /64 networks (the high 64 bits of the addresses):
// the table's IPv6 ranges are allocations, never finer than a /64 that matters here.
type Range6 struct{ First, Last uint64 }

// Table is an IP-to-ASN table.
type Table struct {
	// Source says where it came from ("synthetic" or the package and version read).
	Source string
	ASes   []AS
	// V4 lists every IPv4 range by address, with its AS's index: neighbouring positions are
	// neighbouring networks, which the tutorial's "jitter around home and work" relies on.
	V4 []Ranged4
}

// Ranged4 is an IPv4 range and the index of its AS in Table.ASes.
type Ranged4 struct {
	Range4
	AS int32
}

// The real table is the npm package @ip-location-db/asn (IP-to-ASN ranges from RouteViews and
// DB-IP, CC BY 4.0), pinned by testdata/install-asn.sh so that a seed always draws the same
// addresses; processors/geoip/geoiptest.FindASNDir finds it.
const Package = "@ip-location-db/asn"

// LoadTable reads asn-ipv4.csv and asn-ipv6.csv (first,last,asn,name) from dir.
func LoadTable(dir string) (*Table, error) {
	t := &Table{Source: Package}
	if b, err := os.ReadFile(filepath.Join(dir, "package.json")); err == nil {
		if i := strings.Index(string(b), `"version"`); i >= 0 {
			v := strings.SplitN(string(b[i:]), `"`, 5)
			if len(v) >= 4 {
				t.Source += "@" + v[3]
			}
		}
	}
	byNumber := map[uint32]int{}
	as := func(num uint32, name string) *AS {
		i, ok := byNumber[num]
		if !ok {
			i = len(t.ASes)
			byNumber[num] = i
			t.ASes = append(t.ASes, AS{Number: num, Name: name})
		}
		return &t.ASes[i]
	}
	err := readCSV(filepath.Join(dir, "asn-ipv4.csv"), func(first, last netip.Addr, num uint32, name string) {
		if !first.Is4() || !last.Is4() {
			return
		}
		a := as(num, name)
		r := Range4{u32(first), u32(last)}
		if r.Last < r.First {
			return
		}
		a.V4 = append(a.V4, r)
		a.size4 += uint64(r.Last-r.First) + 1
	})
	if err != nil {
		return nil, err
	}
	err = readCSV(filepath.Join(dir, "asn-ipv6.csv"), func(first, last netip.Addr, num uint32, name string) {
		if !first.Is6() || !last.Is6() || first.Is4In6() {
			return
		}
		r := Range6{hi64(first), hi64(last)}
		if r.Last < r.First {
			return
		}
		a := as(num, name)
		a.V6 = append(a.V6, r)
	})
	if err != nil {
		return nil, err
	}
	t.index()
	return t, nil
}

func readCSV(path string, add func(first, last netip.Addr, num uint32, name string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) < 3 {
			return fmt.Errorf("%s:%d: %d fields", path, line, len(rec))
		}
		first, err1 := netip.ParseAddr(rec[0])
		last, err2 := netip.ParseAddr(rec[1])
		num, err3 := strconv.ParseUint(rec[2], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			return fmt.Errorf("%s:%d: bad row %q", path, line, rec)
		}
		name := ""
		if len(rec) > 3 {
			name = rec[3]
		}
		add(first, last, uint32(num), name)
	}
}

// SyntheticTable builds a table of n ASes over public IPv4 space (ipnet.SynthesizeASNTable:
// CIDR blocks of /24 to /14, log-uniform sizes) with an IPv6 allocation (a /32 to /28 in
// 2001::/16 or 2400::/6) for a third of them, and made-up names that give roles to some: the
// table the tests always have.
func SyntheticTable(seed uint64, n int) *Table {
	t := &Table{Source: "synthetic"}
	r := rand.New(rand.NewPCG(seed, 0x7ab1e))
	for i, a := range ipnet.SynthesizeASNTable(seed, n) {
		as := AS{Number: a.Number, V4: []Range4{{u32(a.First), u32(a.Last)}}}
		as.size4 = uint64(as.V4[0].Last-as.V4[0].First) + 1
		switch u := r.Float64(); {
		case u < 0.05:
			as.Name = fmt.Sprintf("Synthetic Cloud Hosting %d", i)
		case u < 0.08 && as.size4 >= 1<<16:
			as.Name = fmt.Sprintf("Synthetic Mobile Wireless %d", i)
		default:
			as.Name = fmt.Sprintf("Synthetic Network %d", i)
		}
		if r.Float64() < 1.0/3 {
			bits := 28 + r.IntN(5)
			var hi uint64
			if r.IntN(2) == 0 {
				hi = 0x2001<<48 | uint64(r.IntN(1<<16))<<32
			} else {
				hi = (0x24+uint64(r.IntN(12)))<<56 | r.Uint64()>>8
			}
			hi &^= 1<<(64-bits) - 1
			as.V6 = []Range6{{hi, hi | (1<<(64-bits) - 1)}}
		}
		t.ASes = append(t.ASes, as)
	}
	t.index()
	return t
}

// index sorts the ranges, fills V4 and gives every AS its role.
func (t *Table) index() {
	for i := range t.ASes {
		a := &t.ASes[i]
		for _, r := range a.V4 {
			t.V4 = append(t.V4, Ranged4{r, int32(i)})
		}
		a.role = roleOf(a)
	}
	slices.SortFunc(t.V4, func(a, b Ranged4) int { return cmp.Compare(a.First, b.First) })
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func hi64(a netip.Addr) uint64 {
	b := a.As16()
	var hi uint64
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
	}
	return hi
}

func v4(n uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func v6(hi, lo uint64) netip.Addr {
	var b [16]byte
	for i := range 8 {
		b[i], b[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	return netip.AddrFrom16(b)
}
