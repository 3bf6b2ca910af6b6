package score

import (
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/processors/ecs"
)

// ipPart scores siemscore.ip.* of CloudTrail records: how unusual the source IP is for the
// principal. Its score contributes to the record's risk.
type ipPart struct{}

func (ipPart) score(b *bundle.Bundle, rec *ecs.Record, r risk) risk {
	if norm, ok := scoreIP(b, rec); ok {
		r.contribute(norm)
	}
	return r
}

// reasonList returns the interned one-reason list of reason, so unscored records do not
// allocate. The lists are shared: len == cap, so an append elsewhere copies.
func reasonList(reason string) []string {
	switch reason {
	case ReasonPrincipalMissing:
		return reasonPrincipalMissing
	case ReasonSourceMissing:
		return reasonSourceMissing
	case ReasonSourceAWSService:
		return reasonSourceAWSService
	case ReasonSourceNotIP:
		return reasonSourceNotIP
	case ReasonModelSectionAbsent:
		return reasonModelSectionAbsent
	case ReasonActionMissing:
		return reasonActionMissing
	case ReasonTimeInvalid:
		return reasonTimeInvalid
	}
	return reasonNotApplicable
}

var (
	reasonPrincipalMissing   = []string{ReasonPrincipalMissing}
	reasonSourceMissing      = []string{ReasonSourceMissing}
	reasonSourceAWSService   = []string{ReasonSourceAWSService}
	reasonSourceNotIP        = []string{ReasonSourceNotIP}
	reasonModelSectionAbsent = []string{ReasonModelSectionAbsent}
	reasonNotApplicable      = []string{ReasonNotApplicable}
)

// scoreIP fills siemscore.ip.* from the bundle's IP model and returns the 0–100 score, or
// ok = false when the record could not be scored (the reason is in siemscore.ip.reasons).
func scoreIP(b *bundle.Bundle, rec *ecs.Record) (norm float64, ok bool) {
	out := &rec.Doc.SiemScore.IP
	*out = ecs.IPScore{Status: ecs.PartUnscored}
	pair, reason := IPPairOf(rec.Kind, rec.Doc)
	out.Entity = pair.Principal.ID
	m := b.IP()
	switch {
	case m == nil:
		out.Reasons = reasonModelSectionAbsent
		return 0, false
	case reason != "":
		out.Reasons = reasonList(reason)
		return 0, false
	}
	res, _ := m.Score(pair.Principal, pair.IP)
	out.Status = ecs.PartScored
	out.Score = roundFloat(res.Raw)
	out.ScoreNorm = roundFloat(res.ScoreNorm)
	out.Severity = ecs.SeverityBand(res.ScoreNorm)
	out.Reasons = res.Reasons.Strings()
	return res.ScoreNorm, true
}
