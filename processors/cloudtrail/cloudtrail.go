// Package cloudtrail maps one AWS CloudTrail event to an ECS document, field for field as
// Elastic's AWS CloudTrail integration does (packages/aws/data_stream/cloudtrail), so that
// Elastic's dashboards, ML jobs and detection rules work on siemscore's documents.
package cloudtrail

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/processors/bodyjson"
	"github.com/siemscore/siemscore/processors/digest"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/fields"
)

// Dataset and Module are the event.dataset and event.module of CloudTrail documents.
const (
	Dataset = "aws.cloudtrail"
	Module  = "aws"
)

// flattenedLimit is the size above which Elastic keeps a free-form object only as a string:
// a keyword longer than Lucene's 32766-byte term limit cannot be indexed as one flattened leaf.
const flattenedLimit = 32766

// ErrNotCloudTrail is returned for an event that has neither eventName nor eventSource as a
// string: nothing in it could be mapped meaningfully.
var ErrNotCloudTrail = errors.New("cloudtrail: neither eventName nor eventSource is a string")

// block allocates a document and every part a CloudTrail event can fill in one go.
type block struct {
	doc   ecs.Document
	src   ecs.Endpoint
	user  ecs.User
	group ecs.Group
	ua    ecs.UserAgent
	cloud ecs.Cloud
	tls   ecs.TLS
	rel   ecs.Related
	aws   ecs.AWS
	ct    ecs.CloudTrail
	ips   [1]netip.Addr
	users [4]string
}

// Key is the natural key of an event: eventID, eventTime and recipientAccountId as written.
func Key(ev map[string]any) digest.Key {
	o := fields.O(ev)
	return digest.Key{o.Str("eventID"), o.Str("eventTime"), o.Str("recipientAccountId")}
}

// The top-level members Parse reads, collected in one pass (see fields.Members).
const (
	mEventName = iota
	mEventSource
	mEventTime
	mEventID
	mEventVersion
	mEventType
	mEventCategory
	mRequestID
	mRecipientAccountID
	mSharedEventID
	mVPCEndpointID
	mAPIVersion
	mErrorCode
	mErrorMessage
	mManagementEvent
	mReadOnly
	mRequestParameters
	mResponseElements
	mAdditionalEventData
	mServiceEventDetails
	mResources
	mUserIdentity
	mSourceIPAddress
	mUserAgent
	mAWSRegion
	mTLSDetails
	mInsightDetails
	numMembers
)

var members = fields.NewMembers(memberNames[:]...)

var memberNames = [numMembers]string{
	mEventName: "eventName", mEventSource: "eventSource", mEventTime: "eventTime", mEventID: "eventID",
	mEventVersion: "eventVersion", mEventType: "eventType", mEventCategory: "eventCategory", mRequestID: "requestID",
	mRecipientAccountID: "recipientAccountId", mSharedEventID: "sharedEventID", mVPCEndpointID: "vpcEndpointId",
	mAPIVersion: "apiVersion", mErrorCode: "errorCode", mErrorMessage: "errorMessage", mManagementEvent: "managementEvent",
	mReadOnly: "readOnly", mRequestParameters: "requestParameters", mResponseElements: "responseElements",
	mAdditionalEventData: "additionalEventData", mServiceEventDetails: "serviceEventDetails", mResources: "resources",
	mUserIdentity: "userIdentity", mSourceIPAddress: "sourceIPAddress", mUserAgent: "userAgent", mAWSRegion: "awsRegion",
	mTLSDetails: "tlsDetails", mInsightDetails: "insightDetails",
}

// Parse maps ev. fallback (the Fluent Bit timestamp) becomes @timestamp when eventTime is
// missing or invalid, with the reason in siemscore.issues, and is event.created, the time the
// record was collected. The document may share maps with ev (the flattened objects).
func Parse(ev map[string]any, fallback time.Time) (*ecs.Document, error) {
	var v [numMembers]any
	members.Collect(ev, v[:])
	str := func(i int) string {
		s, _ := fields.String(v[i])
		return s
	}
	name, nameOK := fields.String(v[mEventName])
	provider, providerOK := fields.String(v[mEventSource])
	insight, _ := v[mInsightDetails].(map[string]any)
	if !nameOK && !providerOK && insight == nil {
		return nil, ErrNotCloudTrail
	}

	b := new(block)
	d := &b.doc
	d.ECS.Version = ecs.Version
	ct := &b.ct
	b.aws.CloudTrail = ct
	d.AWS = &b.aws

	var issue string
	d.Timestamp, issue = fields.EventTime(v[mEventTime], fallback)
	fields.AddIssue(d, issue)

	cat := categorize(name)
	d.Event = ecs.Event{
		Kind:     "event",
		Category: cat.category,
		Type:     cat.typ,
		Action:   name,
		Provider: provider,
		ID:       str(mEventID),
		Dataset:  Dataset,
		Module:   Module,
	}
	if !fallback.IsZero() {
		d.Event.Created = ecs.Time(fields.Encodable(fallback))
	}

	ct.EventVersion = str(mEventVersion)
	ct.EventType = str(mEventType)
	ct.EventCategory = str(mEventCategory)
	ct.RequestID = str(mRequestID)
	ct.RecipientAccountID = str(mRecipientAccountID)
	ct.SharedEventID = str(mSharedEventID)
	ct.VPCEndpointID = str(mVPCEndpointID)
	ct.APIVersion = str(mAPIVersion)
	ct.ErrorCode = str(mErrorCode)
	ct.ErrorMessage = str(mErrorMessage)
	ct.ManagementEvent = boolKeyword(fields.OptBool(v[mManagementEvent]))
	ct.ReadOnly = fields.OptBool(v[mReadOnly])

	ct.RequestParameters, ct.Flattened.RequestParameters = freeForm(v[mRequestParameters])
	ct.ResponseElements, ct.Flattened.ResponseElements = freeForm(v[mResponseElements])
	ct.AdditionalEventData, ct.Flattened.AdditionalEventData = freeForm(v[mAdditionalEventData])
	ct.ServiceEventDetails, ct.Flattened.ServiceEventDetails = freeForm(v[mServiceEventDetails])
	// An Insights event (eventType AwsCloudTrailInsight) names the API it is about only inside
	// insightDetails; like Elastic's integration, it is kept there and not taken for the
	// event's own action.
	_, ct.Flattened.InsightDetails = freeForm(insight)
	resourceList, _ := v[mResources].([]any)
	ct.Resources = resources(resourceList)

	d.Event.Outcome = outcome(name, ct)

	related := b.users[:0]
	userIdentity, _ := v[mUserIdentity].(map[string]any)
	accountID := identity(b, fields.O(userIdentity), &related)
	mapSource(b, v[mSourceIPAddress])

	for _, k := range [...]string{"userName", "newUserName"} {
		if s, ok := ct.Flattened.RequestParameters[k].(string); ok {
			related = fields.AppendUnique(related, s)
		}
	}
	targets(b)
	if len(related) > 0 {
		b.rel.User = related
	}
	if b.rel.User != nil || b.rel.IP != nil {
		d.Related = &b.rel
	}

	if ua := str(mUserAgent); ua != "" {
		b.ua.Original = ua
		d.UserAgent = &b.ua
	}

	if accountID == "" {
		// Elastic takes the account from userIdentity only; AWS service events have none, and
		// the recipient account is then the only account the event names.
		accountID = ct.RecipientAccountID
	}
	b.cloud = ecs.Cloud{Provider: "aws", Region: str(mAWSRegion), Account: ecs.CloudAccount{ID: accountID}}
	d.Cloud = &b.cloud

	tlsMap, _ := v[mTLSDetails].(map[string]any)
	tlsDetails(b, fields.O(tlsMap))
	return d, nil
}

// identity maps userIdentity and returns its accountId. related collects user names.
func identity(b *block, ui fields.Obj, related *[]string) string {
	id := &b.ct.UserIdentity
	id.Type = ui.Str("type")
	id.ARN = ui.Str("arn")
	id.AccessKeyID = ui.Str("accessKeyId")
	id.InvokedBy = ui.Str("invokedBy")

	sc := ui.Obj("sessionContext")
	attrs := sc.Obj("attributes")
	id.SessionContext.MFAAuthenticated = boolKeyword(attrs.OptBool("mfaAuthenticated"))
	id.SessionContext.CreationDate = attrs.OptTime("creationDate")
	issuer := sc.Obj("sessionIssuer")
	id.SessionContext.SessionIssuer = ecs.SessionIssuer{
		Type:        issuer.Str("type"),
		PrincipalID: issuer.Str("principalId"),
		ARN:         issuer.Str("arn"),
		AccountID:   issuer.Str("accountId"),
	}

	name := ui.Str("userName")
	*related = fields.AppendUnique(*related, name)
	// As in Elastic's pipeline, an assumed role's user is the role that issued the session;
	// related.user keeps only the names the event gives as user names.
	if issuerName := issuer.Str("userName"); issuerName != "" {
		name = issuerName
	}
	b.user = ecs.User{Name: name, ID: ui.Str("principalId")}
	if b.user != (ecs.User{}) {
		b.doc.User = &b.user
	}
	return ui.Str("accountId")
}

// targets fills what an IAM call acts on, from the names Elastic's pipeline reads:
// user.target.name (requestParameters.userName), user.target.id (responseElements.user.userId),
// user.changes.name (requestParameters.newUserName), group.name and group.id.
func targets(b *block) {
	req, res := fields.O(b.ct.Flattened.RequestParameters), fields.O(b.ct.Flattened.ResponseElements)
	resUser, resGroup := res.Obj("user"), res.Obj("group")
	b.user.Target = ecs.UserRef{Name: req.Str("userName"), ID: resUser.Str("userId")}
	b.user.Changes.Name = req.Str("newUserName")
	if b.user != (ecs.User{}) {
		b.doc.User = &b.user
	}
	b.group = ecs.Group{Name: req.Str("groupName"), ID: resGroup.Str("groupId")}
	if b.group != (ecs.Group{}) {
		b.doc.Group = &b.group
	}
}

// boolKeyword renders a flag as the keyword Elastic's integration indexes ("true", "false"),
// or "" when it is absent.
func boolKeyword(b ecs.OptBool) string {
	if !b.Set {
		return ""
	}
	return strconv.FormatBool(b.V)
}

// mapSource fills source.address, and source.ip when the address is an IP.
func mapSource(b *block, v any) {
	if v == nil {
		return
	}
	addr, ok := fields.String(v)
	if !ok {
		// An object or array where an address belongs: kept, as JSON text, and flagged.
		text, _ := bodyjson.Append(nil, v)
		b.src.Address = string(text)
		b.doc.Source = &b.src
		fields.AddIssue(&b.doc, ecs.IssueSourceNotString)
		return
	}
	if addr == "" {
		return
	}
	b.src.Address = addr
	b.doc.Source = &b.src
	ip, st := fields.IP(addr)
	switch st {
	case fields.IPOK:
		b.src.IP = ip
		b.ips[0] = ip
		b.rel.IP = b.ips[:1]
	case fields.IPNotIP:
		fields.AddIssue(&b.doc, ecs.IssueSourceNotIP)
	case fields.IPInvalid:
		fields.AddIssue(&b.doc, ecs.IssueSourceIPInvalid)
	}
}

// outcome is failure when the call returned an error, except for ConsoleLogin, which reports
// its result in responseElements.ConsoleLogin.
func outcome(name string, ct *ecs.CloudTrail) string {
	if name == "ConsoleLogin" {
		if r, ok := ct.Flattened.ResponseElements["ConsoleLogin"].(string); ok {
			switch {
			case strings.EqualFold(r, "success"):
				return "success"
			case strings.EqualFold(r, "failure"):
				return "failure"
			default:
				return "unknown"
			}
		}
	}
	if ct.ErrorCode != "" || ct.ErrorMessage != "" {
		return "failure"
	}
	return "success"
}

// freeForm returns a free-form object as JSON text and, when it is an object small enough to
// index, as the map itself for the `flattened` field. Empty values are dropped, as Elastic's
// pipeline drops them. Some exports carry the object as a JSON string; it is decoded so the
// flattened form exists for those too.
func freeForm(v any) (string, map[string]any) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		var m map[string]any
		if strings.HasPrefix(strings.TrimSpace(x), "{") && json.Unmarshal([]byte(x), &m) == nil && len(m) > 0 {
			if len(x) >= flattenedLimit {
				return x, nil
			}
			return x, m
		}
		return x, nil
	case map[string]any:
		if len(x) == 0 {
			return "", nil
		}
	case []any:
		if len(x) == 0 {
			return "", nil
		}
	}
	text, safe := bodyjson.Append(make([]byte, 0, 256), v)
	m, _ := v.(map[string]any)
	if !safe && m != nil {
		// The text is valid whatever v holds; the flattened copy is encoded with the document
		// by a standard encoder, so what it cannot hold (NaN, non-string keys) is cleaned.
		m = fields.JSONSafe(m).(map[string]any)
	}
	if len(text) >= flattenedLimit {
		m = nil
	}
	return string(text), m
}

// resources maps the resources list, dropping duplicates of the same (ARN, account, type).
func resources(list []any) []ecs.CloudResource {
	var out []ecs.CloudResource
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		r := fields.O(m)
		res := ecs.CloudResource{ARN: r.Str("ARN"), Type: r.Str("type"), AccountID: r.Str("accountId")}
		if res != (ecs.CloudResource{}) && !slices.Contains(out, res) {
			out = append(out, res)
		}
	}
	return out
}

// tlsDetails maps tlsDetails; "TLSv1.2" splits into protocol "tls" and version "1.2".
func tlsDetails(b *block, t fields.Obj) {
	if t.Len() == 0 {
		return
	}
	if proto, version, ok := strings.Cut(t.Str("tlsVersion"), "v"); ok {
		b.tls.VersionProtocol = strings.ToLower(proto)
		b.tls.Version = version
	}
	b.tls.Cipher = t.Str("cipherSuite")
	b.tls.Client.ServerName = t.Str("clientProvidedHostHeader")
	if b.tls != (ecs.TLS{}) {
		b.doc.TLS = &b.tls
	}
}
