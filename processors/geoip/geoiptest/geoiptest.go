// Package geoiptest makes small geo and ASN databases for tests, at test time (MaxMind DB files
// with maxmind/mmdbwriter, CSV ranges in ip-location-db's format), and finds the real
// @ip-location-db/asn tables that testdata/install-asn.sh installs.
package geoiptest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Place is one network of the test databases and what they say about it.
type Place struct {
	Network                       string
	Continent, Country, CountryCC string
	Region, RegionCode, City      string
	Lat, Lon                      float64
	ASN                           uint32
	Org                           string
}

// Places are the networks of the test databases. The first is the address of Elastic's
// CloudTrail pipeline tests, with the values its expected output shows.
var Places = []Place{
	{Network: "89.160.20.0/24", Continent: "Europe", Country: "Sweden", CountryCC: "SE", Region: "Östergötland County", RegionCode: "E",
		City: "Linköping", Lat: 58.4167, Lon: 15.6167, ASN: 29518, Org: "Bredband2 AB"},
	{Network: "2a02:cf40::/32", Continent: "Europe", Country: "Norway", CountryCC: "NO", Region: "Oslo County", RegionCode: "03",
		City: "Oslo", Lat: 59.955, Lon: 10.859, ASN: 29695, Org: "Altibox AS"},
	{Network: "216.160.83.0/24", Continent: "North America", Country: "United States", CountryCC: "US", Region: "Washington", RegionCode: "WA",
		City: "Milton", Lat: 47.2513, Lon: -122.3149, ASN: 209, Org: "CenturyLink Communications, LLC"},
}

// WriteCity writes a City database of Places to dir and returns its path.
func WriteCity(tb testing.TB, dir string) string {
	tb.Helper()
	return write(tb, dir, "GeoLite2-City-Test.mmdb", "GeoLite2-City", func(p Place) mmdbtype.Map {
		en := func(s string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(s)} }
		return mmdbtype.Map{
			"city":         mmdbtype.Map{"names": en(p.City)},
			"continent":    mmdbtype.Map{"names": en(p.Continent)},
			"country":      mmdbtype.Map{"names": en(p.Country), "iso_code": mmdbtype.String(p.CountryCC)},
			"subdivisions": mmdbtype.Slice{mmdbtype.Map{"names": en(p.Region), "iso_code": mmdbtype.String(p.RegionCode)}},
			"location":     mmdbtype.Map{"latitude": mmdbtype.Float64(p.Lat), "longitude": mmdbtype.Float64(p.Lon)},
		}
	})
}

// WriteASN writes an ASN database of Places to dir and returns its path.
func WriteASN(tb testing.TB, dir string) string {
	tb.Helper()
	return write(tb, dir, "GeoLite2-ASN-Test.mmdb", "GeoLite2-ASN", func(p Place) mmdbtype.Map {
		return mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(p.ASN),
			"autonomous_system_organization": mmdbtype.String(p.Org),
		}
	})
}

func write(tb testing.TB, dir, name, typ string, record func(Place) mmdbtype.Map) string {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: typ, RecordSize: 24, IPVersion: 6, IncludeReservedNetworks: true,
		Description: map[string]string{"en": "siemscore test database"}, Languages: []string{"en"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range Places {
		_, n, err := net.ParseCIDR(p.Network)
		if err != nil {
			tb.Fatal(err)
		}
		if err := tree.Insert(n, record(p)); err != nil {
			tb.Fatal(err)
		}
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := tree.WriteTo(f); err != nil {
		tb.Fatal(err)
	}
	return path
}

// WriteRanges writes Places as ip-location-db's asn-ipv4.csv and asn-ipv6.csv into dir and
// returns their paths.
func WriteRanges(tb testing.TB, dir string) []string {
	tb.Helper()
	var v4, v6 strings.Builder
	for _, p := range Places {
		_, n, err := net.ParseCIDR(p.Network)
		if err != nil {
			tb.Fatal(err)
		}
		last := make(net.IP, len(n.IP))
		for i := range n.IP {
			last[i] = n.IP[i] | ^n.Mask[i]
		}
		line := fmt.Sprintf("%s,%s,%d,%q\n", n.IP, last, p.ASN, p.Org)
		if n.IP.To4() != nil {
			v4.WriteString(line)
		} else {
			v6.WriteString(line)
		}
	}
	var paths []string
	for name, text := range map[string]string{"asn-ipv4.csv": v4.String(), "asn-ipv6.csv": v6.String()} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// ASNDirEnv names the directory of an @ip-location-db/asn package to use instead of the one
// testdata/install-asn.sh installs.
const ASNDirEnv = "SIEMSCORE_ASN_DIR"

// ASNDir returns the directory holding the real asn-ipv4.csv and asn-ipv6.csv, or skips the
// test saying how to install them.
func ASNDir(tb testing.TB) string {
	tb.Helper()
	dir, err := FindASNDir()
	if err != nil {
		tb.Skip(err)
	}
	return dir
}

// FindASNDir returns $SIEMSCORE_ASN_DIR, else .cache/npm/node_modules/@ip-location-db/asn under
// the module root, or why there is none.
func FindASNDir() (string, error) {
	if d := os.Getenv(ASNDirEnv); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".cache", "npm", "node_modules", "@ip-location-db", "asn")
			if _, err := os.Stat(filepath.Join(p, "asn-ipv4.csv")); err != nil {
				return "", fmt.Errorf("@ip-location-db/asn is not installed at %s (run testdata/install-asn.sh, or set %s)", p, ASNDirEnv)
			}
			return p, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}
