package kerberos

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

// Request is one Kerberos exchange as a sensor saw it: one row of Zeek's kerberos.log, without
// any ECS or Zeek types so that the model can be fed from anything.
type Request struct {
	Time        time.Time
	Source      netip.Addr // id.orig_h: the host asking; features are per source host
	Dest        netip.Addr // id.resp_h: the KDC (or the server of an AP exchange) answering
	Client      string     // client principal, e.g. "alice/CORP.EXAMPLE"
	Service     string     // service principal, e.g. "krbtgt/CORP.EXAMPLE", "MSSQLSvc/db1:1433"
	RequestType string     // "AS", "TGS" (Zeek also logs "AP" for GSSAPI exchanges)
	Success     bool
	ErrorMsg    string // KDC error name, e.g. "KDC_ERR_PREAUTH_FAILED"; empty on success
	Cipher      string // encryption type of the issued ticket, e.g. "aes256-cts-hmac-sha1-96"
}

// KDC error names that the features count (RFC 4120 §7.5.9, as Zeek spells them).
const (
	ErrPreauthRequired  = "KDC_ERR_PREAUTH_REQUIRED"
	ErrPreauthFailed    = "KDC_ERR_PREAUTH_FAILED"
	ErrPrincipalUnknown = "KDC_ERR_C_PRINCIPAL_UNKNOWN"
)

// failed reports whether the request counts as a failure. KDC_ERR_PREAUTH_REQUIRED is not one:
// every Windows client's first AS-REQ of a logon is answered with it by design, so counting it
// would make "failures" a second request counter.
func (r *Request) failed() bool { return !r.Success && r.ErrorMsg != ErrPreauthRequired }

// weakCipher reports a ticket issued with RC4 or (single or triple) DES. Kerberoasting tools ask
// for RC4 service tickets because they crack orders of magnitude faster than AES ones; a domain
// that has moved to AES issues almost none otherwise.
func (r *Request) weakCipher() bool {
	return strings.HasPrefix(r.Cipher, "rc4") || strings.HasPrefix(r.Cipher, "des")
}

// Feature names one per-host statistic; see the package documentation for definitions.
type Feature int

// The features, in vector order. The order is part of the model's binary encoding.
const (
	Requests Feature = iota
	DistinctServers
	TopServerShare
	TopServerLoad
	Failures
	FailureRatio
	DistinctClients
	DistinctServices
	PreauthFailures
	PrincipalUnknown
	TGSShare
	WeakCipherServices
	NumFeatures int = iota
)

var featureNames = [NumFeatures]string{
	Requests:           "requests",
	DistinctServers:    "distinct_servers",
	TopServerShare:     "top_server_share",
	TopServerLoad:      "top_server_load",
	Failures:           "failures",
	FailureRatio:       "failure_ratio",
	DistinctClients:    "distinct_clients",
	DistinctServices:   "distinct_services",
	PreauthFailures:    "preauth_failures",
	PrincipalUnknown:   "principal_unknown",
	TGSShare:           "tgs_share",
	WeakCipherServices: "weak_cipher_services",
}

// isShare marks the features that are already proportions in [0, 1]; every other feature is a
// count and enters the model as log(1+x).
var isShare = [NumFeatures]bool{TopServerShare: true, FailureRatio: true, TGSShare: true}

// direction says which way an attack pushes each feature: +1 up, −1 down, 0 either way. Only
// deviations that way make a host suspicious: a terminal server that saw fewer typos than usual
// this hour is not, and neither is a workstation that was quieter than its peers.
var direction = [NumFeatures]int8{
	Requests:           +1,
	DistinctServers:    +1,
	TopServerShare:     0,  // spreading over many responders or fixating on one: both odd
	TopServerLoad:      -1, // leaning on a responder few others use
	Failures:           +1,
	FailureRatio:       +1,
	DistinctClients:    +1,
	DistinctServices:   +1,
	PreauthFailures:    +1,
	PrincipalUnknown:   +1,
	TGSShare:           0, // roasting is TGS-heavy, spraying AS-heavy
	WeakCipherServices: +1,
}

// String returns the feature's snake_case name, the one used in siemscore.kerberos.features.
func (f Feature) String() string {
	if f >= 0 && int(f) < NumFeatures {
		return featureNames[f]
	}
	return "feature(?)"
}

// Features is one host's statistics over one window, in Feature order, in natural units
// (counts and proportions).
type Features [NumFeatures]float64

func (f *Features) validate() error {
	for i, v := range f {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (isShare[i] && v > 1) {
			return fmt.Errorf("%w: %s = %v", ErrFeatures, Feature(i), v)
		}
	}
	return nil
}

// Transformed is the vector the model standardises: counts are heavy-tailed (a file server
// makes a thousand times the requests of a workstation), so they enter as log(1+x), which keeps
// one busy host from setting the scale every other host is measured in.
func (f *Features) Transformed() [NumFeatures]float64 {
	var t [NumFeatures]float64
	for i, v := range f {
		if isShare[i] {
			t[i] = v
		} else {
			t[i] = log1p(max(v, 0))
		}
	}
	return t
}

// log1pCounts[n] is math.Log1p(n): the counts of a window are small integers, and every
// record transforms nine of them.
var log1pCounts = func() (t [1024]float64) {
	for n := range t {
		t[n] = math.Log1p(float64(n))
	}
	return t
}()

// log1p is math.Log1p for v >= 0, from log1pCounts when v is one of its counts.
func log1p(v float64) float64 {
	if v < float64(len(log1pCounts)) {
		if n := int(v); float64(n) == v {
			return log1pCounts[n]
		}
	}
	return math.Log1p(v)
}
