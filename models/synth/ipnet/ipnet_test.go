package ipnet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"testing"
)

func TestTutorialFollowsThePublishedScheme(t *testing.T) {
	cfg := DefaultTutorialConfig()
	cfg.Users = 400
	ds, table, err := Tutorial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(table) < cfg.ASNs*9/10 {
		t.Fatalf("ASN table has %d of %d entries", len(table), cfg.ASNs)
	}
	for i, a := range table {
		if !a.First.Is4() || a.Last.Less(a.First) || a.First.IsPrivate() || !a.First.IsGlobalUnicast() {
			t.Fatalf("bad ASN range %d: %v-%v", i, a.First, a.Last)
		}
		if i > 0 && !table[i-1].Last.Less(a.First) {
			t.Fatalf("ASN ranges %d and %d overlap or are out of order", i-1, i)
		}
	}
	perUser := map[*Identity]int{}
	counts := map[Source]int{}
	for _, e := range append(ds.Train, ds.Test...) {
		perUser[e.Identity]++
		counts[e.Source]++
		if !e.IP.Is4() {
			t.Fatalf("tutorial scheme is IPv4 only, got %v", e.IP)
		}
	}
	total := float64(len(ds.Train) + len(ds.Test))
	for id, n := range perUser {
		if n < int(cfg.EventsScale) || n > cfg.MaxEvents {
			t.Errorf("%s has %d events, outside [%v, %d]", id.Name, n, cfg.EventsScale, cfg.MaxEvents)
		}
	}
	// E[Beta(1,30)] = 1/31 of events travel; of the rest E[Beta(3,5)] = 3/8 are at home. The
	// per-user probabilities vary, so the event-weighted shares only approximate these.
	travel := float64(counts[SourceTravel]) / total
	home := float64(counts[SourceHome]) / (total - float64(counts[SourceTravel]))
	t.Logf("%d users, %d events, travel %.4f, home %.3f", len(perUser), int(total), travel, home)
	if math.Abs(travel-1.0/31) > 0.015 || math.Abs(home-3.0/8) > 0.08 {
		t.Errorf("travel share %.4f (want ~%.4f), home share %.3f (want ~0.375)", travel, 1.0/31, home)
	}
	frac := float64(len(ds.Train)) / total
	if math.Abs(frac-0.7) > 0.02 {
		t.Errorf("training share %.3f, want ~0.7 (7 of 10 days)", frac)
	}
	known := map[*Identity]bool{}
	for _, e := range ds.Train {
		known[e.Identity] = true
		if !e.Time.Before(ds.Split) {
			t.Fatal("training event after the split")
		}
	}
	for _, e := range ds.Attacks {
		if !known[e.Identity] || e.Source != SourceAttackRandom || e.Time.Before(ds.Split) {
			t.Fatalf("attack %+v must pair a trained user with a random ASN in the test window", e)
		}
	}
}

func TestOrgScenarioStructure(t *testing.T) {
	ds, err := Org(DefaultOrgConfig())
	if err != nil {
		t.Fatal(err)
	}
	counts := map[Source]int{}
	v6 := 0
	sessions := 0
	for _, e := range append(append([]Event(nil), ds.Train...), ds.Test...) {
		counts[e.Source]++
		if e.IP.Is6() {
			v6++
		}
		if e.Session != "" {
			sessions++
		}
		if !e.IP.IsGlobalUnicast() || e.IP.IsPrivate() {
			t.Fatalf("non-public address %v", e.IP)
		}
	}
	for _, s := range []Source{SourceHome, SourceWork, SourceTravel, SourceOtherOffice, SourceVPN, SourceMobile, SourceService} {
		if counts[s] == 0 {
			t.Errorf("no %s events", s)
		}
	}
	if v6 == 0 || sessions == 0 {
		t.Errorf("want IPv6 traffic and assumed-role sessions, got %d and %d", v6, sessions)
	}
	// Normal test traffic includes a person's first use of an organisation network that a
	// colleague used in training: the structure a per-principal memory cannot know.
	netOf := func(a netip.Addr) netip.Prefix {
		bits := 24
		if a.Is6() {
			bits = 64
		}
		p, _ := a.Prefix(bits)
		return p
	}
	seenBy := map[*Identity]map[netip.Prefix]bool{}
	seenAt := map[netip.Prefix]map[string]bool{} // network -> accounts that used it
	for _, e := range ds.Train {
		if seenBy[e.Identity] == nil {
			seenBy[e.Identity] = map[netip.Prefix]bool{}
		}
		n := netOf(e.IP)
		seenBy[e.Identity][n] = true
		if seenAt[n] == nil {
			seenAt[n] = map[string]bool{}
		}
		seenAt[n][e.Identity.AccountID] = true
	}
	firstUse := 0
	for _, e := range ds.Test {
		n := netOf(e.IP)
		if seenBy[e.Identity] != nil && !seenBy[e.Identity][n] && seenAt[n][e.Identity.AccountID] {
			firstUse++
		}
	}
	t.Logf("train %d test %d attacks %d; sources %v; v6 %d; first use of colleagues' networks in test: %d",
		len(ds.Train), len(ds.Test), len(ds.Attacks), counts, v6, firstUse)
	if firstUse < len(ds.Test)/50 {
		t.Errorf("only %d test events are a first use of an organisation network", firstUse)
	}
	other := 0
	for _, e := range ds.Attacks {
		if e.Source == SourceAttackOtherOrg {
			other++
			if seenAt[netOf(e.IP)][e.Identity.AccountID] {
				t.Errorf("other-organisation attack %v uses a network of the victim's own organisation", e.IP)
			}
		}
	}
	if other == 0 || other == len(ds.Attacks) {
		t.Errorf("want both attack kinds, got %d of %d from other organisations", other, len(ds.Attacks))
	}
}

func TestDeterministicAndRenderable(t *testing.T) {
	render := func() []byte {
		cfg := DefaultOrgConfig()
		cfg.Orgs, cfg.Members, cfg.Days, cfg.TrainDays = 3, 5, 6, 4
		ds, err := Org(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteCloudTrail(&b, 7, append(ds.Train, ds.Attacks...)); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := render(), render()
	if !bytes.Equal(a, b) {
		t.Fatal("same seed rendered different records")
	}
	sc := bufio.NewScanner(bytes.NewReader(a))
	sc.Buffer(nil, 1<<20)
	roles := 0
	for sc.Scan() {
		var rec struct {
			EventTime       string
			SourceIPAddress string
			UserIdentity    struct {
				Type, PrincipalID string
				SessionContext    *struct{ SessionIssuer struct{ PrincipalID string } }
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("invalid record %s: %v", sc.Bytes(), err)
		}
		if _, err := netip.ParseAddr(rec.SourceIPAddress); err != nil || rec.EventTime == "" {
			t.Fatalf("record without a source IP or time: %s", sc.Bytes())
		}
		if rec.UserIdentity.Type == "AssumedRole" {
			roles++
			issuer := rec.UserIdentity.SessionContext.SessionIssuer.PrincipalID
			if len(rec.UserIdentity.PrincipalID) <= len(issuer) || rec.UserIdentity.PrincipalID[:len(issuer)+1] != issuer+":" {
				t.Fatalf("assumed-role principalId %q must be the role ID %q plus a session", rec.UserIdentity.PrincipalID, issuer)
			}
		}
	}
	if roles == 0 {
		t.Error("no assumed-role records rendered")
	}
	var file bytes.Buffer
	ds, _, err := Tutorial(TutorialConfig{Seed: 3, Users: 2, ASNs: 200, Start: DefaultTutorialConfig().Start, Days: 10, TrainDays: 7, EventsScale: 50, MaxEvents: 60, HomeWorkWindow: 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCloudTrailFile(&file, 1, ds.Train); err != nil {
		t.Fatal(err)
	}
	var doc struct{ Records []json.RawMessage }
	if err := json.Unmarshal(file.Bytes(), &doc); err != nil || len(doc.Records) != len(ds.Train) {
		t.Fatalf("CloudTrail file: %d records, %v", len(doc.Records), err)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := DefaultTutorialConfig()
	bad.TrainDays = bad.Days
	if _, _, err := Tutorial(bad); err == nil {
		t.Error("tutorial: train days = days accepted")
	}
	org := DefaultOrgConfig()
	org.Orgs = 1
	if _, err := Org(org); err == nil {
		t.Error("org: a single organisation accepted (other-organisation attacks need two)")
	}
}
