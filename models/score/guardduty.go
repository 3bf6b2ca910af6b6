package score

import (
	"math"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Reasons of siemscore.guardduty.reasons.
const (
	ReasonSeverityMissing = "severity_missing" // the finding has no usable severity: nothing to fuse
	ReasonIPUnscored      = "ip_unscored"      // no IP score (see siemscore.ip.reasons): the fused score is the severity alone
	ReasonIPFused         = "ip_fused"         // the fused score combines the severity and the IP score
)

var (
	reasonSeverityMissing = []string{ReasonSeverityMissing}
	reasonIPUnscored      = []string{ReasonIPUnscored}
	reasonIPFused         = []string{ReasonIPFused}
)

// Fusion constants (see FuseGuardDuty).
const (
	// fuseWeight is how many log-odds the IP score moves the severity per 50 points.
	fuseWeight = 1.5
	// fuseNeutral is the IP score that leaves the severity unchanged: the bottom of the minor
	// band. Scores below it (the principal's usual networks) lower the fused score.
	fuseNeutral = 25.0
)

// FuseGuardDuty blends a finding's severity (GuardDuty's 0–10 scale) with the IP score (0–100)
// of its principal and remote IP into a 0–100 score:
//
//	p     = clamp(severity/10, 0.01, 0.99)
//	fused = 100 · σ(logit(p) + 1.5 · (clamp(ipScore, 0, 100) − 25) / 50)
//
// The severity is read as a probability that the finding matters and the IP score shifts its
// log-odds: an address the principal routinely uses (score near 0) lowers it by 0.75, a
// never-seen one (100) raises it by 2.25, and an IP score of 25 leaves it unchanged. So a
// medium finding (5) from a familiar address ends minor (32), from a foreign one critical (90);
// a high finding (8) ends major (65) or critical (97). The largest possible reduction keeps
// GuardDuty's critical band (9–10, introduced in 2025) in ours (≥ 81 ≥ 75): context may raise a
// critical finding but never dismiss it. The result is non-decreasing in both arguments and
// strictly increasing inside the clamps. NaN arguments give NaN.
func FuseGuardDuty(severity, ipScore float64) float64 {
	if math.IsNaN(severity) || math.IsNaN(ipScore) {
		return math.NaN()
	}
	p := min(0.99, max(0.01, severity/10))
	z := math.Log(p/(1-p)) + fuseWeight*(min(100, max(0, ipScore))-fuseNeutral)/50
	return 100 / (1 + math.Exp(-z))
}

// guardDutyPart scores siemscore.guardduty.*: the finding's severity fused with the IP score
// of its principal and remote IP (which it also writes to siemscore.ip.*). The fused score is
// the record's risk; GuardDuty's own severity stays its event.risk_score.
type guardDutyPart struct{}

func (guardDutyPart) score(b *bundle.Bundle, rec *ecs.Record, r risk) risk {
	doc := rec.Doc
	out := &doc.SiemScore.GuardDuty
	*out = ecs.GuardDutyScore{Status: ecs.PartUnscored}
	ipNorm, ipOK := scoreIP(b, rec)
	var sev ecs.OptFloat
	if doc.AWS != nil && doc.AWS.GuardDuty != nil {
		sev = doc.AWS.GuardDuty.Severity.Code
	}
	if !sev.Set || math.IsNaN(sev.V) || math.IsInf(sev.V, 0) {
		out.Reasons = reasonSeverityMissing
		return r
	}
	s := min(10, max(0, sev.V))
	fused := 10 * s
	out.Reasons = reasonIPUnscored
	if ipOK {
		fused = FuseGuardDuty(s, ipNorm)
		out.Reasons = reasonIPFused
	}
	out.Status = ecs.PartScored
	out.SeverityNorm = roundFloat(10 * s)
	out.ScoreNorm = roundFloat(fused)
	out.Severity = ecs.SeverityBand(fused)
	r.contribute(fused)
	r.original = sev
	return r
}
