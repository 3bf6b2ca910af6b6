package pipeline

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/plugin/config"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/geoip/geoiptest"
)

// A missing or corrupt database stops Init with the key and the reason; nothing is started.
func TestOpenRefusesBadGeoDatabases(t *testing.T) {
	dir := t.TempDir()
	city := geoiptest.WriteCity(t, dir)
	b, _ := os.ReadFile(city)
	corrupt := filepath.Join(dir, "corrupt.mmdb")
	os.WriteFile(corrupt, b[:len(b)/2], 0o600)
	for _, tc := range []struct {
		props config.Map
		says  string
	}{
		{config.Map{"geo_city_db": corrupt}, "geo_city_db: " + corrupt + ": not a MaxMind DB file"},
		{config.Map{"geo_asn_db": city}, "geo_asn_db: " + city + ": is a \"GeoLite2-City\" database"},
	} {
		tc.props["es_hosts"] = "http://127.0.0.1:1"
		cfg, err := config.Load(tc.props)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(cfg, hclog.NewNullLogger()); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%v: %v, want %q", tc.props, err, tc.says)
		}
	}
	// A file that is not there is refused by Load already.
	if _, err := config.Load(config.Map{"geo_city_db": filepath.Join(dir, "none.mmdb")}); err == nil || !strings.Contains(err.Error(), "geo_city_db: ") {
		t.Errorf("missing database: %v", err)
	}
}

// The databases are reloaded when replaced; a broken replacement is reported and the loaded
// ones kept.
func TestGeoHotReload(t *testing.T) {
	dir := t.TempDir()
	city := geoiptest.WriteCity(t, dir)
	live := filepath.Join(dir, "live", "asn-ipv4.csv")
	os.MkdirAll(filepath.Dir(live), 0o700)
	replace := func(text string) {
		tmp := live + ".tmp"
		if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, live); err != nil { // as updaters publish
			t.Fatal(err)
		}
	}
	replace("89.160.20.0,89.160.20.255,29518,Bredband2 AB\n")
	cfg, err := config.Load(config.Map{"geo_city_db": city, "geo_asn_csv": live, "geo_reload_interval": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	var logs flblogtest.Buffer
	g, err := openGeo(cfg, hclog.New(&hclog.LoggerOptions{Output: &logs}))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	asn := func() int64 {
		d := &ecs.Document{Source: &ecs.Endpoint{IP: netip.MustParseAddr("89.160.20.156")}}
		g.Enrich(d)
		if d.Source.AS == nil {
			return 0
		}
		return d.Source.AS.Number
	}
	if asn() != 29518 {
		t.Fatalf("before the reload: AS%d", asn())
	}
	replace("89.160.20.0,89.160.20.255,64512,Renumbered\n")
	waitFor(t, func() bool { return asn() == 64512 }, "the replaced ranges to be loaded")
	replace("not,a,range,file\n")
	waitFor(t, func() bool { return strings.Contains(logs.String(), "not reloaded") }, "the broken file to be reported")
	time.Sleep(1100 * time.Millisecond) // one more check: still the loaded ranges
	if asn() != 64512 || g.DB().Source == "" {
		t.Errorf("after a broken replacement: AS%d", asn())
	}
}
