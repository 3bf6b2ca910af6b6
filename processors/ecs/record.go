package ecs

import (
	"fmt"
	"strings"
)

// Kind is the type of a record.
type Kind uint8

// Record kinds. KindGeneric is anything the plugin does not recognise: it is shipped unscored.
const (
	KindGeneric Kind = iota
	KindCloudTrail
	KindGuardDuty
	KindKerberos
)

var kindNames = [...]string{
	KindGeneric:    "generic",
	KindCloudTrail: "cloudtrail",
	KindGuardDuty:  "guardduty",
	KindKerberos:   "kerberos",
}

// String returns the kind's name, which is also its data stream dataset suffix
// (logs-siemscore.<kind>-<namespace>).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Kinds lists every kind, in order.
func Kinds() []Kind { return []Kind{KindGeneric, KindCloudTrail, KindGuardDuty, KindKerberos} }

// ParseKind parses a kind name (case-insensitive).
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if strings.EqualFold(s, name) {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown record type %q (accepted: %s)", s, strings.Join(kindNames[:], ", "))
}

// Record is one event on its way to the scorers and Elasticsearch.
type Record struct {
	Kind Kind
	// ID is the deterministic Elasticsearch _id: the same event always gets the same ID, so a
	// chunk that Fluent Bit re-sends after FLB_RETRY never creates duplicates.
	ID  string
	Doc *Document
}
