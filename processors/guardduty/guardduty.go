// Package guardduty maps one Amazon GuardDuty finding to an ECS alert document the way
// Elastic's GuardDuty integration does (packages/aws/data_stream/guardduty).
package guardduty

import (
	"errors"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/digest"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/fields"
	"github.com/siemscore/siemscore/processors/internal/slab"
)

// Dataset and Module are the event.dataset and event.module of GuardDuty documents.
const (
	Dataset = "aws.guardduty"
	Module  = "aws"
)

// IssuePortProbeFirst says a port probe finding listed several probes and only the first one's
// addresses are in source.* and destination.* (related.ip has every prober).
const IssuePortProbeFirst = "port_probe_first_of_several"

// ErrNotGuardDuty is returned for a finding with neither type nor id as a string.
var ErrNotGuardDuty = errors.New("guardduty: neither type nor id is a string")

var typeInfo = []string{"info"} // shared by every document: never write to its elements

type block struct {
	doc                ecs.Document
	src, dst           ecs.Endpoint
	srcAS, dstAS       ecs.AS
	srcGeo, dstGeo     ecs.Geo
	srcPoint, dstPoint ecs.GeoPoint
	user               ecs.User
	cloud              ecs.Cloud
	rule               ecs.Rule
	rel                ecs.Related
	aws                ecs.AWS
	gd                 ecs.GuardDuty
	ips                [2]netip.Addr
	users              [2]string
}

// Parser maps findings. Its documents are valid until Reset; it is not safe for concurrent use.
type Parser struct {
	blocks slab.Slab[block]
}

// Reset makes the memory of every document parsed so far available again.
func (p *Parser) Reset() { p.blocks.Reset() }

// Key is the natural key of a finding: its id and updatedAt (a finding is updated in place, and
// each update is a new document).
func Key(ev body.Value) digest.Key {
	o := fields.O(ev)
	return digest.Key{o.Str("id"), o.Str("updatedAt")}
}

// Parse maps a finding (the `detail` of an EventBridge event, or a finding as exported to S3).
// @timestamp is updatedAt, else createdAt, else fallback with the reason in siemscore.issues.
// The document's strings are those of ev's tree.
func (p *Parser) Parse(ev body.Value, fallback time.Time) (*ecs.Document, error) {
	o := fields.O(ev)
	typ, typOK := o.StrOK("type")
	id, idOK := o.StrOK("id")
	if !typOK && !idOK {
		return nil, ErrNotGuardDuty
	}
	b := p.blocks.New()
	d := &b.doc
	d.ECS.Version = ecs.Version
	gd := &b.gd
	b.aws.GuardDuty = gd
	d.AWS = &b.aws

	when, ok := o.Get("updatedAt")
	if !ok {
		when, _ = o.Get("createdAt")
	}
	var issue string
	d.Timestamp, issue = fields.EventTime(when, fallback)
	fields.AddIssue(d, issue)

	gd.ID = id
	gd.Type = typ
	gd.ARN = o.Str("arn")
	gd.Title = o.Str("title")
	gd.Description = o.Str("description")
	gd.AccountID = o.Str("accountId")
	gd.Region = o.Str("region")
	gd.Partition = o.Str("partition")
	gd.SchemaVersion = o.Str("schemaVersion")
	gd.CreatedAt = o.OptTime("createdAt")
	gd.UpdatedAt = o.OptTime("updatedAt")
	if v, ok := o.Float("confidence"); ok {
		gd.Confidence = ecs.Float(v)
	}

	d.Event = ecs.Event{
		Kind:    "alert",
		Type:    typeInfo,
		ID:      id,
		Dataset: Dataset,
		Module:  Module,
		Created: gd.CreatedAt,
	}
	if sev, ok := o.Float("severity"); ok {
		gd.Severity = ecs.GuardDutySeverity{Code: ecs.Float(sev), Value: band(sev)}
		// Truncated, not rounded: GuardDuty's bands are Low [1, 4), Medium [4, 7), High [7, 9),
		// Critical [9, 10], so 6.9 must stay 6 to stay Medium. A value far outside any band is
		// not converted at all: float-to-int conversion is undefined beyond the int64 range.
		if math.Abs(sev) < 1e15 {
			d.Event.Severity = ecs.Int(int64(math.Trunc(sev)))
		}
	}
	d.Message = gd.Description

	if typ != "" {
		b.rule.Name = typ
		b.rule.Category, b.rule.Ruleset = ruleParts(typ)
		d.Rule = &b.rule
	}

	resource(b, o.Obj("resource"))
	service(b, o.Obj("service"))

	b.cloud = ecs.Cloud{
		Provider: "aws",
		Region:   gd.Region,
		Account:  ecs.CloudAccount{ID: gd.AccountID},
		Service:  ecs.CloudService{Name: gd.Service.ServiceName},
	}
	d.Cloud = &b.cloud
	if b.rel.IP != nil || b.rel.User != nil {
		d.Related = &b.rel
	}
	return d, nil
}

func resource(b *block, r fields.Obj) {
	res := &b.gd.Resource
	res.Type = r.Str("resourceType")
	inst := r.Obj("instanceDetails")
	res.InstanceDetails.Instance.ID = inst.Str("instanceId")
	ak := r.Obj("accessKeyDetails")
	res.AccessKeyDetails = ecs.AccessKeyDetails{
		AccessKeyID: ak.Str("accessKeyId"),
		PrincipalID: ak.Str("principalId"),
		User:        ecs.AccessKeyUser{Name: ak.Str("userName"), Type: ak.Str("userType")},
	}
	b.user = ecs.User{ID: res.AccessKeyDetails.PrincipalID, Name: res.AccessKeyDetails.User.Name}
	if b.user != (ecs.User{}) {
		b.doc.User = &b.user
		users := fields.AppendUnique(b.users[:0], b.user.ID)
		b.rel.User = fields.AppendUnique(users, b.user.Name)
	}
}

func service(b *block, s fields.Obj) {
	svc := &b.gd.Service
	svc.ServiceName = s.Str("serviceName")
	svc.DetectorID = s.Str("detectorId")
	svc.FeatureName = s.Str("featureName")
	svc.ResourceRole = s.Str("resourceRole")
	if v, ok := s.Int("count"); ok {
		svc.Count = ecs.Int(v)
	}
	if v, ok := s.Bool("archived"); ok {
		svc.Archived = ecs.Bool(v)
	}
	svc.Event.FirstSeen = s.OptTime("eventFirstSeen")
	svc.Event.LastSeen = s.OptTime("eventLastSeen")

	action := s.Obj("action")
	svc.Action.Type = action.Str("actionType")
	b.doc.Event.Action = svc.Action.Type

	api := action.Obj("awsApiCallAction")
	svc.Action.AWSAPICallAction.API = api.Str("api")
	b.doc.Event.Provider = api.Str("serviceName")

	for _, k := range [...]string{"awsApiCallAction", "kubernetesApiCallAction", "rdsLoginAttemptAction"} {
		a := action.Obj(k)
		if remote := a.Obj("remoteIpDetails"); remote.Len() > 0 {
			b.source(remote, 0)
			return
		}
	}
	domainDetails := api.Obj("domainDetails")
	if domain := domainDetails.Str("domain"); domain != "" {
		// The caller was an AWS service (callerType "Domain"): like CloudTrail's
		// "cloudformation.amazonaws.com", an address that is not an IP.
		b.src = ecs.Endpoint{Address: domain, Domain: domain}
		b.doc.Source = &b.src
		fields.AddIssue(&b.doc, ecs.IssueSourceNotIP)
		return
	}
	if nc := action.Obj("networkConnectionAction"); nc.Len() > 0 {
		remote, local := nc.Obj("remoteIpDetails"), nc.Obj("localIpDetails")
		remotePort, localPort := port(nc.Obj("remotePortDetails")), port(nc.Obj("localPortDetails"))
		// As in Elastic's pipeline, the remote end is the source of an inbound connection and
		// the destination of an outbound one (an instance calling out to a C&C server).
		if strings.EqualFold(nc.Str("connectionDirection"), "OUTBOUND") {
			b.source(local, localPort)
			b.destination(remote, remotePort)
		} else {
			b.source(remote, remotePort)
			b.destination(local, localPort)
		}
		return
	}
	portProbe := action.Obj("portProbeAction")
	probes := portProbe.Slice("portProbeDetails")
	for i := range probes.Len() {
		p := probes.Elem(i)
		if p.Kind() != body.Map {
			continue
		}
		probe := fields.O(p)
		remote := probe.Obj("remoteIpDetails")
		if b.doc.Source == nil {
			b.source(remote, 0)
			b.destination(probe.Obj("localIpDetails"), port(probe.Obj("localPortDetails")))
			if probes.Len() > i+1 {
				fields.AddIssue(&b.doc, IssuePortProbeFirst)
			}
			continue
		}
		if ip, st := fields.IP(ipString(&remote)); st == fields.IPOK {
			b.rel.IP = fields.AppendUnique(b.rel.IP, ip)
		}
	}
}

// source fills source.* from a GuardDuty ipDetails object; issues about the address are the
// source's to report.
func (b *block) source(details fields.Obj, port int) {
	if st, ok := fill(&b.src, &b.srcAS, &b.srcGeo, &b.srcPoint, details, port); ok {
		b.doc.Source = &b.src
		switch st {
		case fields.IPOK:
			b.rel.IP = fields.AppendUnique(b.ips[:0], b.src.IP)
		case fields.IPNotIP:
			fields.AddIssue(&b.doc, ecs.IssueSourceNotIP)
		case fields.IPInvalid:
			fields.AddIssue(&b.doc, ecs.IssueSourceIPInvalid)
		}
	}
}

func (b *block) destination(details fields.Obj, port int) {
	if st, ok := fill(&b.dst, &b.dstAS, &b.dstGeo, &b.dstPoint, details, port); ok {
		b.doc.Destination = &b.dst
		if st == fields.IPOK {
			if b.rel.IP == nil {
				b.rel.IP = b.ips[:0]
			}
			b.rel.IP = fields.AppendUnique(b.rel.IP, b.dst.IP)
		}
	}
}

// fill maps an ipDetails object (ipAddressV4 or ipAddressV6, organization, country, city,
// geoLocation) onto ep; ok is false when there is nothing to map.
func fill(ep *ecs.Endpoint, as *ecs.AS, geo *ecs.Geo, point *ecs.GeoPoint, d fields.Obj, port int) (fields.IPStatus, bool) {
	addr := ipString(&d)
	if addr == "" {
		return 0, false
	}
	ep.Address = addr
	ep.Port = port
	ip, st := fields.IP(addr)
	ep.IP = ip

	org := d.Obj("organization")
	if n, ok := org.Int("asn"); ok && n >= 0 {
		as.Number = n
	}
	as.Organization.Name = org.Str("asnOrg")
	if *as != (ecs.AS{}) {
		ep.AS = as
	}

	country := d.Obj("country")
	geo.CountryName = country.Str("countryName")
	geo.CountryISOCode = country.Str("countryCode")
	city := d.Obj("city")
	geo.CityName = city.Str("cityName")
	loc := d.Obj("geoLocation")
	lat, latOK := loc.Float("lat")
	lon, lonOK := loc.Float("lon")
	if latOK && lonOK && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
		*point = ecs.GeoPoint{Lat: lat, Lon: lon}
		geo.Location = point
	}
	if *geo != (ecs.Geo{}) {
		ep.Geo = geo
	}
	return st, true
}

func ipString(d *fields.Obj) string {
	if s := d.Str("ipAddressV4"); s != "" {
		return s
	}
	return d.Str("ipAddressV6")
}

func port(d fields.Obj) int {
	if p, ok := d.Int("port"); ok && p > 0 && p <= 65535 {
		return int(p)
	}
	return 0
}

// ruleParts splits a finding type like Elastic's grok `%{WORD:rule.category}:%{WORD}`:
// "Discovery:IAMUser/AnomalousBehavior" has category "Discovery" and ruleset
// "Discovery:IAMUser".
func ruleParts(typ string) (category, ruleset string) {
	category, rest, ok := strings.Cut(typ, ":")
	if !ok || category == "" || !isWord(category) {
		return "", ""
	}
	n := 0
	for n < len(rest) && isWordByte(rest[n]) {
		n++
	}
	if n == 0 {
		return category, ""
	}
	return category, typ[:len(category)+1+n]
}

func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return false
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// band names GuardDuty's severity band of a severity value.
func band(sev float64) string {
	switch {
	case sev >= 9:
		return "Critical"
	case sev >= 7:
		return "High"
	case sev >= 4:
		return "Medium"
	default:
		return "Low"
	}
}
