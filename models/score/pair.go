package score

import (
	"net/netip"
	"strings"

	"github.com/siemscore/siemscore/processors/ecs"
)

// Reasons a record's IP part is not scored, in siemscore.ip.reasons (the model's own reasons,
// for scored records, are listed by ipinsights.ReasonNames).
const (
	ReasonPrincipalMissing   = "principal_missing"     // no principal to score the address against
	ReasonSourceMissing      = "source_missing"        // no source address at all
	ReasonSourceAWSService   = "source_aws_service"    // an AWS service (*.amazonaws.com) called on the principal's behalf
	ReasonSourceNotIP        = "source_not_ip"         // the source is not an IP address ("AWS Internal", a hostname)
	ReasonNotApplicable      = "not_applicable"        // the record kind has no (principal, IP) pair
	ReasonModelSectionAbsent = "model_section_missing" // the loaded bundle has no model for this part
)

// IPPair is what the IP model scores: an entity (a principal ID up to its first ':', so an
// assumed role's sessions all count as the role) and an address.
type IPPair struct {
	Entity string
	IP     netip.Addr
}

// IPPairOf extracts the (entity, address) pair of a document, or the reason there is none.
// Training from records and scoring both use it, so the model is trained on exactly what it
// is asked about:
//
//   - CloudTrail: user.id (userIdentity.principalId) and source.ip (sourceIPAddress);
//   - GuardDuty: aws.guardduty.resource.access_key_details.principal_id and source.ip (the
//     finding's remote IP);
//
// the entity is the principal up to its first ':'. Calls made by AWS services on the
// principal's behalf (source *.amazonaws.com) and non-IP sources are skipped with a reason.
// It does not allocate.
func IPPairOf(kind ecs.Kind, doc *ecs.Document) (IPPair, string) {
	var principal string
	switch kind {
	case ecs.KindCloudTrail:
		if doc.User != nil {
			principal = doc.User.ID
		}
	case ecs.KindGuardDuty:
		if doc.AWS != nil && doc.AWS.GuardDuty != nil {
			principal = doc.AWS.GuardDuty.Resource.AccessKeyDetails.PrincipalID
		}
	default:
		return IPPair{}, ReasonNotApplicable
	}
	entity := EntityOf(principal)
	if entity == "" {
		return IPPair{}, ReasonPrincipalMissing
	}
	src := doc.Source
	switch {
	case src == nil || (src.Address == "" && !src.IP.IsValid()):
		return IPPair{Entity: entity}, ReasonSourceMissing
	case isAWSService(src.Address):
		return IPPair{Entity: entity}, ReasonSourceAWSService
	case !src.IP.IsValid():
		return IPPair{Entity: entity}, ReasonSourceNotIP
	}
	return IPPair{Entity: entity, IP: src.IP}, ""
}

// EntityOf is the IP model's entity of a principal: the principal up to its first ':', so that
// every session of an assumed role (principalId "AROA…:session") is the one role it belongs to.
func EntityOf(principal string) string {
	entity, _, _ := strings.Cut(principal, ":")
	return entity
}

const awsServiceSuffix = ".amazonaws.com"

func isAWSService(addr string) bool {
	return len(addr) > len(awsServiceSuffix) && strings.EqualFold(addr[len(addr)-len(awsServiceSuffix):], awsServiceSuffix)
}
