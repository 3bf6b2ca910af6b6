package kerberos

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	krb "github.com/siemscore/siemscore/models/kerberos"
)

// AttackKind is a kind of planted attack.
type AttackKind uint8

// Attack kinds.
const (
	Spray AttackKind = iota + 1
	Kerberoast
	BruteForce
)

func (k AttackKind) String() string {
	switch k {
	case Spray:
		return "spray"
	case Kerberoast:
		return "kerberoast"
	case BruteForce:
		return "brute_force"
	}
	return fmt.Sprintf("attack(%d)", k)
}

// Attack is one attack to plant.
type Attack struct {
	Kind  AttackKind
	Start time.Duration // offset from Config.Start
	Size  int           // accounts sprayed, SPNs requested, or passwords tried
}

// Config describes the domain and the period to generate. Zero fields take the defaults.
type Config struct {
	Seed            uint64
	Start           time.Time     // default Monday 2024-03-04 00:00 UTC
	Duration        time.Duration // default 24h
	Realm           string        // default CORP.EXAMPLE
	Workstations    int           // default 600
	AppServers      int           // default 24
	FileServers     int           // default 6
	TerminalServers int           // default 3
	DCs             int           // default 3
	Attacks         []Attack
}

func (c Config) withDefaults() Config {
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	}
	if c.Duration <= 0 {
		c.Duration = 24 * time.Hour
	}
	if c.Realm == "" {
		c.Realm = "CORP.EXAMPLE"
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Workstations, 600)
	def(&c.AppServers, 24)
	def(&c.FileServers, 6)
	def(&c.TerminalServers, 3)
	def(&c.DCs, 3)
	return c
}

// StandardAttacks plants one attack of each kind during the working hours of the day that
// starts at offset day, at sizes a real tool run would have.
func StandardAttacks(day time.Duration) []Attack {
	return []Attack{
		{Kind: Spray, Start: day + 10*time.Hour + 20*time.Minute, Size: 80},
		{Kind: Kerberoast, Start: day + 14*time.Hour + 5*time.Minute, Size: 40},
		{Kind: BruteForce, Start: day + 16*time.Hour + 40*time.Minute, Size: 150},
	}
}

// Record is one kerberos.log row.
type Record struct {
	krb.Request
	UID         string
	OrigPort    uint16
	RespPort    uint16
	Till        time.Time // requested ticket end
	Forwardable bool
	Renewable   bool
}

// Planted is one attack as generated.
type Planted struct {
	Kind       AttackKind
	Host       netip.Addr
	Start, End time.Time
	Requests   int
}

// Dataset is the generated traffic.
type Dataset struct {
	Records []Record // in time order
	Planted []Planted
}

// Requests returns the records as model requests.
func (d *Dataset) Requests() []krb.Request {
	out := make([]krb.Request, len(d.Records))
	for i := range d.Records {
		out[i] = d.Records[i].Request
	}
	return out
}

// Generate produces the traffic Config describes.
func Generate(cfg Config) (*Dataset, error) {
	cfg = cfg.withDefaults()
	if cfg.Workstations < len(cfg.Attacks) {
		return nil, fmt.Errorf("models/synth/kerberos: %d attacks need as many workstations, have %d", len(cfg.Attacks), cfg.Workstations)
	}
	for _, a := range cfg.Attacks {
		if a.Size <= 0 || a.Start < 0 || a.Start >= cfg.Duration || a.Kind < Spray || a.Kind > BruteForce {
			return nil, fmt.Errorf("models/synth/kerberos: invalid attack %+v for a %v period", a, cfg.Duration)
		}
	}
	g := newGen(cfg)
	for day := time.Duration(0); day < cfg.Duration; day += 24 * time.Hour {
		for i := range g.dcs {
			g.dcDay(i, day)
		}
		for i := range g.apps {
			g.appDay(i, day)
		}
		for i := range g.files {
			g.fileServerDay(i, day)
		}
		for i := range g.terms {
			g.terminalDay(i, day)
		}
		for i := range g.stations {
			g.workstationDay(i, day)
		}
	}
	// Attackers are distinct workstations, drawn after the normal traffic so that adding an
	// attack never changes the benign records.
	hosts := g.rng.Perm(cfg.Workstations)
	var planted []Planted
	for i, a := range cfg.Attacks {
		planted = append(planted, g.attack(a, hosts[i]))
	}

	recs := slices.DeleteFunc(g.recs, func(r Record) bool {
		return r.Time.Before(cfg.Start) || !r.Time.Before(cfg.Start.Add(cfg.Duration))
	})
	slices.SortStableFunc(recs, func(a, b Record) int { return a.Time.Compare(b.Time) })
	for i := range recs {
		recs[i].UID = g.uid()
		recs[i].OrigPort = uint16(49152 + g.rng.IntN(16384))
	}
	return &Dataset{Records: recs, Planted: planted}, nil
}

type station struct {
	addr      netip.Addr
	name      string // machine name, e.g. WS0001
	user      string
	dc        int      // preferred domain controller
	services  []string // the user's usual services
	alwaysOn  bool
	hoursFrom float64 // usual arrival, hours after midnight
	hoursTo   float64
}

type app struct {
	addr     netip.Addr
	name     string
	account  string
	backends []string
	rate     float64 // requests per hour
	stale    bool    // runs a task whose stored password is out of date
}

type gen struct {
	cfg      Config
	rng      *rand.Rand
	recs     []Record
	dcs      []netip.Addr
	dcNames  []string
	stations []station
	apps     []app
	files    []netip.Addr
	terms    []netip.Addr
	common   []string        // services most users use
	spns     []string        // service-account SPNs: what kerberoasting asks for
	legacy   map[string]bool // SPNs whose accounts only have RC4 keys: every ticket for them is RC4
	tsUsers  []string        // users who only log on to terminal servers
}

func newGen(cfg Config) *gen {
	g := &gen{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6b7262))}
	dom := strings.ToLower(cfg.Realm)
	for i := range cfg.DCs {
		g.dcs = append(g.dcs, netip.AddrFrom4([4]byte{10, 0, 0, byte(10 + i)}))
		g.dcNames = append(g.dcNames, fmt.Sprintf("dc%02d.%s", i+1, dom))
	}
	for i := range cfg.FileServers {
		g.files = append(g.files, netip.AddrFrom4([4]byte{10, 0, 1, byte(10 + i)}))
		g.common = append(g.common, fmt.Sprintf("cifs/fs%02d.%s", i+1, dom))
	}
	g.common = append(g.common,
		"http/intranet."+dom, "exchangeMDB/mail01."+dom, "http/wiki."+dom, "http/proxy."+dom,
		"ldap/"+g.dcNames[0], "cifs/"+g.dcNames[0])
	for i := range cfg.AppServers {
		a := app{
			addr:    netip.AddrFrom4([4]byte{10, 0, 2, byte(10 + i)}),
			name:    fmt.Sprintf("app%02d", i+1),
			account: fmt.Sprintf("svc_app%02d", i+1),
			rate:    10 + g.rng.Float64()*50,
		}
		g.spns = append(g.spns,
			fmt.Sprintf("MSSQLSvc/sql%02d.%s:1433", i+1, dom),
			fmt.Sprintf("HTTP/app%02d.%s", i+1, dom),
			fmt.Sprintf("HTTP/api%02d.%s", i+1, dom))
		g.apps = append(g.apps, a)
	}
	for i := range g.apps {
		n := 2 + g.rng.IntN(4)
		for range n {
			g.apps[i].backends = append(g.apps[i].backends, g.spns[g.rng.IntN(len(g.spns))])
		}
	}
	g.apps[g.rng.IntN(len(g.apps))].stale = true
	g.legacy = map[string]bool{}
	for range 2 {
		g.legacy[g.spns[g.rng.IntN(len(g.spns))]] = true
	}
	for i := range cfg.TerminalServers {
		g.terms = append(g.terms, netip.AddrFrom4([4]byte{10, 0, 3, byte(10 + i)}))
	}
	for i := range cfg.Workstations {
		s := station{
			addr:      netip.AddrFrom4([4]byte{10, 1 + byte(i/250), byte(i%250) / 50, byte(1 + i%50)}),
			name:      fmt.Sprintf("WS%04d", i+1),
			user:      fmt.Sprintf("user%04d", i+1),
			dc:        g.rng.IntN(cfg.DCs),
			alwaysOn:  g.rng.Float64() < 0.2,
			hoursFrom: 7 + g.rng.Float64()*2.5,
		}
		s.hoursTo = s.hoursFrom + 7.5 + g.rng.Float64()*2.5
		n := 3 + g.rng.IntN(6)
		for range n {
			if g.rng.Float64() < 0.75 {
				s.services = append(s.services, g.common[g.rng.IntN(len(g.common))])
			} else {
				s.services = append(s.services, g.spns[g.rng.IntN(len(g.spns))])
			}
		}
		g.stations = append(g.stations, s)
	}
	for i := range 150 {
		g.tsUsers = append(g.tsUsers, fmt.Sprintf("tsuser%03d", i+1))
	}
	return g
}

func (g *gen) principal(name string) string { return name + "/" + g.cfg.Realm }

func (g *gen) krbtgt() string { return "krbtgt/" + g.cfg.Realm }

// at is the absolute time of an offset in hours within the day starting at day.
func (g *gen) at(day time.Duration, hours float64) time.Time {
	return g.cfg.Start.Add(day + time.Duration(hours*float64(time.Hour)))
}

// kdc picks the KDC a host talks to: its preferred DC, now and then another.
func (g *gen) kdc(preferred int) netip.Addr {
	if g.rng.Float64() < 0.1 {
		return g.dcs[g.rng.IntN(len(g.dcs))]
	}
	return g.dcs[preferred]
}

func (g *gen) emit(r Record) {
	if r.RespPort == 0 {
		r.RespPort = 88
	}
	g.recs = append(g.recs, r)
}

// tgs records a service ticket request; a few fail as real ones do (an SPN that no longer
// exists, a clock skew, a ticket the KDC will not renew).
func (g *gen) tgs(t time.Time, src, kdc netip.Addr, client, service string) {
	r := Record{Request: krb.Request{Time: t, Source: src, Dest: kdc, Client: client, Service: service, RequestType: "TGS", Success: true}}
	switch p := g.rng.Float64(); {
	case p < 0.004:
		r.Success, r.ErrorMsg = false, "KDC_ERR_S_PRINCIPAL_UNKNOWN"
	case p < 0.006:
		r.Success, r.ErrorMsg = false, "KRB_AP_ERR_SKEW"
	case p < 0.010:
		r.Success, r.ErrorMsg = false, "KDC_ERR_BADOPTION"
	default:
		r.Cipher, r.Forwardable, r.Renewable = "aes256-cts-hmac-sha1-96", true, true
		if g.legacy[service] {
			r.Cipher = "rc4-hmac"
		}
		r.Till = t.Add(10 * time.Hour)
	}
	g.emit(r)
}

// logon is the AS exchange of an interactive or machine logon: the preauth-less first request
// the KDC answers with PREAUTH_REQUIRED, then the real one. typo is the chance of first
// getting the password wrong once or twice.
func (g *gen) logon(t time.Time, src, kdc netip.Addr, client string, typo float64) time.Time {
	if g.rng.Float64() < typo {
		for range 1 + g.rng.IntN(2) {
			g.emit(Record{Request: krb.Request{Time: t, Source: src, Dest: kdc, Client: client, Service: g.krbtgt(),
				RequestType: "AS", ErrorMsg: krb.ErrPreauthFailed}})
			t = t.Add(time.Duration(3+g.rng.IntN(10)) * time.Second)
		}
	}
	g.emit(Record{Request: krb.Request{Time: t, Source: src, Dest: kdc, Client: client, Service: g.krbtgt(),
		RequestType: "AS", ErrorMsg: krb.ErrPreauthRequired}})
	t = t.Add(time.Duration(g.rng.IntN(40)) * time.Millisecond)
	g.emit(Record{Request: krb.Request{Time: t, Source: src, Dest: kdc, Client: client, Service: g.krbtgt(),
		RequestType: "AS", Success: true, Cipher: "aes256-cts-hmac-sha1-96"}, Till: t.Add(10 * time.Hour),
		Forwardable: true, Renewable: true})
	return t
}

// poisson returns the arrival times, in hours, of a Poisson process of the given hourly rate
// between from and to.
func (g *gen) poisson(rate, from, to float64) []float64 {
	var out []float64
	for t := from + g.rng.ExpFloat64()/rate; t < to; t += g.rng.ExpFloat64() / rate {
		out = append(out, t)
	}
	return out
}

func (g *gen) machineRefresh(day time.Duration, src netip.Addr, machine string, dc int, from, to float64) {
	client := g.principal(machine + "$")
	g.logon(g.at(day, from), src, g.dcs[dc], client, 0)
	for h := from + g.rng.Float64()*0.3; h < to; h += 1.25 + g.rng.Float64()*0.5 {
		kdc := g.kdc(dc)
		g.tgs(g.at(day, h), src, kdc, client, "ldap/"+g.dcNames[dc])
		g.tgs(g.at(day, h+0.001), src, kdc, client, "cifs/"+g.dcNames[dc])
	}
}

func (g *gen) workstationDay(i int, day time.Duration) {
	s := &g.stations[i]
	from, to := s.hoursFrom+g.rng.NormFloat64()*0.3, s.hoursTo+g.rng.NormFloat64()*0.3
	if s.alwaysOn {
		g.machineRefresh(day, s.addr, s.name, s.dc, g.rng.Float64(), 24)
	} else {
		g.machineRefresh(day, s.addr, s.name, s.dc, from-0.1, to)
	}
	if g.rng.Float64() < 0.08 {
		return // away today
	}
	user := g.principal(s.user)
	t := g.logon(g.at(day, from), s.addr, g.dcs[s.dc], user, 0.04)
	g.tgs(t.Add(time.Second), s.addr, g.dcs[s.dc], user, "host/"+strings.ToLower(s.name)+"."+strings.ToLower(g.cfg.Realm))
	if g.rng.Float64() < 0.5 { // unlock after lunch
		g.logon(g.at(day, 12+g.rng.Float64()*1.5), s.addr, g.dcs[s.dc], user, 0.03)
	}
	rate := 2 + g.rng.Float64()*6
	for _, h := range g.poisson(rate, from, to) {
		svc := s.services[g.rng.IntN(len(s.services))]
		t := g.at(day, h)
		g.tgs(t, s.addr, g.kdc(s.dc), user, svc)
		if fs, ok := g.fileServer(svc); ok && g.rng.Float64() < 0.3 {
			g.emit(Record{Request: krb.Request{Time: t.Add(20 * time.Millisecond), Source: s.addr, Dest: fs, Client: user,
				Service: svc, RequestType: "AP", Success: true}, RespPort: 445})
		}
	}
}

// fileServer returns the file server a cifs/fsNN SPN names.
func (g *gen) fileServer(svc string) (netip.Addr, bool) {
	var n int
	if _, err := fmt.Sscanf(svc, "cifs/fs%02d.", &n); err != nil || n < 1 || n > len(g.files) {
		return netip.Addr{}, false
	}
	return g.files[n-1], true
}

func (g *gen) appDay(i int, day time.Duration) {
	a := &g.apps[i]
	dc := i % len(g.dcs)
	g.machineRefresh(day, a.addr, strings.ToUpper(a.name), dc, g.rng.Float64(), 24)
	svc := g.principal(a.account)
	for h := g.rng.Float64() * 10; h < 24; h += 10 {
		g.logon(g.at(day, h), a.addr, g.dcs[dc], svc, 0)
	}
	// Business hours double the load.
	for _, h := range g.poisson(a.rate, 0, 24) {
		if (h < 8 || h > 18) && g.rng.Float64() < 0.5 {
			continue
		}
		g.tgs(g.at(day, h), a.addr, g.kdc(dc), svc, a.backends[g.rng.IntN(len(a.backends))])
	}
	if a.stale {
		task := g.principal("svc_legacy")
		for _, h := range g.poisson(3, 0, 24) {
			g.emit(Record{Request: krb.Request{Time: g.at(day, h), Source: a.addr, Dest: g.dcs[dc], Client: task,
				Service: g.krbtgt(), RequestType: "AS", ErrorMsg: krb.ErrPreauthFailed}})
		}
	}
}

func (g *gen) fileServerDay(i int, day time.Duration) {
	g.machineRefresh(day, g.files[i], fmt.Sprintf("FS%02d", i+1), i%len(g.dcs), g.rng.Float64(), 24)
}

func (g *gen) terminalDay(i int, day time.Duration) {
	src := g.terms[i]
	dc := i % len(g.dcs)
	g.machineRefresh(day, src, fmt.Sprintf("TS%02d", i+1), dc, g.rng.Float64(), 24)
	sessions := 25 + g.rng.IntN(25)
	for range sessions {
		user := g.principal(g.tsUsers[g.rng.IntN(len(g.tsUsers))])
		from := 7.5 + g.rng.Float64()*9
		t := g.logon(g.at(day, from), src, g.kdc(dc), user, 0.05)
		g.tgs(t.Add(time.Second), src, g.kdc(dc), user, "host/"+fmt.Sprintf("ts%02d.", i+1)+strings.ToLower(g.cfg.Realm))
		for _, h := range g.poisson(3, from, from+1+g.rng.Float64()*3) {
			g.tgs(g.at(day, h), src, g.kdc(dc), user, g.common[g.rng.IntN(len(g.common))])
		}
	}
}

func (g *gen) dcDay(i int, day time.Duration) {
	src := g.dcs[i]
	g.machineRefresh(day, src, fmt.Sprintf("DC%02d", i+1), i, g.rng.Float64(), 24)
	client := g.principal(fmt.Sprintf("DC%02d$", i+1))
	for h := g.rng.Float64() * 0.25; h < 24; h += 0.25 {
		for j, peer := range g.dcs {
			if j != i {
				g.tgs(g.at(day, h), src, peer, client, "E3514235-4B06-11D1-AB04-00C04FC2DCD2/"+g.dcNames[j])
			}
		}
	}
}

// attack plants a onto workstation w.
func (g *gen) attack(a Attack, w int) Planted {
	s := &g.stations[w]
	start := g.cfg.Start.Add(a.Start)
	kdc := g.dcs[s.dc]
	t := start
	p := Planted{Kind: a.Kind, Host: s.addr, Start: start, Requests: a.Size}
	step := func(minS, maxS int) {
		t = t.Add(time.Duration(minS)*time.Second + time.Duration(g.rng.Int64N(int64(maxS-minS)*int64(time.Second))))
	}
	switch a.Kind {
	case Spray:
		for n := range a.Size {
			r := Record{Request: krb.Request{Time: t, Source: s.addr, Dest: kdc, Service: g.krbtgt(), RequestType: "AS"}}
			if g.rng.Float64() < 0.25 {
				r.Client, r.ErrorMsg = g.principal(fmt.Sprintf("guess%04d", n)), krb.ErrPrincipalUnknown
			} else {
				r.Client, r.ErrorMsg = g.principal(g.stations[g.rng.IntN(len(g.stations))].user), krb.ErrPreauthFailed
			}
			g.emit(r)
			step(4, 15)
		}
	case Kerberoast:
		user := g.principal(s.user)
		for _, n := range g.rng.Perm(len(g.spns))[:min(a.Size, len(g.spns))] {
			g.emit(Record{Request: krb.Request{Time: t, Source: s.addr, Dest: kdc, Client: user, Service: g.spns[n],
				RequestType: "TGS", Success: true, Cipher: "rc4-hmac"}, Till: t.Add(10 * time.Hour), Forwardable: true, Renewable: true})
			step(1, 4)
		}
		p.Requests = min(a.Size, len(g.spns))
	case BruteForce:
		target := g.principal("adm_" + g.stations[g.rng.IntN(len(g.stations))].user)
		for range a.Size {
			g.emit(Record{Request: krb.Request{Time: t, Source: s.addr, Dest: kdc, Client: target, Service: g.krbtgt(),
				RequestType: "AS", ErrorMsg: krb.ErrPreauthFailed}})
			step(5, 15)
		}
	}
	p.End = t
	return p
}

func (g *gen) uid() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 18)
	b[0] = 'C'
	for i := 1; i < len(b); i++ {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return string(b)
}
