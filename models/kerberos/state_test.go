package kerberos

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
)

var (
	t0   = time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC) // on a window boundary
	ws   = netip.MustParseAddr("10.1.0.5")
	dc1  = netip.MustParseAddr("10.0.0.10")
	dc2  = netip.MustParseAddr("10.0.0.11")
	fs01 = netip.MustParseAddr("10.0.1.10")
)

func req(at time.Duration, dest netip.Addr, client, service, typ, errMsg string) Request {
	return Request{Time: t0.Add(at), Source: ws, Dest: dest, Client: client, Service: service,
		RequestType: typ, Success: errMsg == "", ErrorMsg: errMsg}
}

func newTestState(t *testing.T, cfg StateConfig) *State {
	t.Helper()
	s, err := NewState(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func observe(t *testing.T, s *State, reqs ...Request) Observation {
	t.Helper()
	var o Observation
	for i := range reqs {
		var err error
		if o, err = s.Observe(&reqs[i]); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func TestObserveFeatures(t *testing.T) {
	s := newTestState(t, StateConfig{})
	observe(t, s,
		req(0, dc1, "alice/CORP", "krbtgt/CORP", "AS", ErrPreauthRequired),
		req(time.Second, dc1, "alice/CORP", "krbtgt/CORP", "AS", ""),
		req(2*time.Second, dc1, "alice/CORP", "cifs/fs01", "TGS", ""),
		req(3*time.Second, fs01, "alice/CORP", "cifs/fs01", "AP", ""),
		req(4*time.Second, dc2, "bob/CORP", "krbtgt/CORP", "AS", ErrPreauthFailed),
		req(5*time.Second, dc1, "nobody/CORP", "krbtgt/CORP", "AS", ErrPrincipalUnknown),
		req(6*time.Second, dc1, "alice/CORP", "http/intranet", "TGS", "KDC_ERR_S_PRINCIPAL_UNKNOWN"),
	)
	// Another host's requests to dc1 count towards top_server_load, not towards this host.
	other := Request{Time: t0.Add(7 * time.Second), Source: netip.MustParseAddr("10.1.0.6"), Dest: dc1, Client: "carol/CORP", Service: "krbtgt/CORP", RequestType: "AS", Success: true}
	observe(t, s, other, other)
	f := observe(t, s, Request{Time: t0.Add(8 * time.Second), Source: ws, Dest: dc1, Client: "alice/CORP",
		Service: "MSSQLSvc/sql01:1433", RequestType: "TGS", Success: true, Cipher: "rc4-hmac"}).Features

	want := Features{
		Requests:           8,
		DistinctServers:    3,
		TopServerShare:     6.0 / 8,
		TopServerLoad:      8, // six from this host, two from the other
		Failures:           3, // PREAUTH_REQUIRED is not a failure
		FailureRatio:       3.0 / 9,
		DistinctClients:    3,
		DistinctServices:   4,
		PreauthFailures:    1,
		PrincipalUnknown:   1,
		TGSShare:           3.0 / 8,
		WeakCipherServices: 1,
	}
	if f != want {
		for i := range f {
			if f[i] != want[i] {
				t.Errorf("%s = %v, want %v", Feature(i), f[i], want[i])
			}
		}
	}
}

func TestWindowSlides(t *testing.T) {
	s := newTestState(t, StateConfig{})
	bucket := DefaultWindow / NumBuckets
	observe(t, s, req(0, dc1, "alice/CORP", "krbtgt/CORP", "AS", ErrPreauthFailed))
	observe(t, s, req(30*time.Minute, dc1, "bob/CORP", "cifs/fs01", "TGS", ""))
	// Still inside the hour: both count.
	f := observe(t, s, req(DefaultWindow-bucket/2, dc1, "bob/CORP", "cifs/fs01", "TGS", "")).Features
	if f[Requests] != 3 || f[DistinctClients] != 2 || f[Failures] != 1 {
		t.Errorf("within the window: %v", f)
	}
	// One bucket later the first request (and alice with it) has left the window.
	f = observe(t, s, req(DefaultWindow, dc1, "bob/CORP", "cifs/fs01", "TGS", "")).Features
	if f[Requests] != 3 || f[DistinctClients] != 1 || f[Failures] != 0 || f[PreauthFailures] != 0 {
		t.Errorf("after the first bucket expired: %v", f)
	}
	// Long quiet: everything expires and the host starts over.
	f = observe(t, s, req(5*DefaultWindow, dc2, "carol/CORP", "krbtgt/CORP", "AS", "")).Features
	if f[Requests] != 1 || f[DistinctClients] != 1 || f[DistinctServices] != 1 || f[DistinctServers] != 1 {
		t.Errorf("after a quiet period: %v", f)
	}
}

func TestLateRecords(t *testing.T) {
	s := newTestState(t, StateConfig{})
	observe(t, s, req(50*time.Minute, dc1, "alice/CORP", "krbtgt/CORP", "AS", ""))
	// Ten minutes late: counted, and the features stay those of the host's newest window.
	f := observe(t, s, req(40*time.Minute, dc1, "bob/CORP", "krbtgt/CORP", "AS", ErrPreauthFailed)).Features
	if f[Requests] != 2 || f[Failures] != 1 || f[DistinctClients] != 2 {
		t.Errorf("late record: %v", f)
	}
	// Older than the window: scored (features returned) but not counted.
	f = observe(t, s, req(-time.Hour, dc1, "eve/CORP", "krbtgt/CORP", "AS", ErrPreauthFailed)).Features
	if f[Requests] != 2 || f[DistinctClients] != 2 {
		t.Errorf("stale record was counted: %v", f)
	}
}

func TestCompleteAfterOneWindow(t *testing.T) {
	s := newTestState(t, StateConfig{})
	if o := observe(t, s, req(0, dc1, "a/CORP", "krbtgt/CORP", "AS", "")); o.Complete {
		t.Error("first record: window complete")
	}
	if o := observe(t, s, req(DefaultWindow-time.Second, dc1, "a/CORP", "krbtgt/CORP", "AS", "")); o.Complete {
		t.Error("just before one window has passed: complete")
	}
	if o := observe(t, s, req(DefaultWindow, dc1, "a/CORP", "krbtgt/CORP", "AS", "")); !o.Complete {
		t.Error("after one window: still incomplete")
	}
}

func TestDistinctCountsBeyondTheExactCap(t *testing.T) {
	for _, n := range []int{exactDistinct, exactDistinct + 1, 50, 200} {
		s := newTestState(t, StateConfig{})
		var f Features
		for i := range n {
			f = observe(t, s, req(time.Duration(i)*time.Second, dc1, fmt.Sprintf("user%03d/CORP", i), "krbtgt/CORP", "AS", ErrPreauthFailed)).Features
		}
		got := f[DistinctClients]
		if n <= exactDistinct && got != float64(n) {
			t.Errorf("%d clients counted %v, want exact", n, got)
		}
		if rel := math.Abs(got-float64(n)) / float64(n); rel > 0.25 {
			t.Errorf("%d clients estimated %v (%.0f%% off)", n, got, 100*rel)
		}
		if f[Requests] != float64(n) {
			t.Errorf("%d requests counted %v", n, f[Requests])
		}
	}
}

func TestSketchAgesOut(t *testing.T) {
	s := newTestState(t, StateConfig{})
	for i := range 100 {
		observe(t, s, req(time.Duration(i)*time.Second, dc1, fmt.Sprintf("user%03d/CORP", i), "krbtgt/CORP", "AS", ErrPreauthFailed))
	}
	f := observe(t, s, req(DefaultWindow+10*time.Minute, dc1, "alice/CORP", "krbtgt/CORP", "AS", "")).Features
	if f[DistinctClients] < 0.5 || f[DistinctClients] > 1.5 {
		t.Errorf("after the spray left the window: %v distinct clients, want about 1", f[DistinctClients])
	}
}

func TestTopServerSurvivesManyResponders(t *testing.T) {
	s := newTestState(t, StateConfig{})
	for i := range 10 {
		observe(t, s, req(time.Duration(i)*time.Second, dc1, "a/CORP", "krbtgt/CORP", "TGS", ""))
	}
	var f Features
	for i := range 12 { // more responders than topServers, two requests each
		d := netip.AddrFrom4([4]byte{10, 0, 9, byte(i)})
		observe(t, s, req(time.Minute, d, "a/CORP", "cifs/x", "AP", ""))
		f = observe(t, s, req(time.Minute, d, "a/CORP", "cifs/x", "AP", "")).Features
	}
	if f[TopServerShare] != 10.0/34 || f[TopServerLoad] != 10 || f[DistinctServers] < 10 {
		t.Errorf("top share %v load %v servers %v, want 10/34, 10, ~13", f[TopServerShare], f[TopServerLoad], f[DistinctServers])
	}
}

func TestObserveRejectsMissingSource(t *testing.T) {
	s := newTestState(t, StateConfig{})
	if _, err := s.Observe(&Request{Time: t0, Dest: dc1}); !errors.Is(err, ErrNoSource) {
		t.Errorf("err %v, want ErrNoSource", err)
	}
	if s.Hosts() != 0 {
		t.Errorf("%d hosts tracked", s.Hosts())
	}
}

func TestDefaultStateHasTheDefaults(t *testing.T) {
	d := DefaultState()
	if _, err := d.cfg.withDefaults(); err != nil || d.cfg != (StateConfig{Window: DefaultWindow, MaxHosts: DefaultMaxHosts, MaxServers: DefaultMaxServers}) {
		t.Errorf("default state config %+v: %v", d.cfg, err)
	}
	if d.Window() != DefaultWindow || d.Hosts() != 0 {
		t.Errorf("window %v, %d hosts", d.Window(), d.Hosts())
	}
}

func TestStateConfigValidation(t *testing.T) {
	for _, cfg := range []StateConfig{{Window: 5 * time.Second}, {Window: time.Hour + time.Second}, {Window: -time.Hour}, {MaxHosts: -1}} {
		if _, err := NewState(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// TestHostCapBoundsMemory feeds ten times more hosts than the cap: the state must never track
// more than the cap, and the heap must stop growing once the cap is reached.
func TestHostCapBoundsMemory(t *testing.T) {
	const hostCap = 4096
	s := newTestState(t, StateConfig{MaxHosts: hostCap, MaxServers: 64})
	feed := func(from, to int) {
		for i := from; i < to; i++ {
			r := Request{Time: t0.Add(time.Duration(i) * time.Millisecond), Source: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
				Dest: netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 100)}), Client: fmt.Sprintf("u%d", i), Service: "krbtgt/CORP", RequestType: "AS", Success: true}
			if _, err := s.Observe(&r); err != nil {
				t.Fatal(err)
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	feed(0, 2*hostCap)
	full := heap()
	feed(2*hostCap, 10*hostCap)
	after := heap()
	if n := s.Hosts(); n > hostCap {
		t.Errorf("tracking %d hosts, cap %d", n, hostCap)
	}
	if n := s.servers.len(); n > 64 {
		t.Errorf("tracking %d servers, cap 64", n)
	}
	perHost := float64(full) / hostCap
	t.Logf("heap %d KiB at the cap (≈%.0f B/host), %d KiB after 4× more hosts", full>>10, perHost, after>>10)
	if after > full+full/10 {
		t.Errorf("heap grew from %d to %d bytes after the cap was reached", full, after)
	}
}

// TestConcurrentObserve hammers one state from several goroutines (run with -race) and checks
// that no request is lost: counts do not depend on the order of requests within a bucket.
func TestConcurrentObserve(t *testing.T) {
	s := newTestState(t, StateConfig{})
	hosts := []netip.Addr{ws, netip.MustParseAddr("10.1.0.6"), netip.MustParseAddr("10.1.0.7")}
	const perWorker = 2000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range perWorker {
				r := Request{Time: t0.Add(time.Duration(i) * time.Millisecond), Source: hosts[(w+i)%len(hosts)], Dest: dc1,
					Client: fmt.Sprintf("u%d/CORP", i%5), Service: "krbtgt/CORP", RequestType: "AS", ErrorMsg: ErrPreauthFailed}
				if _, err := s.Observe(&r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	now := s.bucket(t0)
	var total float64
	for _, h := range hosts {
		f, ok := s.featuresAt(h, now)
		if !ok {
			t.Fatalf("host %v not tracked", h)
		}
		total += f[Requests]
		if f[Failures] != f[Requests] || f[DistinctClients] != 5 || f[TopServerLoad] != 4*perWorker {
			t.Errorf("host %v: %v", h, f)
		}
	}
	if total != 4*perWorker {
		t.Errorf("%v requests counted, want %d", total, 4*perWorker)
	}
}
