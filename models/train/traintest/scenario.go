// Package traintest puts into the real Elasticsearch the traffic the companion's learning tests
// retrain from: an organisation's CloudTrail over the 28 days before now, in which one person
// starts working, legitimately, from a network nobody used before (NewNet) for the last 7 days.
// After retraining on it, that network must be normal for the person, while an attack on a
// service role from elsewhere (Attack) must still score high.
package traintest

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Moving is the indexed scenario.
type Moving struct {
	Now     time.Time
	Person  string // the entity (IAM user ID) that moves
	Other   string // a service role's entity (role ID), which is attacked
	Account string // the account both belong to
	// Normal is the organisation's own traffic, without the move.
	Normal []ipnet.Event
	NewNet netip.Prefix
	// Probe is an address of NewNet the person never used, not even after the move.
	Probe  netip.Addr
	Attack netip.Addr
	// NS is the data stream namespace; CloudTrail and Kerberos the data streams to train on.
	NS, CloudTrail, Kerberos string
}

// Index generates the scenario and writes it into a namespace of its own through the plugin's
// processors and delivery.
func Index(t testing.TB, url string) *Moving {
	t.Helper()
	s := &Moving{
		Now:    time.Now().UTC().Truncate(time.Hour),
		NewNet: netip.MustParsePrefix("45.83.64.0/24"),
		Probe:  netip.MustParseAddr("45.83.64.200"),
		Attack: netip.MustParseAddr("185.220.101.33"),
	}
	cfg := ipnet.DefaultOrgConfig()
	cfg.Orgs, cfg.Members, cfg.Services, cfg.Days, cfg.TrainDays = 3, 10, 2, 29, 28
	cfg.Start = s.Now.Add(-29 * 24 * time.Hour).Truncate(24 * time.Hour)
	ds, err := ipnet.Org(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var events []ipnet.Event
	for _, e := range append(ds.Train, ds.Test...) {
		if e.Time.Before(s.Now) {
			events = append(events, e)
		}
	}
	var mover *ipnet.Identity
	for _, e := range events {
		switch {
		case mover == nil && e.Identity.Type == "IAMUser" && e.Source != ipnet.SourceService:
			mover, s.Person, s.Account = e.Identity, e.Identity.PrincipalID, e.Identity.AccountID
		case s.Other == "" && e.Source == ipnet.SourceService:
			s.Other = e.Identity.PrincipalID
		}
	}
	if mover == nil || s.Other == "" {
		t.Fatal("scenario: no person or no service role")
	}
	s.Normal = events
	// From a week before now, the mover works from NewNet every day: a new address most days.
	for d := 7; d >= 1; d-- {
		for k := range 12 {
			ip := s.NewNet.Addr().Next().Next()
			if k%3 == 0 {
				ip = netip.AddrFrom4([4]byte{45, 83, 64, byte(10 + d*7 + k)})
			}
			events = append(events, ipnet.Event{
				Time:     s.Now.Add(-time.Duration(d)*24*time.Hour + time.Duration(k)*37*time.Minute),
				Identity: mover, IP: ip, Source: ipnet.SourceHome,
			})
		}
	}
	var buf bytes.Buffer
	if err := ipnet.WriteCloudTrail(&buf, 11, events); err != nil {
		t.Fatal(err)
	}
	s.NS = readertest.Namespace(t, url)
	readertest.Deliver(t, url, s.NS, readertest.Records(t, readertest.JSONLines(t, &buf), nil))
	s.CloudTrail = readertest.Stream(ecs.KindCloudTrail, s.NS)
	s.Kerberos = readertest.Stream(ecs.KindKerberos, s.NS)
	return s
}
