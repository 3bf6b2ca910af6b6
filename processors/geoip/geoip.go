// Package geoip adds where an address is and which network owns it to ECS documents, offline,
// from databases users already have: MaxMind-format .mmdb files (GeoLite2 City or Country for
// source.geo.*, GeoLite2 ASN for source.as.*, or their commercial and DB-IP equivalents) and the
// IP-to-ASN ranges of ip-location-db (@ip-location-db/asn's asn-ipv4.csv and asn-ipv6.csv).
//
// The fields are those Elastic's geoip processor writes (continent, country, region, city,
// location; AS number and organisation), for source.* and destination.*. Values a record
// brings itself (GuardDuty's remoteIpDetails) are kept.
//
// A DB is immutable: reloading opens a new one, and Enricher swaps it in with one pointer store.
package geoip

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/siemscore/siemscore/processors/ecs"
)

// Config names the databases; each may be empty.
type Config struct {
	// CityDB is a .mmdb of type City or Country (GeoLite2-City, GeoIP2-City, DB-IP's City
	// Lite, ...).
	CityDB string
	// ASNDB is a .mmdb of type ASN or ISP (GeoLite2-ASN, GeoIP2-ISP, DB-IP's ASN Lite).
	ASNDB string
	// ASNRanges are CSV files of first,last,asn,organisation rows (ip-location-db's
	// asn-ipv4.csv and asn-ipv6.csv). Excludes ASNDB.
	ASNRanges []string
}

// Enabled reports whether any database is configured.
func (c Config) Enabled() bool { return c.CityDB != "" || c.ASNDB != "" || len(c.ASNRanges) > 0 }

// Files lists every configured file, for watching them.
func (c Config) Files() []string {
	var out []string
	for _, f := range append([]string{c.CityDB, c.ASNDB}, c.ASNRanges...) {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// FieldError is a problem with one database; Field is CityDB, ASNDB or ASNRanges, so a caller
// reading them under names of its own can say which setting is wrong.
type FieldError struct {
	Field, Path string
	Err         error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Path + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// DB is an opened set of databases. It is safe for concurrent use.
type DB struct {
	city, asn *maxminddb.Reader
	ranges    *Ranges
	// cache holds the answers for recently seen addresses: a trail's addresses repeat, and
	// decoding a City record costs a few microseconds.
	cache *lru.Cache[netip.Addr, answer]
	// Source describes what was loaded, for log lines.
	Source string
}

// answer is what the databases say about one address.
type answer struct {
	geo          ecs.Geo
	point        ecs.GeoPoint
	as           ecs.AS
	geoOK, asnOK bool
}

// cacheSize bounds the answers kept per DB (about 200 bytes each).
const cacheSize = 16384

// Open reads and checks every configured database: a missing, unreadable, corrupt or
// wrong-typed file is an error naming its setting.
func Open(c Config) (*DB, error) {
	if c.ASNDB != "" && len(c.ASNRanges) > 0 {
		return nil, &FieldError{Field: "ASNDB", Path: c.ASNDB, Err: errors.New("set either an ASN .mmdb or ASN ranges, not both")}
	}
	cache, err := lru.New[netip.Addr, answer](cacheSize)
	if err != nil {
		return nil, err // only for a size below 1
	}
	db := &DB{cache: cache}
	var parts []string
	if c.CityDB != "" {
		if db.city, err = openMMDB(c.CityDB, "City", "Country"); err != nil {
			return nil, &FieldError{Field: "CityDB", Path: c.CityDB, Err: err}
		}
		parts = append(parts, describe(c.CityDB, db.city))
	}
	if c.ASNDB != "" {
		if db.asn, err = openMMDB(c.ASNDB, "ASN", "ISP"); err != nil {
			return nil, &FieldError{Field: "ASNDB", Path: c.ASNDB, Err: err}
		}
		parts = append(parts, describe(c.ASNDB, db.asn))
	}
	if len(c.ASNRanges) > 0 {
		if db.ranges, err = LoadRanges(c.ASNRanges...); err != nil {
			return nil, err
		}
		parts = append(parts, fmt.Sprintf("%s (%d IPv4 and %d IPv6 ranges)", strings.Join(c.ASNRanges, ","), db.ranges.Len4(), db.ranges.Len6()))
	}
	db.Source = strings.Join(parts, "; ")
	return db, nil
}

// openMMDB reads a .mmdb into memory (a memory-mapped file that an updater rewrote in place
// would crash the process with SIGBUS), verifies its whole structure, and checks that its type
// names one of kinds.
func openMMDB(path string, kinds ...string) (*maxminddb.Reader, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("not a MaxMind DB file: %w", err)
	}
	if err := r.Verify(); err != nil {
		return nil, fmt.Errorf("corrupt MaxMind DB file: %w", err)
	}
	typ := r.Metadata.DatabaseType
	for _, k := range kinds {
		if strings.Contains(typ, k) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("is a %q database; this setting takes a %s database", typ, strings.Join(kinds, " or "))
}

func describe(path string, r *maxminddb.Reader) string {
	return fmt.Sprintf("%s (%s, built %s)", path, r.Metadata.DatabaseType, r.Metadata.BuildTime().UTC().Format("2006-01-02"))
}

// cityRecord is the part of a City or Country record the ECS fields take, in English as
// Elastic's geoip processor writes them.
type cityRecord struct {
	City struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
	Continent struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"continent"`
	Country struct {
		Names   names  `maxminddb:"names"`
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		Names   names  `maxminddb:"names"`
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

type names struct {
	EN string `maxminddb:"en"`
}

type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// Geo returns the location of ip; ok is false when the database has none (or none is loaded).
func (db *DB) Geo(ip netip.Addr) (geo ecs.Geo, ok bool) {
	if db == nil || db.city == nil || !ip.IsValid() {
		return geo, false
	}
	var rec cityRecord
	res := db.city.Lookup(ip.Unmap())
	if !res.Found() || res.Decode(&rec) != nil {
		return geo, false
	}
	geo.ContinentName = rec.Continent.Names.EN
	geo.CountryName = rec.Country.Names.EN
	geo.CountryISOCode = rec.Country.ISOCode
	geo.CityName = rec.City.Names.EN
	if len(rec.Subdivisions) > 0 {
		s := rec.Subdivisions[0]
		geo.RegionName = s.Names.EN
		if s.ISOCode != "" && rec.Country.ISOCode != "" {
			geo.RegionISOCode = rec.Country.ISOCode + "-" + s.ISOCode // as Elastic writes it: SE-E
		}
	}
	if lat, lon := rec.Location.Latitude, rec.Location.Longitude; lat != nil && lon != nil {
		geo.Location = &ecs.GeoPoint{Lat: *lat, Lon: *lon}
	}
	return geo, geo != (ecs.Geo{})
}

// ASN returns the autonomous system that announces ip; ok is false when none is known. It is
// the lookup the enrichment uses, offered to models that want the network owner as a feature.
func (db *DB) ASN(ip netip.Addr) (as ecs.AS, ok bool) {
	if db == nil || !ip.IsValid() {
		return as, false
	}
	ip = ip.Unmap()
	switch {
	case db.asn != nil:
		var rec asnRecord
		res := db.asn.Lookup(ip)
		if !res.Found() || res.Decode(&rec) != nil || rec.Number == 0 {
			return as, false
		}
		return ecs.AS{Number: int64(rec.Number), Organization: ecs.ASOrg{Name: rec.Org}}, true
	case db.ranges != nil:
		n, org, found := db.ranges.Lookup(ip)
		if !found {
			return as, false
		}
		return ecs.AS{Number: int64(n), Organization: ecs.ASOrg{Name: org}}, true
	}
	return as, false
}

// Enrich fills the geo and AS fields of d's source and destination from their IPs, where d
// does not have them already.
func (db *DB) Enrich(d *ecs.Document) {
	if db == nil {
		return
	}
	db.endpoint(d.Source)
	db.endpoint(d.Destination)
}

func (db *DB) endpoint(ep *ecs.Endpoint) {
	if ep == nil || !ep.IP.IsValid() || ep.Geo != nil && ep.AS != nil {
		return
	}
	a, ok := db.cache.Get(ep.IP)
	if !ok {
		a.geo, a.geoOK = db.Geo(ep.IP)
		a.as, a.asnOK = db.ASN(ep.IP)
		if a.geo.Location != nil {
			a.point = *a.geo.Location
		}
		db.cache.Add(ep.IP, a)
	}
	if ep.Geo == nil && a.geoOK {
		g := a.geo
		if g.Location != nil {
			// Each document gets its own copy: the cached answer is shared.
			p := a.point
			g.Location = &p
		}
		ep.Geo = &g
	}
	if ep.AS == nil && a.asnOK {
		as := a.as
		ep.AS = &as
	}
}

// Enricher holds the current DB; Swap replaces it while Enrich calls go on. The zero value
// enriches nothing.
type Enricher struct {
	cur atomic.Pointer[DB]
}

// NewEnricher returns an Enricher holding db.
func NewEnricher(db *DB) *Enricher {
	e := &Enricher{}
	e.cur.Store(db)
	return e
}

// Enrich enriches d with the current DB.
func (e *Enricher) Enrich(d *ecs.Document) { e.cur.Load().Enrich(d) }

// DB returns the current DB.
func (e *Enricher) DB() *DB { return e.cur.Load() }

// Swap makes db the current DB.
func (e *Enricher) Swap(db *DB) { e.cur.Store(db) }
