package score

import (
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/processors/ecs"
)

// part fills one siemscore.* namespace of a record from one section of b, and returns r with
// its contribution to the record's risk added. (The risk goes by value: a pointer passed to an
// interface method would be moved to the heap, an allocation per record.)
type part interface {
	score(b *bundle.Bundle, rec *ecs.Record, r risk) risk
}

// partsByKind lists the parts that score each record kind, in order. A kind without parts is
// reported as unsupported (siemscore.model.status). Kerberos and CloudTrail records are scored
// by parts bound to each Scorer's state (see Scorer.parts and New).
var partsByKind = [...][]part{
	ecs.KindGeneric:    nil,
	ecs.KindCloudTrail: nil,
	ecs.KindGuardDuty:  {guardDutyPart{}},
	ecs.KindKerberos:   nil,
}

func partsOf(k ecs.Kind) []part {
	if int(k) < len(partsByKind) {
		return partsByKind[k]
	}
	return nil
}
