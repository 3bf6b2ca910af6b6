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

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/digest"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/fields"
	"github.com/siemscore/siemscore/processors/internal/slab"
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
	res   [4]ecs.CloudResource
}

// Parser maps CloudTrail events. Its documents are valid until Reset; it is not safe for
// concurrent use.
type Parser struct {
	blocks slab.Slab[block]
	ips    fields.IPCache // sourceIPAddress: a principal's calls come from few addresses
}

// Reset makes the memory of every document parsed so far available again.
func (p *Parser) Reset() { p.blocks.Reset() }

// Key is the natural key of an event: eventID, eventTime and recipientAccountId as written.
func Key(ev body.Value) digest.Key {
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
// record was collected. The document's strings are those of ev's tree.
func (p *Parser) Parse(ev body.Value, fallback time.Time) (*ecs.Document, error) {
	var v [numMembers]body.Value
	members.Collect(ev, v[:])
	str := func(i int) string {
		s, _ := fields.String(v[i])
		return s
	}
	name, nameOK := fields.String(v[mEventName])
	provider, providerOK := fields.String(v[mEventSource])
	insight := v[mInsightDetails]
	if insight.Kind() != body.Map {
		insight = body.Value{}
	}
	if !nameOK && !providerOK && !insight.Exists() {
		return nil, ErrNotCloudTrail
	}

	b := p.blocks.New()
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

	var params, response body.Value
	ct.RequestParameters, ct.Flattened.RequestParameters, params = freeForm(v[mRequestParameters])
	ct.ResponseElements, ct.Flattened.ResponseElements, response = freeForm(v[mResponseElements])
	ct.AdditionalEventData, ct.Flattened.AdditionalEventData, _ = freeForm(v[mAdditionalEventData])
	ct.ServiceEventDetails, ct.Flattened.ServiceEventDetails, _ = freeForm(v[mServiceEventDetails])
	ct.Resources = resources(b.res[:0], v[mResources])
	// An Insights event (eventType AwsCloudTrailInsight) names the API it is about only inside
	// insightDetails; like Elastic's integration, it is kept there and not taken for the
	// event's own action.
	_, ct.Flattened.InsightDetails, _ = freeForm(insight)

	d.Event.Outcome = outcome(name, ct, response)

	related := b.users[:0]
	accountID := identity(b, fields.O(v[mUserIdentity]), &related)
	mapSource(b, v[mSourceIPAddress], &p.ips)

	for _, k := range [...]string{"userName", "newUserName"} {
		if s := params.Get(k); s.Kind() == body.String {
			related = fields.AppendUnique(related, s.Str())
		}
	}
	targets(b, params, response)
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

	tlsDetails(b, fields.O(v[mTLSDetails]))
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
// user.changes.name (requestParameters.newUserName), group.name and group.id. params and
// response are the objects flattened into the document (Absent when none is).
func targets(b *block, params, response body.Value) {
	req, res := fields.O(params), fields.O(response)
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
func mapSource(b *block, v body.Value, ips *fields.IPCache) {
	if v.IsNull() {
		return
	}
	addr, ok := fields.String(v)
	if !ok {
		// An object or array where an address belongs: kept, as JSON text, and flagged.
		b.src.Address = v.Tree().Text(func(t []byte) []byte {
			t, _ = v.AppendText(t)
			return t
		})
		b.doc.Source = &b.src
		fields.AddIssue(&b.doc, ecs.IssueSourceNotString)
		return
	}
	if addr == "" {
		return
	}
	b.src.Address = addr
	b.doc.Source = &b.src
	ip, st := ips.IP(addr)
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
// its result in responseElements.ConsoleLogin (response, when it is kept flattened).
func outcome(name string, ct *ecs.CloudTrail, response body.Value) string {
	if name == "ConsoleLogin" {
		if v := response.Get("ConsoleLogin"); v.Kind() == body.String {
			r := v.Str()
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
// index, as the JSON of the `flattened` field, with the object itself (Absent when there is no
// flattened form). Empty values are dropped, as Elastic's pipeline drops them. Some exports
// carry the object as a JSON string; it is decoded so the flattened form exists for those too.
func freeForm(v body.Value) (string, ecs.RawJSON, body.Value) {
	t := v.Tree()
	switch v.Kind() {
	case body.Absent, body.Null:
		return "", "", body.Value{}
	case body.String:
		x := v.Str()
		var m map[string]any
		if strings.HasPrefix(strings.TrimSpace(x), "{") && json.Unmarshal([]byte(x), &m) == nil && len(m) > 0 {
			if len(x) >= flattenedLimit {
				return x, "", body.Value{}
			}
			obj := t.AppendAny(m)
			return x, ecs.RawJSON(t.Text(obj.AppendJSON)), obj
		}
		return x, "", body.Value{}
	case body.Map, body.Array:
		if v.Len() == 0 {
			return "", "", body.Value{}
		}
	}
	text := t.Text(func(b []byte) []byte {
		b, _ = v.AppendText(b)
		return b
	})
	if v.Kind() != body.Map || len(text) >= flattenedLimit {
		return text, "", body.Value{}
	}
	return text, ecs.RawJSON(t.Text(v.AppendJSON)), v
}

// resources maps the resources list into dst, dropping duplicates of the same (ARN, account,
// type).
func resources(dst []ecs.CloudResource, list body.Value) []ecs.CloudResource {
	if list.Kind() != body.Array {
		return nil
	}
	for i := range list.Len() {
		e := list.Elem(i)
		if e.Kind() != body.Map {
			continue
		}
		r := fields.O(e)
		res := ecs.CloudResource{ARN: r.Str("ARN"), Type: r.Str("type"), AccountID: r.Str("accountId")}
		if res != (ecs.CloudResource{}) && !slices.Contains(dst, res) {
			dst = append(dst, res)
		}
	}
	if len(dst) == 0 {
		return nil
	}
	return dst
}

// lower is strings.ToLower without the allocation for the protocol every record names.
func lower(s string) string {
	if s == "TLS" {
		return "tls"
	}
	return strings.ToLower(s)
}

// tlsDetails maps tlsDetails; "TLSv1.2" splits into protocol "tls" and version "1.2".
func tlsDetails(b *block, t fields.Obj) {
	if t.Len() == 0 {
		return
	}
	if proto, version, ok := strings.Cut(t.Str("tlsVersion"), "v"); ok {
		b.tls.VersionProtocol = lower(proto)
		b.tls.Version = version
	}
	b.tls.Cipher = t.Str("cipherSuite")
	b.tls.Client.ServerName = t.Str("clientProvidedHostHeader")
	if b.tls != (ecs.TLS{}) {
		b.doc.TLS = &b.tls
	}
}
