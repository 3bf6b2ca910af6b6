package score

import (
	"math"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/identity"
)

// Reasons of siemscore.api.reasons besides the shared principal_missing and
// model_section_missing; a record that reaches the model gets the model's own reasons
// (periodicity.Reasons: api_periodic, api_volume_high, api_pair_unknown, ...).
const (
	ReasonActionMissing = "action_missing" // no event.action (eventName): no API to count
	ReasonTimeInvalid   = "time_invalid"   // @timestamp outside 1970..9999: no UTC day to count it on
)

var (
	reasonActionMissing = []string{ReasonActionMissing}
	reasonTimeInvalid   = []string{ReasonTimeInvalid}
)

// APICallOf maps a CloudTrail document to the call the periodicity model counts: the principal
// is aws.cloudtrail.user_identity.arn (user.id, the principalId, when the ARN is absent) under
// the identity rule, so that an assumed role's sessions count as the role
// (arn:aws:iam::ACCOUNT:role/NAME), or as the record names it when sessions is set
// (periodicity.Config.SessionKeys); the API is event.action (eventName), the time @timestamp.
// reason is non-empty when a name is missing. Training from records and scoring both use it,
// so the model is asked about exactly the pairs it was trained on.
func APICallOf(doc *ecs.Document, sessions bool) (call periodicity.Call, reason string) {
	if doc.AWS != nil && doc.AWS.CloudTrail != nil {
		call.Principal = doc.AWS.CloudTrail.UserIdentity.ARN
	}
	if call.Principal == "" && doc.User != nil {
		call.Principal = doc.User.ID
	}
	if !sessions {
		call.Principal = identity.Parse(call.Principal).ID
	}
	call.API, call.Time = doc.Event.Action, doc.Timestamp
	switch {
	case call.Principal == "":
		return call, ReasonPrincipalMissing
	case call.API == "":
		return call, ReasonActionMissing
	}
	return call, ""
}

// apiPart scores siemscore.api.* of CloudTrail records: every call is counted in the scorer's
// running per-pair day counts (whatever the bundle holds, so a model swap finds today's counts
// intact), then the bundle's periodicity model says whether the pair is automated and how far
// today's count is above the pair's usual count for the weekday. A record is "scored" when it
// got a volume score; that score contributes to the record's risk.
type apiPart struct {
	state *periodicity.State
}

func (p apiPart) score(b *bundle.Bundle, rec *ecs.Record, r risk) risk {
	out := &rec.Doc.SiemScore.API
	*out = ecs.APIScore{Status: ecs.PartUnscored}
	m := b.Periodicity()
	call, reason := APICallOf(rec.Doc, m != nil && m.Config().SessionKeys)
	if reason != "" {
		out.Reasons = reasonList(reason)
		return r
	}
	obs, ok := p.state.Observe(call.Principal, call.API, call.Time)
	if !ok {
		out.Reasons = reasonList(ReasonTimeInvalid)
		return r
	}
	if !obs.Late {
		out.DayCount = ecs.Int(obs.Count)
	}
	if m == nil {
		out.Reasons = reasonModelSectionAbsent
		return r
	}
	s := m.Score(call.Principal, call.API, obs)
	out.Reasons = s.Reasons.Codes()
	if s.Judged {
		out.Automated = ecs.Bool(s.Automated)
	}
	if !math.IsNaN(s.Periodicity) {
		out.Periodicity = roundFloat(s.Periodicity)
		out.BestLag = ecs.Int(int64(s.BestLag))
	}
	if !s.HasVolume {
		return r
	}
	out.Status = ecs.PartScored
	out.Expected = roundFloat(s.Expected)
	out.VolumeZ = roundFloat(s.VolumeZ)
	out.ScoreNorm = roundFloat(s.ScoreNorm)
	out.Severity = ecs.SeverityBand(s.ScoreNorm)
	r.contribute(s.ScoreNorm)
	return r
}
