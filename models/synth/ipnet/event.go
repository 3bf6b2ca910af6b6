// Package ipnet generates deterministic synthetic (principal, IP address) activity with planted
// anomalies, for measuring the IP-anomaly model and for demos and end-to-end tests:
//
//   - Tutorial reproduces the generative scheme of the SageMaker IP Insights tutorial over an
//     ASN table the generator synthesises (IPv4 only), the data the workshop users know.
//   - Org simulates organisations whose members share network pools (offices, VPN egress,
//     cloud NAT), home and mobile ISPs, travel, service principals and IPv6, the structure a
//     per-principal memory cannot see but an organisation-wide model can.
//
// Every generator is deterministic for its seed: the same configuration always yields the same
// events, byte for byte once rendered (see WriteCloudTrail).
package ipnet

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// Source says what produced an event, so evaluations can slice results by cause.
type Source uint8

// Event sources. Attack* events are the planted anomalies.
const (
	SourceHome           Source = iota // the principal's home network
	SourceWork                         // the principal's work network (tutorial) or usual office
	SourceTravel                       // a network the principal visits while travelling
	SourceOtherOffice                  // another office of the principal's organisation
	SourceVPN                          // the organisation's VPN egress pool
	SourceMobile                       // a mobile carrier (carrier-grade NAT)
	SourceService                      // a service principal calling from its organisation's cloud NAT
	SourceAttackRandom                 // attack: a random address
	SourceAttackOtherOrg               // attack: an address from another organisation's networks
)

var sourceNames = [...]string{"home", "work", "travel", "other_office", "vpn", "mobile", "service", "attack_random", "attack_other_org"}

// String names the source.
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "unknown"
}

// Attack reports whether the source is a planted anomaly.
func (s Source) Attack() bool { return s >= SourceAttackRandom }

// Identity is an AWS principal as CloudTrail's userIdentity describes it.
type Identity struct {
	Type      string // IAMUser or AssumedRole
	AccountID string
	// PrincipalID is the stable part of userIdentity.principalId: an IAM user's ID (AIDA…) or
	// a role's ID (AROA…), which CloudTrail suffixes with ":<session name>" for assumed roles.
	PrincipalID string
	Name        string // user or role name
}

// Event is one observation of a principal at an address.
type Event struct {
	Time     time.Time
	Identity *Identity
	// Session is the role session name of an assumed-role event (empty for IAM users).
	Session string
	IP      netip.Addr
	Source  Source
}

// Principal returns userIdentity.principalId as CloudTrail writes it.
func (e *Event) Principal() string {
	if e.Session == "" {
		return e.Identity.PrincipalID
	}
	return e.Identity.PrincipalID + ":" + e.Session
}

// Dataset is a generated scenario split in time: training events before Split, test events
// after it, and planted attacks inside the test window.
type Dataset struct {
	Train   []Event
	Test    []Event
	Attacks []Event
	Split   time.Time
}

func sortByTime(ev []Event) {
	slices.SortStableFunc(ev, func(a, b Event) int { return a.Time.Compare(b.Time) })
}

// split moves events to Train or Test by time and sorts both.
func (d *Dataset) split(all []Event) {
	for _, e := range all {
		if e.Time.Before(d.Split) {
			d.Train = append(d.Train, e)
		} else {
			d.Test = append(d.Test, e)
		}
	}
	sortByTime(d.Train)
	sortByTime(d.Test)
	sortByTime(d.Attacks)
}

// stream returns an independent generator for one purpose, so that e.g. changing the number of
// attacks never changes the normal traffic.
func stream(seed uint64, purpose, index uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, purpose<<48^index))
}

// AWSID renders an AWS unique ID (prefix + 17 characters of AWS's ID alphabet) from r.
func AWSID(r *rand.Rand, prefix string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := []byte(prefix)
	for range 17 {
		b = append(b, alphabet[r.IntN(len(alphabet))])
	}
	return string(b)
}

// randomTime returns a uniformly random time in [start, start+span).
func randomTime(r *rand.Rand, start time.Time, span time.Duration) time.Time {
	return start.Add(time.Duration(r.Int64N(int64(span))))
}

// v4 builds an IPv4 address from its 32-bit value.
func v4(n uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// randomGlobalV4 returns a uniformly random public unicast IPv4 address.
func randomGlobalV4(r *rand.Rand) netip.Addr {
	for {
		a := v4(r.Uint32())
		if a.IsGlobalUnicast() && !a.IsPrivate() && a.As4()[0] < 224 && a.As4()[0] != 100 {
			return a
		}
	}
}

// randomGlobalV6 returns a uniformly random address in 2000::/3 (global unicast).
func randomGlobalV6(r *rand.Rand) netip.Addr {
	var b [16]byte
	hi, lo := r.Uint64(), r.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[0] = 0x20 | b[0]&0x1f
	return netip.AddrFrom16(b)
}
