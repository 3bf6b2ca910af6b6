package kerberos_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/internal/heaptest"
	krb "github.com/siemscore/siemscore/models/kerberos"
)

// addr returns the i-th of a million distinct addresses, IPv4 and IPv6 alternating.
func addr(i int, net byte) netip.Addr {
	if i%2 == 0 {
		return netip.AddrFrom4([4]byte{net, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, net, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
}

// floodState observes n requests made by request(i) into a default State and checks, at a
// quarter, half and all of them, that it holds at most its caps in at most the documented bytes.
func floodState(t *testing.T, n int, request func(i int) krb.Request) {
	t.Helper()
	base := heaptest.Live()
	s, err := krb.NewState(krb.StateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	bound := uint64(krb.DefaultMaxHosts*krb.StateBytesPerHost + krb.DefaultMaxServers*krb.StateBytesPerServer)
	for i := range n {
		r := request(i)
		if _, err := s.Observe(&r); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if done := i + 1; done == n/4 || done == n/2 || done == n {
			heap := heaptest.Live() - base
			t.Logf("%7d requests: %d hosts held, heap %.1f MiB (%.0f bytes per host), bound %.1f MiB",
				done, s.Hosts(), float64(heap)/(1<<20), float64(heap)/float64(s.Hosts()), float64(bound)/(1<<20))
			if s.Hosts() > krb.DefaultMaxHosts {
				t.Fatalf("%d hosts held, cap %d", s.Hosts(), krb.DefaultMaxHosts)
			}
			if heap > bound {
				t.Fatalf("heap %d bytes, bound %d", heap, bound)
			}
		}
	}
}

// A million distinct source hosts, each asking a distinct server for a distinct client and
// service (strings sharing their event's buffer, as decoded ones do): the host and server tables
// stay at their caps, and nothing pins an event.
func TestStateMemoryIsBoundedUnderAFloodOfHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds a million requests")
	}
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	floodState(t, 1_000_000, func(i int) krb.Request {
		names := heaptest.Event(2<<10, fmt.Sprintf("user%d/CORP.EXAMPLE", i), fmt.Sprintf("cifs/host%d.corp.example", i), "TGS", "rc4-hmac")
		return krb.Request{Time: at.Add(time.Duration(i) * time.Millisecond), Source: addr(i, 10), Dest: addr(i, 172),
			Client: names[0], Service: names[1], RequestType: names[2], Success: true, Cipher: names[3]}
	})
}

// The worst host: every distinct-count dimension past its exact entries, so each carries its
// four sketches. Hosts like that, past the cap, still fit the bound.
func TestStateMemoryIsBoundedUnderAFloodOfWorstCaseHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds a million requests")
	}
	const perHost = 10 // more distinct values than a host keeps exactly
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	floodState(t, 1_000_000, func(i int) krb.Request {
		host, k := i/perHost, i%perHost
		return krb.Request{Time: at.Add(time.Duration(i) * time.Millisecond), Source: addr(host, 10), Dest: addr(i, 172),
			Client: fmt.Sprintf("user%d", k), Service: fmt.Sprintf("svc%d", k), RequestType: "TGS", Cipher: "rc4-hmac"}
	})
}
