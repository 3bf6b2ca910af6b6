package train

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/netip"
	"slices"
	"time"

	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/models/kerberos"
	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/identity"
)

// Collector accumulates training data. Not safe for concurrent use.
type Collector struct {
	ip    *ipanomaly.Dataset
	krb   []kerberos.Request
	calls *periodicity.Counts
	// krbSum and callSum fingerprint the Kerberos requests and API calls in arrival order, as
	// ipanomaly.Dataset does for the pairs: the bundle header's fingerprint combines them.
	krbSum, callSum hash.Hash

	first, last time.Time // event times of everything collected that has one
	stats       Stats
	// sessionKeys keys API calls by session (see SessionKeys).
	sessionKeys bool
}

// Stats counts what a Collector was given and what it kept.
type Stats struct {
	Records          int              // records offered to Add
	Kinds            map[ecs.Kind]int // records offered to Add, by kind
	IPPairs          int
	KerberosRequests int
	APICalls         int
	// Unused counts, per "<model>: <reason>", records that could not give a model anything
	// (for instance "ip: source_aws_service"), with the scorer's reason codes.
	Unused map[string]int
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{
		ip:      ipanomaly.NewDataset(),
		calls:   periodicity.NewCounts(),
		krbSum:  sha256.New(),
		callSum: sha256.New(),
		stats:   Stats{Kinds: map[ecs.Kind]int{}, Unused: map[string]int{}},
	}
}

// SessionKeys keys the API calls Add collects by the principal as the record names it, an
// assumed role's session included, instead of by the role: the periodicity model's
// Config.SessionKeys, which must agree. Call it before Add.
func (c *Collector) SessionKeys(on bool) { c.sessionKeys = on }

// Stats returns the counts so far. The maps are shared: do not modify them.
func (c *Collector) Stats() Stats { return c.stats }

// Add takes what the models learn from out of one processed record: CloudTrail records give
// the IP model their (entity, source address) pair and the periodicity model their call;
// Kerberos records give the host model their request. GuardDuty findings are what the IP model
// is asked about, not what it learns from, and other records have no model.
func (c *Collector) Add(rec *ecs.Record) {
	if rec == nil || rec.Doc == nil {
		return
	}
	c.stats.Records++
	c.stats.Kinds[rec.Kind]++
	// A record without a usable event time was stamped with the time it was read: it has a
	// place in no day's count and no window.
	timed := !slices.Contains(rec.Doc.SiemScore.Issues, ecs.IssueTimestampMissing) && !slices.Contains(rec.Doc.SiemScore.Issues, ecs.IssueTimestampInvalid)
	switch rec.Kind {
	case ecs.KindCloudTrail:
		if pair, reason := score.IPPairOf(rec.Kind, rec.Doc); reason != "" {
			c.stats.Unused["ip: "+reason]++
		} else {
			if !timed {
				pair.Time = time.Time{}
			}
			if err := c.AddPair(pair.Principal, pair.IP, pair.Time); err != nil {
				c.stats.Unused["ip: invalid"]++
			}
		}
		switch call, reason := score.APICallOf(rec.Doc, c.sessionKeys); {
		case reason != "":
			c.stats.Unused["api: "+reason]++
		case !timed:
			c.stats.Unused["api: "+reasonNoTime]++
		case !c.AddCall(call):
			c.stats.Unused["api: "+score.ReasonTimeInvalid]++
		}
		if timed {
			c.seen(rec.Doc.Timestamp)
		}
	case ecs.KindKerberos:
		switch req, reason := score.KerberosRequestOf(rec.Doc); {
		case reason != "":
			c.stats.Unused["kerberos: "+reason]++
		case !timed:
			c.stats.Unused["kerberos: "+reasonNoTime]++
		default:
			c.AddKerberos(req)
		}
	case ecs.KindGuardDuty:
		c.stats.Unused["guardduty: not training data"]++
	default:
		c.stats.Unused[rec.Kind.String()+": no model"]++
	}
}

// reasonNoTime counts records whose event time is missing or unreadable.
const reasonNoTime = "no_event_time"

// AddPair adds one observation of principal p (see score.IPPairOf) at ip at time t (zero when
// unknown: the order of AddPair is then the order of time) for the IP model.
func (c *Collector) AddPair(p identity.Principal, ip netip.Addr, t time.Time) error {
	if err := c.ip.Add(p, ip, t); err != nil {
		return err
	}
	c.stats.IPPairs++
	return nil
}

// AddKerberos adds one Kerberos request for the host model.
func (c *Collector) AddKerberos(req kerberos.Request) {
	c.krb = append(c.krb, req)
	c.stats.KerberosRequests++
	c.seen(req.Time)
	h := c.krbSum
	writeTime(h, req.Time)
	for _, a := range [...]netip.Addr{req.Source, req.Dest} {
		b, _ := a.MarshalBinary()
		writeString(h, string(b))
	}
	for _, s := range [...]string{req.Client, req.Service, req.RequestType, req.ErrorMsg, req.Cipher} {
		writeString(h, s)
	}
	if req.Success {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
}

// AddCall adds one API call for the periodicity model; it reports false when the call cannot be
// placed on a day (no principal or API, or a time outside 1970..9999).
func (c *Collector) AddCall(call periodicity.Call) bool {
	if _, ok := periodicity.DayOf(call.Time); !ok || call.Principal == "" || call.API == "" {
		return false
	}
	c.calls.AddCalls([]periodicity.Call{call})
	c.stats.APICalls++
	c.seen(call.Time)
	writeTime(c.callSum, call.Time)
	writeString(c.callSum, call.Principal)
	writeString(c.callSum, call.API)
	return true
}

// Data returns what was collected, for Train. The Collector must not be used afterwards.
func (c *Collector) Data() *Data {
	d := &Data{IP: c.ip, KerberosRequests: c.krb, API: c.calls, First: c.first, Last: c.last}
	c.krbSum.Sum(d.KerberosSum[:0])
	c.callSum.Sum(d.APISum[:0])
	return d
}

// seen widens the span of event times.
func (c *Collector) seen(t time.Time) {
	if t.IsZero() || t.Year() < 1970 || t.Year() > 9999 {
		return
	}
	if c.first.IsZero() || t.Before(c.first) {
		c.first = t
	}
	if t.After(c.last) {
		c.last = t
	}
}

// writeString writes s with its length, so that field boundaries are part of the fingerprint.
func writeString(h hash.Hash, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

func writeTime(h hash.Hash, t time.Time) {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(t.Unix()))
	binary.LittleEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
	h.Write(b[:])
}
