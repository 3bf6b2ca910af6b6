package ipanomaly

import (
	"context"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/synth/ipnet"
	"github.com/siemscore/siemscore/processors/identity"
)

// The SageMaker tutorial's size: 2,000 principals, 437k (principal, address) pairs, most
// addresses distinct (uniform inside their AS), over an ASN table of ~400k ranges.
const (
	tutorialPrincipals = 2000
	tutorialPairs      = 437_000
)

var tutorialSized = sync.OnceValues(func() (*Dataset, error) {
	cfg := ipnet.DefaultTutorialConfig()
	cfg.Users, cfg.Days, cfg.TrainDays, cfg.Attacks = tutorialPrincipals, 10, 9, 1
	table := ipnet.SynthesizeASNTable(cfg.Seed, 400_000)
	cfg.HomeWorkWindow = len(table) / 8 // the tutorial: 50000 positions of ~400k
	ds, err := ipnet.TutorialOn(cfg, table)
	if err != nil {
		return nil, err
	}
	d := NewDataset()
	for _, e := range append(ds.Train, ds.Test...)[:tutorialPairs] {
		if err := d.Add(identity.Principal{ID: e.Identity.Name}, e.IP, e.Time); err != nil {
			return nil, err
		}
	}
	return d, nil
})

// The bundle section of a model trained on tutorial-sized data stays within 20 MB: no address
// has a vector of its own. Run once; the numbers are logged for README.md.
func TestTutorialSizedModelIsCompact(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on 437k pairs")
	}
	ds, err := tutorialSized()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := Train(context.Background(), ds, DefaultConfig(), func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	b, err := m.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := m.h
	own := 4*len(h.own.v4) + 16*len(h.own.v6)
	t.Logf("%d pairs, %d principals, %d addresses: trained in %s on %d cores; section %d bytes (%.1f MB): %.0f bytes per principal, %.1f per distinct address",
		ds.Len(), ds.Principals(), ds.Addresses(), took.Round(time.Millisecond), runtime.GOMAXPROCS(0), len(b), float64(len(b))/1e6,
		float64(len(b))/float64(ds.Principals()), float64(len(b))/float64(ds.Addresses()))
	t.Logf("of which: own histories %d, group histories %d, account histories %d, network counts %d, embedding %d bytes",
		own, 4*len(h.grp.v4)+16*len(h.grp.v6), 4*len(h.acc.v4)+16*len(h.acc.v6),
		2*len(h.nets.v4Block)+6*len(h.nets.v4Net)+6*len(h.nets.v6Block)+10*len(h.nets.v6Net), embBytes(t, m))
	if ds.Principals() != tutorialPrincipals || ds.Addresses() < 350_000 {
		t.Fatalf("the data is not tutorial-sized: %d principals, %d addresses", ds.Principals(), ds.Addresses())
	}
	if len(b) > 20_000_000 {
		t.Errorf("section is %d bytes, more than 20 MB", len(b))
	}
	if m.Principals() != tutorialPrincipals {
		t.Errorf("%d principals trained, want %d", m.Principals(), tutorialPrincipals)
	}
}

func embBytes(t *testing.T, m *Model) int {
	b, err := m.h.emb.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// BenchmarkTrainTutorialSized measures training on 437k pairs (embedding, combiner,
// calibration, histories) with all cores (GOMAXPROCS; 2 on the project's machines).
func BenchmarkTrainTutorialSized(b *testing.B) {
	ds, err := tutorialSized()
	if err != nil {
		b.Fatal(err)
	}
	var size int
	for b.Loop() {
		m, err := Train(context.Background(), ds, DefaultConfig(), nil)
		if err != nil {
			b.Fatal(err)
		}
		enc, _ := m.AppendBinary(nil)
		size = len(enc)
	}
	b.ReportMetric(float64(size), "bundle-bytes")
}

// tutorialModel is a model trained on tutorialSized, once per test binary.
var tutorialModel = sync.OnceValues(func() (*Model, error) {
	ds, err := tutorialSized()
	if err != nil {
		return nil, err
	}
	return Train(context.Background(), ds, DefaultConfig(), nil)
})

// BenchmarkScore scores known and unknown principals at addresses they used, new ones nearby
// and foreign ones, cycling through 4096 pairs so that the tables are not all in cache.
func BenchmarkScore(b *testing.B) {
	ds, err := tutorialSized()
	if err != nil {
		b.Fatal(err)
	}
	m, err := tutorialModel()
	if err != nil {
		b.Fatal(err)
	}
	type q struct {
		p  identity.Principal
		ip netip.Addr
	}
	qs := make([]q, 4096)
	for i := range qs {
		p, ip := ds.Pair((i * 7919) % ds.Len())
		switch i % 4 {
		case 1:
			ip = ip.Next()
		case 2:
			b := ip.As4()
			ip = netip.AddrFrom4([4]byte{b[0] ^ 0x55, b[1], b[2], b[3]})
		case 3:
			p.ID += "-unknown"
		}
		qs[i] = q{p, ip}
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	i := 0
	for b.Loop() {
		m.Score(qs[i&4095].p, qs[i&4095].ip)
		i++
	}
	// The process's CPU time per score: on a machine shared with other jobs, wall time per
	// operation (ns/op) also counts the time this one waited for a core.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(i), "cpu-ns/op")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
