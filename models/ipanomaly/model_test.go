package ipanomaly

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors/identity"
)

// handmade is a small world: A uses 10.1.1.x, B (A's account) 10.1.2.x, C (another account)
// 172.32.0.x and one IPv6 /64; over 300 time-ordered events each, so the model is split in time
// and its combiner fitted.
var handmade = sync.OnceValues(func() (*Model, error) {
	return Train(context.Background(), handmadeData(), handmadeConfig(), nil)
})

func handmadeData() *Dataset {
	ds := NewDataset()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 300 {
		at := t0.Add(time.Duration(i) * time.Minute)
		ds.Add(identity.Parse("arn:aws:iam::111111111111:user/A"), netip.AddrFrom4([4]byte{10, 1, 1, byte(1 + i%200)}), at)
		ds.Add(identity.Parse("arn:aws:iam::111111111111:user/B"), netip.AddrFrom4([4]byte{10, 1, 2, byte(1 + i%200)}), at)
		ds.Add(identity.Parse("arn:aws:iam::222222222222:user/C"), netip.AddrFrom4([4]byte{172, 32, 0, byte(1 + i%10)}), at)
		ds.Add(identity.Parse("arn:aws:iam::222222222222:user/C"), netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, byte(i)}), at)
	}
	return ds
}

// handmadeConfig gives every prefix its vector: the hand-made world has too few principals to
// share any.
func handmadeConfig() Config {
	cfg := DefaultConfig()
	cfg.Embedding.VectorDim, cfg.Embedding.Epochs, cfg.Embedding.MinPrefixPrincipals = 8, 2, 1
	return cfg
}

func model(t testing.TB) *Model {
	t.Helper()
	m, err := handmade()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func score(t testing.TB, m *Model, principal, ip string) Result {
	t.Helper()
	r, ok := m.Score(identity.Parse(principal), netip.MustParseAddr(ip))
	if !ok || math.IsNaN(r.Raw) || !(r.ScoreNorm >= 0 && r.ScoreNorm <= 100) {
		t.Fatalf("%s at %s: %+v", principal, ip, r)
	}
	return r
}

// The facts behind the reasons, on hand-made histories.
func TestReasons(t *testing.T) {
	m := model(t)
	const a, c = "arn:aws:iam::111111111111:user/A", "arn:aws:iam::222222222222:user/C"
	cases := []struct {
		principal, ip string
		want, not     Reasons
	}{
		{a, "10.1.1.3", 0, ReasonIPNewForPrincipal | ReasonNetworkNewForPrincipal},
		{a, "10.1.1.250", ReasonIPNewForPrincipal, ReasonNetworkNewForPrincipal | ReasonNetworkNeverSeen},
		{a, "10.1.2.7", ReasonIPNewForPrincipal | ReasonNetworkNewForPrincipal | ReasonNetworkKnownToAccount, ReasonNetworkNeverSeen},
		{a, "172.32.0.5", ReasonNetworkNewForPrincipal, ReasonNetworkKnownToAccount | ReasonNetworkNeverSeen},
		{a, "10.1.9.9", ReasonNetworkNewForPrincipal | ReasonNetworkNeverSeen, ReasonBlockNeverSeen},
		{a, "77.1.1.1", ReasonNetworkNeverSeen | ReasonBlockNeverSeen, 0},
		{c, "2001:db8:1:2::1:77", ReasonIPNewForPrincipal, ReasonNetworkNewForPrincipal},
		{c, "2001:db8:1:3::5", ReasonNetworkNewForPrincipal | ReasonNetworkNeverSeen, ReasonBlockNeverSeen},
		{"arn:aws:iam::111111111111:user/New", "10.1.2.7", ReasonPrincipalUnknown | ReasonNetworkKnownToAccount, ReasonIPNewForPrincipal},
		{"stranger", "8.8.8.8", ReasonPrincipalUnknown | ReasonNetworkNeverSeen | ReasonBlockNeverSeen, 0},
	}
	for _, tc := range cases {
		r := score(t, m, tc.principal, tc.ip)
		if !r.Reasons.Has(tc.want) || r.Reasons&tc.not != 0 {
			t.Errorf("%s at %s: reasons %v, want %v and none of %v", tc.principal, tc.ip, r.Reasons.Strings(), tc.want.Strings(), tc.not.Strings())
		}
	}
	if got := strings.Join(ReasonNames(), ","); !strings.HasPrefix(got, "principal_unknown,ip_new_for_principal,network_new_for_principal,network_never_seen,block_never_seen,principal_few_events,entity_vector_shared,") {
		t.Errorf("the first reason codes changed (alert rules match them): %s", got)
	}
}

// The score grows as the address leaves the principal's places: its own address, a new one in
// its network, its account's network, then another account's or a foreign one.
func TestFamiliarityOrder(t *testing.T) {
	m := model(t)
	const a = "arn:aws:iam::111111111111:user/A"
	if other, foreign := score(t, m, a, "172.32.0.5"), score(t, m, a, "10.1.2.7"); !(other.Raw > foreign.Raw) {
		t.Errorf("another account's network (raw %.2f) is not more anomalous than the account's own (%.2f)", other.Raw, foreign.Raw)
	}
	order := []string{"10.1.1.3", "10.1.1.250", "10.1.2.7", "203.0.113.9"}
	var prev Result
	for i, ip := range order {
		r := score(t, m, a, ip)
		t.Logf("%s: raw %.2f score %.1f %v", ip, r.Raw, r.ScoreNorm, r.Reasons.Strings())
		if i > 0 && !(r.Raw > prev.Raw) {
			t.Errorf("%s (raw %.2f) is not more anomalous than %s (%.2f)", ip, r.Raw, order[i-1], prev.Raw)
		}
		prev = r
	}
	if s := score(t, m, a, "203.0.113.9").ScoreNorm; s < 50 {
		t.Errorf("a foreign address scores %.1f, under the major band", s)
	}
}

func TestEncodeDecode(t *testing.T) {
	m := model(t)
	b, err := m.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := d.AppendBinary(nil)
	if !bytes.Equal(again, b) {
		t.Fatal("Encode(Decode(b)) != b")
	}
	for _, p := range []string{"arn:aws:iam::111111111111:user/A", "arn:aws:iam::222222222222:user/C", "nobody"} {
		for _, ip := range []string{"10.1.1.1", "10.1.9.9", "2001:db8:1:2::9", "8.8.8.8"} {
			if x, y := score(t, m, p, ip), score(t, d, p, ip); x != y {
				t.Errorf("%s at %s: decoded %+v, trained %+v", p, ip, y, x)
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
	if _, err := Decode([]byte{1, 0, 0, 0}); !errors.Is(err, ErrFormatV1) {
		t.Errorf("format 1: %v", err)
	}
	if _, err := Decode([]byte{2, 0, 0, 0}); !errors.Is(err, ErrFormatV2) || !strings.Contains(err.Error(), "retrain") {
		t.Errorf("format 2: %v", err)
	}
	nan := bytes.Clone(b)
	copy(nan[2:], []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f}) // HoldoutFraction = NaN
	if _, err := Decode(nan); err == nil || !strings.Contains(err.Error(), "holdout fraction") {
		t.Errorf("NaN hyperparameter: %v", err)
	}
}

func TestScoreIsAllocationFreeAndConcurrent(t *testing.T) {
	m := model(t)
	p, ip := identity.Parse("arn:aws:iam::111111111111:user/New"), netip.MustParseAddr("2001:db8:1:2::77")
	if n := testing.AllocsPerRun(200, func() { m.Score(p, ip) }); n != 0 {
		t.Errorf("Score allocates %v times", n)
	}
	want, _ := m.Score(p, ip)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if got, _ := m.Score(p, ip); got != want {
					t.Error("concurrent scores differ")
					return
				}
			}
		})
	}
	wg.Wait()
	if _, ok := m.Score(p, netip.Addr{}); ok {
		t.Error("an invalid address was scored")
	}
}

// Training is deterministic for a seed, whatever the number of workers.
func TestTrainingIsDeterministic(t *testing.T) {
	m := model(t)
	want, _ := m.AppendBinary(nil)
	cfg := handmadeConfig()
	cfg.Embedding.Workers = 1
	again, err := Train(context.Background(), handmadeData(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := again.AppendBinary(nil)
	if !bytes.Equal(got, want) {
		t.Error("one worker trained other bytes than all of them")
	}
}

func FuzzDecodeModel(f *testing.F) {
	b, err := model(f).AppendBinary(nil)
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
			d.Score(identity.Principal{ID: "arn:aws:iam::111111111111:user/A"}, netip.MustParseAddr(ip))
			d.Score(identity.Principal{ID: "nobody", Account: "111111111111"}, netip.MustParseAddr(ip))
		}
	})
}
