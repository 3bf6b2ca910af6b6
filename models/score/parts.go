package score

import (
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/processors"
)

// part fills one siemscore.* namespace of a record from one section of b, and reports its
// contribution to the record's risk through r.
type part interface {
	score(b *bundle.Bundle, rec *processors.Record, r *risk)
}

// partsByKind lists the parts that score each record kind, in order. A kind without parts is
// reported as unsupported (siemscore.model.status). Kerberos and CloudTrail records are scored
// by parts bound to each Scorer's state (see Scorer.parts and New).
var partsByKind = [...][]part{
	processors.KindGeneric:    nil,
	processors.KindCloudTrail: nil,
	processors.KindGuardDuty:  {guardDutyPart{}},
	processors.KindKerberos:   nil,
}

func partsOf(k processors.Kind) []part {
	if int(k) < len(partsByKind) {
		return partsByKind[k]
	}
	return nil
}
