package ipinsights

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/siemscore/siemscore/models/synth/ipnet"
)

// entityOf is the principal an event is learned by: its principalId without the session.
func entityOf(e *ipnet.Event) string { return e.Identity.PrincipalID }

func smallOrg(t testing.TB) *ipnet.Dataset {
	t.Helper()
	cfg := ipnet.DefaultOrgConfig()
	cfg.Orgs, cfg.Members, cfg.Days, cfg.TrainDays = 4, 12, 12, 10
	ds, err := ipnet.Org(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func datasetOf(t testing.TB, events []ipnet.Event) *Dataset {
	t.Helper()
	ds := NewDataset()
	for i := range events {
		if err := ds.Add(entityOf(&events[i]), events[i].IP); err != nil {
			t.Fatal(err)
		}
	}
	return ds
}

func encodeModel(t testing.TB, m *Model) []byte {
	t.Helper()
	b, err := m.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrainingIsDeterministicWhateverTheWorkers(t *testing.T) {
	ds := datasetOf(t, smallOrg(t).Train)
	cfg := DefaultConfig()
	cfg.VectorDim, cfg.Epochs = 16, 2
	var out [][]byte
	for _, w := range []int{2, 2, 1, 3} {
		cfg.Workers = w
		m, err := Train(context.Background(), ds, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, encodeModel(t, m))
	}
	for i := 1; i < len(out); i++ {
		if !bytes.Equal(out[0], out[i]) {
			t.Fatalf("run %d produced different model bytes", i)
		}
	}
	cfg.Seed = 2
	m, _ := Train(context.Background(), ds, cfg, nil)
	if bytes.Equal(encodeModel(t, m), out[0]) {
		t.Error("a different seed produced the same model")
	}
}

// A tiny, hand-made world: A gets a new DHCP address in 10.1.1.0/24 every time, B likewise in
// 10.1.2.0/24 (the same /16); C uses ten fixed addresses in 172.32.0.0/24 and one IPv6
// address; D has only three events.
func handmade(t testing.TB, cfg Config) *Model {
	t.Helper()
	ds := NewDataset()
	for i := range 60 {
		ds.Add("A", netip.AddrFrom4([4]byte{10, 1, 1, byte(1 + 2*i)}))
		ds.Add("B", netip.AddrFrom4([4]byte{10, 1, 2, byte(1 + 2*i)}))
		ds.Add("C", netip.AddrFrom4([4]byte{172, 32, 0, byte(1 + i%10)}))
		ds.Add("C", netip.MustParseAddr("2001:db8:1:2::5"))
	}
	for range 3 {
		ds.Add("D", netip.MustParseAddr("10.1.1.1"))
	}
	m, err := Train(context.Background(), ds, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// smallConfig gives every prefix its vector (MinPrefixPrincipals 1): the hand-made world has
// too few principals to share any.
func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.VectorDim, cfg.BatchSize, cfg.MinPrefixPrincipals = 8, 32, 1
	return cfg
}

func affinity(m *Model, principal, ip string) float64 {
	return m.Affinity(m.EntityPos(Key(principal)), netip.MustParseAddr(ip))
}

// The embedding's point: an address never seen before but inside a principal's own network is
// familiar, one in a colleague's network of the same block less so, and a foreign one is not.
func TestNewAddressInKnownNetworkIsFamiliar(t *testing.T) {
	m := handmade(t, smallConfig())
	known, newInNet, colleague, foreign := affinity(m, "A", "10.1.1.5"), affinity(m, "A", "10.1.1.250"), affinity(m, "A", "10.1.2.7"), affinity(m, "A", "203.0.113.9")
	t.Logf("known %.2f, new in network %.2f, colleague's network %.2f, foreign %.2f", known, newInNet, colleague, foreign)
	if !(newInNet > colleague && colleague > foreign) || known < colleague {
		t.Error("affinity must fall: own network > colleague's network > foreign")
	}
	if affinity(m, "A", "::ffff:10.1.1.3") != affinity(m, "A", "10.1.1.3") {
		t.Error("an IPv4-mapped address must score as the address")
	}
}

// Prefixes fewer than MinPrefixPrincipals principals used get no vector: with the default of
// 2, only the /16 and coarser prefixes A and B share are kept, and C's networks are unseen.
func TestOnlySharedPrefixesGetVectors(t *testing.T) {
	cfg := smallConfig()
	cfg.MinPrefixPrincipals = 2
	m := handmade(t, cfg)
	kept := map[string]int{}
	for ti := range numTables {
		kept[tableName(ti)] = len(m.prefixes[ti].keys)
	}
	want := map[string]int{"v4/8": 1, "v4/12": 1, "v4/16": 1, "v4/20": 1, "v4/24": 1, "v6/16": 0, "v6/32": 0, "v6/48": 0, "v6/64": 0}
	for name, n := range want {
		if kept[name] != n {
			t.Errorf("%s: %d prefixes kept, want %d (%v)", name, kept[name], n, kept)
		}
	}
}

// An unknown principal's hashed bucket would be someone else's vector; it is scored against
// the population vector instead, so a network the organisation uses is less anomalous than one
// nobody uses, and the principal's name does not matter.
func TestUnknownPrincipalUsesThePopulation(t *testing.T) {
	m := handmade(t, smallConfig())
	org, never := affinity(m, "stranger", "10.1.1.77"), affinity(m, "stranger", "198.51.100.3")
	if org <= never {
		t.Errorf("unknown principal: organisation network %.3f, never-seen network %.3f", org, never)
	}
	if m.EntityPos(Key("stranger")) != -1 || m.EntityPos(Key("A")) < 0 || m.Principals() != 4 {
		t.Error("EntityPos/Principals")
	}
	cfg := smallConfig()
	cfg.NumEntityVectors = 2
	shared := handmade(t, cfg)
	n := 0
	for _, p := range []string{"A", "B", "C", "D"} {
		if shared.Shared(shared.EntityPos(Key(p))) {
			n++
		}
	}
	if n != 4 || m.Shared(m.EntityPos(Key("A"))) {
		t.Errorf("4 principals on 2 rows: %d report a shared vector", n)
	}
}

func TestEncodeDecode(t *testing.T) {
	m := handmade(t, smallConfig())
	b := encodeModel(t, m)
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encodeModel(t, d), b) {
		t.Fatal("Encode(Decode(b)) != b")
	}
	if d.Config() != m.Config() {
		t.Errorf("config %+v != %+v", d.Config(), m.Config())
	}
	for _, ip := range []string{"10.1.1.1", "10.1.9.9", "2001:db8:1:2::9", "8.8.8.8"} {
		for _, p := range []string{"A", "C", "zz"} {
			if a, c := affinity(m, p, ip), affinity(d, p, ip); a != c {
				t.Errorf("%s@%s: decoded %v, trained %v", p, ip, c, a)
			}
		}
	}
	for n := 0; n < len(b); n += max(1, len(b)/300) {
		if _, err := Decode(b[:n]); err == nil {
			t.Fatalf("truncation to %d bytes accepted", n)
		}
	}
	if _, err := Decode(append(bytes.Clone(b), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	// Corruptions that a checksum cannot catch (a bundle re-signed by a buggy trainer) are
	// caught by validation, naming the field.
	biasAt := 2 + 8*4 + 4*8 + 8 + (1 + 5) + (1 + 4)
	principals := biasAt + 4
	firstKey := principals + 4
	cases := []struct {
		name string
		off  int
		b    []byte
		want string
	}{
		{"NaN bias", biasAt, []byte{0, 0, 0xc0, 0x7f}, "bias: non-finite"},
		{"huge principal count", principals, []byte{0xff, 0xff, 0xff, 0x7f}, "principals"},
		{"keys out of order", firstKey, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "principal keys: not strictly increasing"},
		{"zero dimension", 2, []byte{0, 0, 0, 0}, "vector dim 0"},
		{"format", 0, []byte{7, 0}, "unknown embedding format version 7"},
		{"first format", 0, []byte{1, 0}, "no longer read"},
	}
	for _, tc := range cases {
		bad := bytes.Clone(b)
		copy(bad[tc.off:], tc.b)
		if _, err := Decode(bad); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestAffinityIsAllocationFreeAndConcurrent(t *testing.T) {
	m := handmade(t, smallConfig())
	ip := netip.MustParseAddr("2001:db8:1:2::77")
	pos := m.EntityPos(Key("C"))
	if a := testing.AllocsPerRun(200, func() { m.Affinity(pos, ip) }); a != 0 {
		t.Errorf("Affinity allocates %v times", a)
	}
	want := m.Affinity(pos, ip)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if got := m.Affinity(pos, ip); got != want {
					t.Error("concurrent scores differ")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestTrainingInputsAndProgress(t *testing.T) {
	ds := NewDataset()
	if err := ds.Add("", netip.MustParseAddr("10.0.0.1")); err == nil {
		t.Error("empty principal accepted")
	}
	if err := ds.Add("A", netip.Addr{}); err == nil {
		t.Error("invalid address accepted")
	}
	if _, err := Train(context.Background(), ds, DefaultConfig(), nil); err == nil {
		t.Error("training on an empty dataset accepted")
	}
	other := NewDataset()
	for i := range 20 {
		ds.Add("A", netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
		other.Add("A", netip.AddrFrom4([4]byte{10, 0, 0, byte(19 - i)}))
	}
	ds.Add("B", netip.MustParseAddr("::ffff:10.0.0.1"))
	ds.Add("B", netip.MustParseAddr("fe80::1%eth0"))
	ds.Add("B", netip.MustParseAddr("fe80::1"))
	if ds.Fingerprint() == other.Fingerprint() {
		t.Error("fingerprint must depend on the order of the pairs")
	}
	if ds.Len() != 23 || ds.Principals() != 2 || ds.Addresses() != 21 {
		t.Errorf("len %d principals %d addresses %d (mapped and zoned addresses are the plain address)", ds.Len(), ds.Principals(), ds.Addresses())
	}
	var epochs []int
	cfg := smallConfig()
	cfg.Epochs = 3
	_, err := Train(context.Background(), ds, cfg, func(p Progress) {
		epochs = append(epochs, p.Epoch)
		if p.Epochs != 3 || !(p.Loss > 0) || !(p.PairsPerSec > 0) || p.Elapsed <= 0 {
			t.Errorf("progress %+v", p)
		}
	})
	if err != nil || !slices.Equal(epochs, []int{1, 2, 3}) {
		t.Errorf("epochs reported %v, %v", epochs, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, ds, cfg, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled training: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"dim":          func(c *Config) { c.VectorDim = 0 },
		"dim too big":  func(c *Config) { c.VectorDim = MaxVectorDim + 1 },
		"entities":     func(c *Config) { c.NumEntityVectors = 0 },
		"prefix rows":  func(c *Config) { c.MaxPrefixRows = 0 },
		"no negatives": func(c *Config) { c.RandomNegatives, c.ShuffledNegatives = 0, 0 },
		"negative":     func(c *Config) { c.RandomNegatives = -1 },
		"epochs":       func(c *Config) { c.Epochs = 0 },
		"batch":        func(c *Config) { c.BatchSize = 0 },
		"lr":           func(c *Config) { c.LearningRate = math.NaN() },
		"decay":        func(c *Config) { c.WeightDecay = -1 },
		"population":   func(c *Config) { c.PopulationRate = 0 },
		"novelty":      func(c *Config) { c.MaxNovelty = 2 },
		"sharing":      func(c *Config) { c.MinPrefixPrincipals = 0 },
		"workers":      func(c *Config) { c.Workers = -1 },
	} {
		c := DefaultConfig()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: invalid config accepted", name)
		}
	}
}

func FuzzDecodeModel(f *testing.F) {
	m := handmade(f, smallConfig())
	b, err := m.AppendBinary(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data)
		if err != nil {
			return
		}
		again, err := d.AppendBinary(nil)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
		for _, ip := range []string{"10.1.1.1", "77.7.7.7", "2001:db8:1:2::5", "2a02::1"} {
			for pos := -1; pos < d.Principals(); pos++ {
				d.Affinity(pos, netip.MustParseAddr(ip))
			}
		}
	})
}

// The trainer looks up random negatives through its direct index of the short prefixes; it
// must find the rows the model's own lookup finds.
func TestRandomNegativeRowsMatchTheModel(t *testing.T) {
	ds := datasetOf(t, smallOrg(t).Train)
	for i := range 50 {
		ds.Add("v6", netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i % 3), 0, 0, byte(i)}))
	}
	tr := &trainer{cfg: DefaultConfig(), dim: 4, workers: 1, ds: ds}
	tr.cfg.VectorDim = 4
	tr.build()
	c := tr.chunks[0]
	r := c.rng
	c.pcg.Seed(1, 2)
	check := func(a netip.Addr) {
		var p prefixes
		prefixKeysOf(a, &p)
		var want [maxLevels]int32
		wantSeen := tr.m.lookupLevels(&p, &want)
		b := a.As16()
		seen := tr.randomRows(c, p.fam, b[16-p.fam.bytes:])
		if seen != wantSeen || !slices.Equal(c.rows[:seen], want[:seen]) {
			t.Fatalf("%v: rows %v (%d seen), model %v (%d seen)", a, c.rows[:seen], seen, want[:wantSeen], wantSeen)
		}
	}
	deep := 0
	for _, a := range ds.addrs {
		b := a.As16()
		// Neighbours at every depth, so that every level is compared seen and unseen.
		for _, flip := range []int{127, 120, 112, 104, 96, 60, 40} {
			n := b
			n[flip/8] ^= 1 << (7 - flip%8)
			na := netip.AddrFrom16(n)
			if a.Is4() {
				na = na.Unmap()
			}
			check(na)
		}
		check(a)
		if a.Is6() {
			deep++
		}
	}
	for range 10000 {
		check(RandomAddr(r, false))
		check(RandomAddr(r, true))
	}
	if deep == 0 {
		t.Fatal("no IPv6 training address compared")
	}
}
