package geoip_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/geoip"
	"github.com/siemscore/siemscore/processors/geoip/geoiptest"
)

func open(t *testing.T, c geoip.Config) *geoip.DB {
	t.Helper()
	db, err := geoip.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// want is what Elastic's geoip processor writes for a place of the test databases.
func want(p geoiptest.Place) (ecs.Geo, ecs.AS) {
	return ecs.Geo{
			ContinentName: p.Continent, CountryName: p.Country, CountryISOCode: p.CountryCC,
			RegionName: p.Region, RegionISOCode: p.CountryCC + "-" + p.RegionCode, CityName: p.City,
			Location: &ecs.GeoPoint{Lat: p.Lat, Lon: p.Lon},
		},
		ecs.AS{Number: int64(p.ASN), Organization: ecs.ASOrg{Name: p.Org}}
}

func TestEnrichIPv4AndIPv6(t *testing.T) {
	dir := t.TempDir()
	city := geoiptest.WriteCity(t, dir)
	for name, cfg := range map[string]geoip.Config{
		"mmdb":   {CityDB: city, ASNDB: geoiptest.WriteASN(t, dir)},
		"ranges": {CityDB: city, ASNRanges: geoiptest.WriteRanges(t, dir)},
	} {
		db := open(t, cfg)
		for _, addr := range []string{"89.160.20.156", "2a02:cf40:1::7", "::ffff:216.160.83.56"} {
			ip := netip.MustParseAddr(addr)
			var place geoiptest.Place
			for _, p := range geoiptest.Places {
				if netip.MustParsePrefix(p.Network).Contains(ip.Unmap()) {
					place = p
				}
			}
			wantGeo, wantAS := want(place)
			d := &ecs.Document{Source: &ecs.Endpoint{IP: ip}, Destination: &ecs.Endpoint{IP: ip}}
			db.Enrich(d)
			for side, ep := range map[string]*ecs.Endpoint{"source": d.Source, "destination": d.Destination} {
				if ep.Geo == nil || *ep.Geo.Location != *wantGeo.Location || ep.Geo.Location == nil {
					t.Fatalf("%s %s %s: geo %+v", name, addr, side, ep.Geo)
				}
				g := *ep.Geo
				g.Location, wantGeo.Location = nil, nil
				if g != wantGeo || ep.AS == nil || *ep.AS != wantAS {
					t.Errorf("%s %s %s:\n geo %+v as %+v\nwant %+v %+v", name, addr, side, g, ep.AS, wantGeo, wantAS)
				}
				wantGeo, _ = want(place)
			}
		}
		// Not in any database: nothing is added; an endpoint without an IP is left alone.
		d := &ecs.Document{Source: &ecs.Endpoint{IP: netip.MustParseAddr("198.51.100.1")}, Destination: &ecs.Endpoint{Address: "AWS Internal"}}
		db.Enrich(d)
		if d.Source.Geo != nil || d.Source.AS != nil || d.Destination.Geo != nil || d.Destination.AS != nil {
			t.Errorf("%s: unknown addresses enriched: %+v %+v", name, d.Source, d.Destination)
		}
	}
}

// TestRecordValuesKept: GuardDuty reports the remote address's place and network itself; the
// finding's values stay.
func TestRecordValuesKept(t *testing.T) {
	dir := t.TempDir()
	db := open(t, geoip.Config{CityDB: geoiptest.WriteCity(t, dir), ASNDB: geoiptest.WriteASN(t, dir)})
	own := &ecs.Geo{CountryName: "Elsewhere"}
	ownAS := &ecs.AS{Number: 64500}
	d := &ecs.Document{Source: &ecs.Endpoint{IP: netip.MustParseAddr("89.160.20.156"), Geo: own, AS: ownAS}}
	db.Enrich(d)
	if d.Source.Geo != own || *d.Source.Geo != (ecs.Geo{CountryName: "Elsewhere"}) || d.Source.AS != ownAS {
		t.Errorf("the record's own values were replaced: %+v", d.Source)
	}
}

func TestOpenRefusesBadDatabases(t *testing.T) {
	dir := t.TempDir()
	city := geoiptest.WriteCity(t, dir)
	asn := geoiptest.WriteASN(t, dir)
	b, err := os.ReadFile(city)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.mmdb")
	os.WriteFile(truncated, b[:len(b)/3], 0o644)
	corrupt := filepath.Join(dir, "corrupt.mmdb")
	flipped := append([]byte(nil), b...)
	for i := 16; i < len(flipped)/2; i += 7 { // the search tree, ahead of the data and metadata
		flipped[i] ^= 0xff
	}
	os.WriteFile(corrupt, flipped, 0o644)
	text := filepath.Join(dir, "notes.csv")
	os.WriteFile(text, []byte("first,last,asn,name\n"), 0o644)
	num := filepath.Join(dir, "asn-ipv4-num.csv")
	os.WriteFile(num, []byte("16777216,16777471,13335,\"Cloudflare, Inc.\"\n"), 0o644)

	for _, tc := range []struct {
		name  string
		cfg   geoip.Config
		field string
		says  string
	}{
		{"missing", geoip.Config{CityDB: filepath.Join(dir, "absent.mmdb")}, "CityDB", "no such file"},
		{"truncated", geoip.Config{CityDB: truncated}, "CityDB", "not a MaxMind DB file"},
		{"corrupt", geoip.Config{CityDB: corrupt}, "CityDB", "corrupt"},
		{"wrong type", geoip.Config{CityDB: asn}, "CityDB", `"GeoLite2-ASN" database`},
		{"wrong type asn", geoip.Config{ASNDB: city}, "ASNDB", "ASN or ISP"},
		{"csv header only", geoip.Config{ASNRanges: []string{text}}, "ASNRanges", "line 1"},
		{"numeric csv", geoip.Config{ASNRanges: []string{num}}, "ASNRanges", "-num"},
		{"csv missing", geoip.Config{ASNRanges: []string{filepath.Join(dir, "absent.csv")}}, "ASNRanges", "no such file"},
		{"both asn", geoip.Config{ASNDB: asn, ASNRanges: []string{text}}, "ASNDB", "not both"},
	} {
		_, err := geoip.Open(tc.cfg)
		var fe *geoip.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v (want a %s error saying %q)", tc.name, err, tc.field, tc.says)
		}
	}
}

// TestRealASNRanges reads the full @ip-location-db/asn tables and checks addresses whose
// owners are public knowledge.
func TestRealASNRanges(t *testing.T) {
	dir := geoiptest.ASNDir(t)
	db := open(t, geoip.Config{ASNRanges: []string{filepath.Join(dir, "asn-ipv4.csv"), filepath.Join(dir, "asn-ipv6.csv")}})
	t.Logf("loaded %s", db.Source)
	for addr, asn := range map[string]int64{
		"8.8.8.8": 15169, "1.1.1.1": 13335, "2001:4860:4860::8888": 15169, "2606:4700:4700::1111": 13335,
	} {
		as, ok := db.ASN(netip.MustParseAddr(addr))
		if !ok || as.Number != asn || as.Organization.Name == "" {
			t.Errorf("%s: %+v %v, want AS%d", addr, as, ok, asn)
		}
	}
	if as, ok := db.ASN(netip.MustParseAddr("10.1.2.3")); ok {
		t.Errorf("a private address has an AS: %+v", as)
	}
}

func BenchmarkEnrich(b *testing.B) {
	dir := b.TempDir()
	db, err := geoip.Open(geoip.Config{CityDB: geoiptest.WriteCity(b, dir), ASNDB: geoiptest.WriteASN(b, dir)})
	if err != nil {
		b.Fatal(err)
	}
	ip := netip.MustParseAddr("89.160.20.156")
	b.ReportAllocs()
	for b.Loop() {
		d := ecs.Document{Source: &ecs.Endpoint{IP: ip}}
		db.Enrich(&d)
	}
}
