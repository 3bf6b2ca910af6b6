package ipinsights

import "github.com/siemscore/siemscore/models/internal/reasons"

// Reasons is a set of reason codes explaining a score. The codes are written to
// siemscore.ip.reasons and are part of the product's contract: alert rules match on them.
type Reasons uint16

// Reason codes.
const (
	// ReasonPrincipalUnknown: the principal has no training history; the address was scored
	// against the population vector (what is familiar to the organisation as a whole).
	ReasonPrincipalUnknown Reasons = 1 << iota
	// ReasonIPNewForPrincipal: a known principal never used this exact address in training.
	ReasonIPNewForPrincipal
	// ReasonNetworkNewForPrincipal: a known principal never used this network (v4 /24, v6 /64)
	// in training.
	ReasonNetworkNewForPrincipal
	// ReasonNetworkNeverSeen: no principal used this network in training.
	ReasonNetworkNeverSeen
	// ReasonBlockNeverSeen: no principal used anything in this block (v4 /16, v6 /32, about an
	// ISP allocation) in training: the address is in a part of the Internet foreign to the
	// organisation.
	ReasonBlockNeverSeen
	// ReasonPrincipalFewEvents: the principal had fewer than Config.MinPrincipalEvents
	// training events, so its vector is weakly trained and the score less certain.
	ReasonPrincipalFewEvents
	// ReasonEntityVectorShared: more principals were trained than the entity table has rows,
	// and this principal shares its vector with another.
	ReasonEntityVectorShared

	numReasons = iota
)

var reasonNames = [numReasons]string{
	"principal_unknown",
	"ip_new_for_principal",
	"network_new_for_principal",
	"network_never_seen",
	"block_never_seen",
	"principal_few_events",
	"entity_vector_shared",
}

var reasonTable = reasons.New(reasonNames[:]...)

// Strings returns the reason codes in the set, in the order of the constants. The slice is
// shared: do not modify its elements.
func (r Reasons) Strings() []string { return reasonTable.Codes(uint64(r)) }

// Has reports whether every reason in q is in r.
func (r Reasons) Has(q Reasons) bool { return r&q == q }

// ReasonNames lists every reason code the model can produce.
func ReasonNames() []string { return append([]string(nil), reasonNames[:]...) }
