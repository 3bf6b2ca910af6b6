package ipanomaly

import "github.com/siemscore/siemscore/models/internal/reasons"

// Reasons is a set of reason codes explaining a score: which signal spoke. The codes are
// written to siemscore.ip.reasons and are part of the product's contract: alert rules match on
// them.
type Reasons uint16

// Reason codes.
const (
	// ReasonPrincipalUnknown: the principal has no training history; its account's history
	// (when the record names an account the model knows), how common the network is and the
	// organisation's embedding scored the address.
	ReasonPrincipalUnknown Reasons = 1 << iota
	// ReasonIPNewForPrincipal: a known principal never used this exact address in training.
	ReasonIPNewForPrincipal
	// ReasonNetworkNewForPrincipal: a known principal never used this network (IPv4 /24, IPv6
	// /64) in training.
	ReasonNetworkNewForPrincipal
	// ReasonNetworkNeverSeen: no principal used this network in training.
	ReasonNetworkNeverSeen
	// ReasonBlockNeverSeen: no principal used anything in this block (IPv4 /16, IPv6 /32, about
	// an ISP allocation) in training: a part of the Internet foreign to the organisation.
	ReasonBlockNeverSeen
	// ReasonPrincipalFewEvents: the principal had fewer than Config.MinPrincipalEvents
	// training events: little history to compare with.
	ReasonPrincipalFewEvents
	// ReasonEntityVectorShared: more principals were trained than the embedding has rows, and
	// this principal shares its vector with another.
	ReasonEntityVectorShared
	// ReasonNetworkKnownToAccount: the network is new for the principal but other principals
	// of its account used it.
	ReasonNetworkKnownToAccount
	// ReasonNetworkKnownToPeers: the network is new for the principal but its co-users (the
	// principals that share networks with it) used it.
	ReasonNetworkKnownToPeers
	// ReasonNetworkRare: how few principals used this network and its block raised the score
	// (the model's reading of the network's commonness, beyond never-seen).
	ReasonNetworkRare
	// ReasonAffinityLow: the embedding places the address far from the principal's usual
	// places, and that raised the score.
	ReasonAffinityLow

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
	"network_known_to_account",
	"network_known_to_peers",
	"network_rare",
	"affinity_low",
}

var reasonTable = reasons.New(reasonNames[:]...)

// Strings returns the reason codes in the set, in the order of the constants. The slice is
// shared: do not modify its elements.
func (r Reasons) Strings() []string { return reasonTable.Codes(uint64(r)) }

// Has reports whether every reason in q is in r.
func (r Reasons) Has(q Reasons) bool { return r&q == q }

// ReasonNames lists every reason code the model can produce.
func ReasonNames() []string { return append([]string(nil), reasonNames[:]...) }
