package score

import (
	"net/netip"
	"strings"
	"time"

	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/identity"
)

// Reasons a record's IP part is not scored, in siemscore.ip.reasons (the model's own reasons,
// for scored records, are listed by ipanomaly.ReasonNames).
const (
	ReasonPrincipalMissing   = "principal_missing"     // no principal to score the address against
	ReasonSourceMissing      = "source_missing"        // no source address at all
	ReasonSourceAWSService   = "source_aws_service"    // an AWS service (*.amazonaws.com) called on the principal's behalf
	ReasonSourceNotIP        = "source_not_ip"         // the source is not an IP address ("AWS Internal", a hostname)
	ReasonNotApplicable      = "not_applicable"        // the record kind has no (principal, IP) pair
	ReasonModelSectionAbsent = "model_section_missing" // the loaded bundle has no model for this part
)

// IPPair is what the IP model scores: a principal (processors/identity: an assumed role's
// sessions all count as the role, and the account is known when the record names it) and an
// address, at the record's time.
type IPPair struct {
	Principal identity.Principal
	IP        netip.Addr
	Time      time.Time
}

// IPPairOf extracts the (principal, address) pair of a document, or the reason there is none.
// Training from records and scoring both use it, so the model is trained on exactly what it
// is asked about:
//
//   - CloudTrail: user.id (userIdentity.principalId; its ARN when it has none), the account
//     of aws.cloudtrail.user_identity.arn or cloud.account.id, and source.ip (sourceIPAddress);
//   - GuardDuty: aws.guardduty.resource.access_key_details.principal_id, the finding's
//     account and source.ip (the finding's remote IP);
//
// the principal by identity.Record. Calls made by AWS services on the principal's behalf
// (source *.amazonaws.com) and non-IP sources are skipped with a reason. It does not allocate.
func IPPairOf(kind ecs.Kind, doc *ecs.Document) (IPPair, string) {
	var principalID, arn, account string
	switch kind {
	case ecs.KindCloudTrail:
		if doc.User != nil {
			principalID = doc.User.ID
		}
		if doc.AWS != nil && doc.AWS.CloudTrail != nil {
			arn = doc.AWS.CloudTrail.UserIdentity.ARN
		}
		if doc.Cloud != nil {
			account = doc.Cloud.Account.ID
		}
	case ecs.KindGuardDuty:
		if doc.AWS != nil && doc.AWS.GuardDuty != nil {
			principalID = doc.AWS.GuardDuty.Resource.AccessKeyDetails.PrincipalID
			account = doc.AWS.GuardDuty.AccountID
		}
	default:
		return IPPair{}, ReasonNotApplicable
	}
	p := identity.Record(principalID, arn, account)
	if p.ID == "" {
		return IPPair{}, ReasonPrincipalMissing
	}
	src := doc.Source
	switch {
	case src == nil || (src.Address == "" && !src.IP.IsValid()):
		return IPPair{Principal: p}, ReasonSourceMissing
	case isAWSService(src.Address):
		return IPPair{Principal: p}, ReasonSourceAWSService
	case !src.IP.IsValid():
		return IPPair{Principal: p}, ReasonSourceNotIP
	}
	return IPPair{Principal: p, IP: src.IP, Time: doc.Timestamp}, ""
}

const awsServiceSuffix = ".amazonaws.com"

func isAWSService(addr string) bool {
	return len(addr) > len(awsServiceSuffix) && strings.EqualFold(addr[len(addr)-len(awsServiceSuffix):], awsServiceSuffix)
}
