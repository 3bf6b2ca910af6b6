package ecs

import (
	"math"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/siemscore/siemscore/processors/jsonw"
)

// CollisionKey is the object under which passthrough keys that collide with a typed top-level
// field are kept, so user data is neither lost nor allowed to overwrite ECS fields.
const CollisionKey = "fluentbit"

// typedKeys are the JSON names of Document's top-level fields, computed once from the struct
// tags so the collision check cannot drift from the type.
var typedKeys = func() map[string]bool {
	keys := map[string]bool{CollisionKey: true}
	t := reflect.TypeFor[Document]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
}()

// TypedKey reports whether a passthrough key would collide with a typed top-level field (or
// with CollisionKey itself).
func TypedKey(k string) bool { return typedKeys[k] }

// MarshalJSON implements json.Marshaler with AppendDocument.
func (d *Document) MarshalJSON() ([]byte, error) {
	return AppendDocument(nil, d), nil
}

// AppendDocument appends d's JSON: the typed fields in the order of the struct, each written
// exactly as encoding/json writes it for its tags (omitempty and omitzero included), then the
// members of the passthrough object. It reflects on nothing and boxes nothing; a test holds it
// to encoding/json's output for random documents, so a field added to the structs without a
// line here fails that test.
func AppendDocument(b []byte, d *Document) []byte {
	b = append(b, `{"@timestamp":`...)
	b = jsonw.Time(b, d.Timestamp)
	b = append(b, `,"ecs":{"version":`...)
	b = jsonw.String(b, d.ECS.Version)
	b = append(b, '}')
	if d.DataStream != (DataStream{}) {
		b = append(b, `,"data_stream":{`...)
		m := len(b)
		b = str(b, m, `"type":`, d.DataStream.Type)
		b = str(b, m, `"dataset":`, d.DataStream.Dataset)
		b = str(b, m, `"namespace":`, d.DataStream.Namespace)
		b = append(b, '}')
	}
	if !d.Event.isZero() {
		b = append(b, `,"event":`...)
		b = appendEvent(b, &d.Event)
	}
	b = str(b, 0, `"message":`, d.Message)
	b = strings_(b, 0, `"tags":`, d.Tags)
	if d.Error != nil {
		b = append(b, `,"error":{`...)
		m := len(b)
		b = str(b, m, `"type":`, d.Error.Type)
		b = jsonw.String(key(b, m, `"message":`), d.Error.Message)
		b = append(b, '}')
	}
	var ips renderedIPs
	if d.Source != nil {
		b = appendEndpoint(append(b, `,"source":`...), d.Source, &ips)
	}
	if d.Destination != nil {
		b = appendEndpoint(append(b, `,"destination":`...), d.Destination, &ips)
	}
	if u := d.User; u != nil {
		b = append(b, `,"user":{`...)
		m := len(b)
		b = str(b, m, `"name":`, u.Name)
		b = str(b, m, `"id":`, u.ID)
		b = str(b, m, `"domain":`, u.Domain)
		if u.Target != (UserRef{}) {
			b = append(key(b, m, `"target":`), '{')
			tm := len(b)
			b = str(b, tm, `"name":`, u.Target.Name)
			b = str(b, tm, `"id":`, u.Target.ID)
			b = append(b, '}')
		}
		if u.Changes != (UserChanges{}) {
			b = append(key(b, m, `"changes":{`), `"name":`...)
			b = append(jsonw.String(b, u.Changes.Name), '}')
		}
		b = append(b, '}')
	}
	if g := d.Group; g != nil {
		b = append(b, `,"group":{`...)
		m := len(b)
		b = str(b, m, `"name":`, g.Name)
		b = str(b, m, `"id":`, g.ID)
		b = append(b, '}')
	}
	if ua := d.UserAgent; ua != nil {
		b = append(b, `,"user_agent":{`...)
		m := len(b)
		b = str(b, m, `"original":`, ua.Original)
		b = str(b, m, `"name":`, ua.Name)
		b = str(b, m, `"version":`, ua.Version)
		if ua.OS != (UserAgentOS{}) {
			b = append(key(b, m, `"os":`), '{')
			om := len(b)
			b = str(b, om, `"name":`, ua.OS.Name)
			b = str(b, om, `"version":`, ua.OS.Version)
			b = str(b, om, `"full":`, ua.OS.Full)
			b = append(b, '}')
		}
		if ua.Device != (UserAgentDevice{}) {
			b = append(key(b, m, `"device":{`), `"name":`...)
			b = append(jsonw.String(b, ua.Device.Name), '}')
		}
		b = append(b, '}')
	}
	if c := d.Cloud; c != nil {
		b = append(b, `,"cloud":{`...)
		m := len(b)
		b = str(b, m, `"provider":`, c.Provider)
		b = str(b, m, `"region":`, c.Region)
		if c.Account != (CloudAccount{}) {
			b = append(key(b, m, `"account":{`), `"id":`...)
			b = append(jsonw.String(b, c.Account.ID), '}')
		}
		if c.Service != (CloudService{}) {
			b = append(key(b, m, `"service":{`), `"name":`...)
			b = append(jsonw.String(b, c.Service.Name), '}')
		}
		b = append(b, '}')
	}
	if r := d.Rule; r != nil {
		b = append(b, `,"rule":{`...)
		m := len(b)
		b = str(b, m, `"name":`, r.Name)
		b = str(b, m, `"category":`, r.Category)
		b = str(b, m, `"ruleset":`, r.Ruleset)
		b = append(b, '}')
	}
	if n := d.Network; n != nil {
		b = append(b, `,"network":{`...)
		m := len(b)
		b = str(b, m, `"transport":`, n.Transport)
		b = str(b, m, `"protocol":`, n.Protocol)
		b = append(b, '}')
	}
	if t := d.TLS; t != nil {
		b = append(b, `,"tls":{`...)
		m := len(b)
		b = str(b, m, `"version":`, t.Version)
		b = str(b, m, `"version_protocol":`, t.VersionProtocol)
		b = str(b, m, `"cipher":`, t.Cipher)
		if t.Client != (TLSClient{}) {
			b = append(key(b, m, `"client":{`), `"server_name":`...)
			b = append(jsonw.String(b, t.Client.ServerName), '}')
		}
		b = append(b, '}')
	}
	if r := d.Related; r != nil {
		b = append(b, `,"related":{`...)
		m := len(b)
		if len(r.IP) > 0 {
			b = append(key(b, m, `"ip":`), '[')
			for i, ip := range r.IP {
				if i > 0 {
					b = append(b, ',')
				}
				b = ips.append(b, ip)
			}
			b = append(b, ']')
		}
		b = strings_(b, m, `"user":`, r.User)
		b = append(b, '}')
	}
	if a := d.AWS; a != nil {
		b = append(b, `,"aws":{`...)
		m := len(b)
		if a.CloudTrail != nil {
			b = appendCloudTrail(key(b, m, `"cloudtrail":`), a.CloudTrail)
		}
		if a.GuardDuty != nil {
			b = appendGuardDuty(key(b, m, `"guardduty":`), a.GuardDuty)
		}
		b = append(b, '}')
	}
	if z := d.Zeek; z != nil {
		b = append(b, `,"zeek":{`...)
		m := len(b)
		b = str(b, m, `"session_id":`, z.SessionID)
		if z.Kerberos != nil {
			b = appendKerberos(key(b, m, `"kerberos":`), z.Kerberos)
		}
		b = append(b, '}')
	}
	b = append(b, `,"siemscore":`...)
	b = appendSiemScore(b, &d.SiemScore)
	if p := string(d.Passthrough); len(p) > 2 {
		b = append(b, ',')
		b = append(b, p[1:len(p)-1]...) // the members, without the object's braces
	}
	return append(b, '}')
}

// key appends k (a quoted name and its colon), after a comma unless nothing was written since
// the object's opening brace, which is at mark-1. mark 0 means "always a comma": a member of
// the document after its first.
func key(b []byte, mark int, k string) []byte {
	if len(b) > mark {
		b = append(b, ',')
	}
	return append(b, k...)
}

// str writes a string member unless it is empty (omitempty).
func str(b []byte, mark int, k, v string) []byte {
	if v == "" {
		return b
	}
	return jsonw.String(key(b, mark, k), v)
}

// strings_ writes a []string member unless it is empty (omitempty).
func strings_(b []byte, mark int, k string, v []string) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(key(b, mark, k), '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.String(b, s)
	}
	return append(b, ']')
}

func optFloat(b []byte, mark int, k string, o OptFloat) []byte {
	if !o.Set {
		return b
	}
	b = key(b, mark, k)
	if math.IsNaN(o.V) || math.IsInf(o.V, 0) {
		return append(b, "null"...)
	}
	return jsonw.FloatG(b, o.V)
}

func optInt(b []byte, mark int, k string, o OptInt) []byte {
	if !o.Set {
		return b
	}
	return strconv.AppendInt(key(b, mark, k), o.V, 10)
}

func optBool(b []byte, mark int, k string, o OptBool) []byte {
	if !o.Set {
		return b
	}
	return strconv.AppendBool(key(b, mark, k), o.V)
}

func optTime(b []byte, mark int, k string, o OptTime) []byte {
	if !o.Set {
		return b
	}
	return jsonw.Time(key(b, mark, k), o.V.UTC())
}

func raw(b []byte, mark int, k string, r RawJSON) []byte {
	if r == "" {
		return b
	}
	return append(key(b, mark, k), r...)
}

// appendAddr writes an address as its MarshalText does, quoted: empty for the zero Addr. The
// text needs no escaping: the processors drop IPv6 zones, the only part that could need it.
func appendAddr(b []byte, ip netip.Addr) []byte {
	return append(ip.AppendTo(append(b, '"')), '"')
}

// renderedIPs remembers where a document's source.ip and destination.ip were written, so that
// related.ip, which repeats them, copies their text instead of rendering it again.
type renderedIPs struct {
	n    int
	addr [2]netip.Addr
	at   [2][2]int // the quoted text's start and end in the document
}

// append writes ip as appendAddr does, copying an earlier rendering of the same address.
func (r *renderedIPs) append(b []byte, ip netip.Addr) []byte {
	for i := range r.n {
		if r.addr[i] == ip {
			return append(b, b[r.at[i][0]:r.at[i][1]]...)
		}
	}
	start := len(b)
	b = appendAddr(b, ip)
	if r.n < len(r.addr) {
		r.addr[r.n], r.at[r.n] = ip, [2]int{start, len(b)}
		r.n++
	}
	return b
}

// float writes a plain float64 field as encoding/json does.
func float(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...) // encoding/json fails on these; the scorers never produce them
	}
	return jsonw.Float(b, f)
}

func appendEvent(b []byte, e *Event) []byte {
	b = append(b, '{')
	m := len(b)
	b = str(b, m, `"kind":`, e.Kind)
	b = strings_(b, m, `"category":`, e.Category)
	b = strings_(b, m, `"type":`, e.Type)
	b = str(b, m, `"action":`, e.Action)
	b = str(b, m, `"provider":`, e.Provider)
	b = str(b, m, `"outcome":`, e.Outcome)
	b = str(b, m, `"id":`, e.ID)
	b = str(b, m, `"dataset":`, e.Dataset)
	b = str(b, m, `"module":`, e.Module)
	b = optTime(b, m, `"created":`, e.Created)
	b = optTime(b, m, `"ingested":`, e.Ingested)
	b = optInt(b, m, `"severity":`, e.Severity)
	b = optFloat(b, m, `"risk_score":`, e.RiskScore)
	b = optFloat(b, m, `"risk_score_norm":`, e.RiskScoreNorm)
	b = str(b, m, `"original":`, e.Original)
	return append(b, '}')
}

func appendEndpoint(b []byte, ep *Endpoint, ips *renderedIPs) []byte {
	b = append(b, '{')
	m := len(b)
	b = str(b, m, `"address":`, ep.Address)
	if ep.IP != (netip.Addr{}) {
		b = ips.append(key(b, m, `"ip":`), ep.IP)
	}
	if ep.Port != 0 {
		b = strconv.AppendInt(key(b, m, `"port":`), int64(ep.Port), 10)
	}
	b = str(b, m, `"domain":`, ep.Domain)
	if as := ep.AS; as != nil {
		b = append(key(b, m, `"as":`), '{')
		am := len(b)
		if as.Number != 0 {
			b = strconv.AppendInt(key(b, am, `"number":`), as.Number, 10)
		}
		if as.Organization != (ASOrg{}) {
			b = append(key(b, am, `"organization":{`), `"name":`...)
			b = append(jsonw.String(b, as.Organization.Name), '}')
		}
		b = append(b, '}')
	}
	if g := ep.Geo; g != nil {
		b = append(key(b, m, `"geo":`), '{')
		gm := len(b)
		b = str(b, gm, `"continent_name":`, g.ContinentName)
		b = str(b, gm, `"country_name":`, g.CountryName)
		b = str(b, gm, `"country_iso_code":`, g.CountryISOCode)
		b = str(b, gm, `"region_name":`, g.RegionName)
		b = str(b, gm, `"region_iso_code":`, g.RegionISOCode)
		b = str(b, gm, `"city_name":`, g.CityName)
		if g.Location != nil {
			b = append(key(b, gm, `"location":`), `{"lat":`...)
			b = float(b, g.Location.Lat)
			b = append(b, `,"lon":`...)
			b = float(b, g.Location.Lon)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendCloudTrail(b []byte, ct *CloudTrail) []byte {
	b = append(b, '{')
	m := len(b)
	if ui := &ct.UserIdentity; !ui.isZero() {
		b = append(key(b, m, `"user_identity":`), '{')
		um := len(b)
		b = str(b, um, `"type":`, ui.Type)
		b = str(b, um, `"arn":`, ui.ARN)
		b = str(b, um, `"access_key_id":`, ui.AccessKeyID)
		b = str(b, um, `"invoked_by":`, ui.InvokedBy)
		if sc := &ui.SessionContext; *sc != (SessionContext{}) {
			b = append(key(b, um, `"session_context":`), '{')
			sm := len(b)
			b = str(b, sm, `"mfa_authenticated":`, sc.MFAAuthenticated)
			b = optTime(b, sm, `"creation_date":`, sc.CreationDate)
			if is := sc.SessionIssuer; is != (SessionIssuer{}) {
				b = append(key(b, sm, `"session_issuer":`), '{')
				im := len(b)
				b = str(b, im, `"type":`, is.Type)
				b = str(b, im, `"principal_id":`, is.PrincipalID)
				b = str(b, im, `"arn":`, is.ARN)
				b = str(b, im, `"account_id":`, is.AccountID)
				b = append(b, '}')
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = str(b, m, `"error_code":`, ct.ErrorCode)
	b = str(b, m, `"error_message":`, ct.ErrorMessage)
	b = str(b, m, `"request_id":`, ct.RequestID)
	b = str(b, m, `"event_type":`, ct.EventType)
	b = str(b, m, `"event_version":`, ct.EventVersion)
	b = str(b, m, `"event_category":`, ct.EventCategory)
	b = str(b, m, `"management_event":`, ct.ManagementEvent)
	b = optBool(b, m, `"read_only":`, ct.ReadOnly)
	b = str(b, m, `"recipient_account_id":`, ct.RecipientAccountID)
	b = str(b, m, `"shared_event_id":`, ct.SharedEventID)
	b = str(b, m, `"vpc_endpoint_id":`, ct.VPCEndpointID)
	b = str(b, m, `"api_version":`, ct.APIVersion)
	b = str(b, m, `"request_parameters":`, ct.RequestParameters)
	b = str(b, m, `"response_elements":`, ct.ResponseElements)
	b = str(b, m, `"additional_eventdata":`, ct.AdditionalEventData)
	b = str(b, m, `"service_event_details":`, ct.ServiceEventDetails)
	if f := ct.Flattened; f != (CloudTrailFlat{}) {
		b = append(key(b, m, `"flattened":`), '{')
		fm := len(b)
		b = raw(b, fm, `"request_parameters":`, f.RequestParameters)
		b = raw(b, fm, `"response_elements":`, f.ResponseElements)
		b = raw(b, fm, `"additional_eventdata":`, f.AdditionalEventData)
		b = raw(b, fm, `"service_event_details":`, f.ServiceEventDetails)
		b = raw(b, fm, `"insight_details":`, f.InsightDetails)
		b = append(b, '}')
	}
	if len(ct.Resources) > 0 {
		b = append(key(b, m, `"resources":`), '[')
		for i, r := range ct.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			rm := len(b)
			b = str(b, rm, `"arn":`, r.ARN)
			b = str(b, rm, `"type":`, r.Type)
			b = str(b, rm, `"account_id":`, r.AccountID)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (ui *UserIdentity) isZero() bool {
	return ui.Type == "" && ui.ARN == "" && ui.AccessKeyID == "" && ui.InvokedBy == "" && ui.SessionContext == (SessionContext{})
}

func appendGuardDuty(b []byte, g *GuardDuty) []byte {
	b = append(b, '{')
	m := len(b)
	b = str(b, m, `"id":`, g.ID)
	b = str(b, m, `"arn":`, g.ARN)
	b = str(b, m, `"type":`, g.Type)
	b = str(b, m, `"title":`, g.Title)
	b = str(b, m, `"description":`, g.Description)
	b = str(b, m, `"account_id":`, g.AccountID)
	b = str(b, m, `"region":`, g.Region)
	b = str(b, m, `"partition":`, g.Partition)
	b = str(b, m, `"schema_version":`, g.SchemaVersion)
	b = optTime(b, m, `"created_at":`, g.CreatedAt)
	b = optTime(b, m, `"updated_at":`, g.UpdatedAt)
	b = optFloat(b, m, `"confidence":`, g.Confidence)
	if s := g.Severity; s != (GuardDutySeverity{}) {
		b = append(key(b, m, `"severity":`), '{')
		sm := len(b)
		b = optFloat(b, sm, `"code":`, s.Code)
		b = str(b, sm, `"value":`, s.Value)
		b = append(b, '}')
	}
	if r := &g.Resource; *r != (GuardDutyResource{}) {
		b = append(key(b, m, `"resource":`), '{')
		rm := len(b)
		b = str(b, rm, `"type":`, r.Type)
		if ak := r.AccessKeyDetails; ak != (AccessKeyDetails{}) {
			b = append(key(b, rm, `"access_key_details":`), '{')
			am := len(b)
			b = str(b, am, `"accesskey_id":`, ak.AccessKeyID)
			b = str(b, am, `"principal_id":`, ak.PrincipalID)
			if u := ak.User; u != (AccessKeyUser{}) {
				b = append(key(b, am, `"user":`), '{')
				um := len(b)
				b = str(b, um, `"name":`, u.Name)
				b = str(b, um, `"type":`, u.Type)
				b = append(b, '}')
			}
			b = append(b, '}')
		}
		if r.InstanceDetails != (InstanceDetails{}) {
			b = append(key(b, rm, `"instance_details":{"instance":{`), `"id":`...)
			b = append(jsonw.String(b, r.InstanceDetails.Instance.ID), "}}"...)
		}
		b = append(b, '}')
	}
	if s := &g.Service; *s != (GuardDutyService{}) {
		b = append(key(b, m, `"service":`), '{')
		sm := len(b)
		if a := s.Action; a != (GuardDutyAction{}) {
			b = append(key(b, sm, `"action":`), '{')
			am := len(b)
			b = str(b, am, `"type":`, a.Type)
			if a.AWSAPICallAction != (AWSAPICallAction{}) {
				b = append(key(b, am, `"aws_api_call_action":{`), `"api":`...)
				b = append(jsonw.String(b, a.AWSAPICallAction.API), '}')
			}
			b = append(b, '}')
		}
		b = str(b, sm, `"service_name":`, s.ServiceName)
		b = optInt(b, sm, `"count":`, s.Count)
		if e := s.Event; e != (GuardDutyEvent{}) {
			b = append(key(b, sm, `"event":`), '{')
			em := len(b)
			b = optTime(b, em, `"first_seen":`, e.FirstSeen)
			b = optTime(b, em, `"last_seen":`, e.LastSeen)
			b = append(b, '}')
		}
		b = optBool(b, sm, `"archived":`, s.Archived)
		b = str(b, sm, `"detector_id":`, s.DetectorID)
		b = str(b, sm, `"feature_name":`, s.FeatureName)
		b = str(b, sm, `"resource_role":`, s.ResourceRole)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendKerberos(b []byte, k *ZeekKerberos) []byte {
	b = append(b, '{')
	m := len(b)
	b = str(b, m, `"request_type":`, k.RequestType)
	b = str(b, m, `"client":`, k.Client)
	b = str(b, m, `"service":`, k.Service)
	b = optBool(b, m, `"success":`, k.Success)
	if e := k.Error; e != (ZeekKerberosError{}) {
		b = append(key(b, m, `"error":`), '{')
		em := len(b)
		b = optInt(b, em, `"code":`, e.Code)
		b = str(b, em, `"msg":`, e.Msg)
		b = append(b, '}')
	}
	b = str(b, m, `"cipher":`, k.Cipher)
	b = optBool(b, m, `"forwardable":`, k.Forwardable)
	b = optBool(b, m, `"renewable":`, k.Renewable)
	if v := k.Valid; v != (ZeekKerberosValid{}) {
		b = append(key(b, m, `"valid":`), '{')
		vm := len(b)
		b = optTime(b, vm, `"from":`, v.From)
		b = optTime(b, vm, `"until":`, v.Until)
		b = optInt(b, vm, `"days":`, v.Days)
		b = append(b, '}')
	}
	if c := k.Cert; c != (ZeekKerberosCerts{}) {
		b = append(key(b, m, `"cert":`), '{')
		cm := len(b)
		b = appendCert(b, cm, `"client":`, c.Client)
		b = appendCert(b, cm, `"server":`, c.Server)
		b = append(b, '}')
	}
	if t := k.Ticket; t != (ZeekKerberosTicket{}) {
		b = append(key(b, m, `"ticket":`), '{')
		tm := len(b)
		b = str(b, tm, `"auth":`, t.Auth)
		b = str(b, tm, `"new":`, t.New)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendCert(b []byte, mark int, k string, c ZeekKerberosCert) []byte {
	if c == (ZeekKerberosCert{}) {
		return b
	}
	b = append(key(b, mark, k), '{')
	m := len(b)
	b = str(b, m, `"subject":`, c.Subject)
	b = str(b, m, `"fuid":`, c.FUID)
	return append(b, '}')
}

func appendSiemScore(b []byte, s *SiemScore) []byte {
	b = append(b, `{"model":`...)
	b = appendModel(b, &s.Model)
	if ip := &s.IP; !ip.isZero() {
		b = append(b, `,"ip":{`...)
		m := len(b)
		b = str(b, m, `"status":`, ip.Status)
		b = str(b, m, `"entity":`, ip.Entity)
		b = optFloat(b, m, `"score":`, ip.Score)
		b = optFloat(b, m, `"score_norm":`, ip.ScoreNorm)
		b = str(b, m, `"severity":`, ip.Severity)
		b = strings_(b, m, `"reasons":`, ip.Reasons)
		b = append(b, '}')
	}
	if g := &s.GuardDuty; !g.isZero() {
		b = append(b, `,"guardduty":{`...)
		m := len(b)
		b = str(b, m, `"status":`, g.Status)
		b = optFloat(b, m, `"severity_norm":`, g.SeverityNorm)
		b = optFloat(b, m, `"score_norm":`, g.ScoreNorm)
		b = str(b, m, `"severity":`, g.Severity)
		b = strings_(b, m, `"reasons":`, g.Reasons)
		b = append(b, '}')
	}
	if k := &s.Kerberos; !k.isZero() {
		b = append(b, `,"kerberos":{`...)
		m := len(b)
		b = str(b, m, `"status":`, k.Status)
		b = optInt(b, m, `"cluster":`, k.Cluster)
		b = optFloat(b, m, `"cluster_size_fraction":`, k.ClusterSizeFraction)
		b = optFloat(b, m, `"distance":`, k.Distance)
		b = optFloat(b, m, `"score_norm":`, k.ScoreNorm)
		b = str(b, m, `"severity":`, k.Severity)
		b = strings_(b, m, `"reasons":`, k.Reasons)
		if f := &k.Features; *f != (KerberosFeatures{}) {
			b = append(key(b, m, `"features":`), `{"requests":`...)
			b = float(b, f.Requests)
			b = float(append(b, `,"distinct_servers":`...), f.DistinctServers)
			b = float(append(b, `,"top_server_share":`...), f.TopServerShare)
			b = float(append(b, `,"top_server_load":`...), f.TopServerLoad)
			b = float(append(b, `,"failures":`...), f.Failures)
			b = float(append(b, `,"failure_ratio":`...), f.FailureRatio)
			b = float(append(b, `,"distinct_clients":`...), f.DistinctClients)
			b = float(append(b, `,"distinct_services":`...), f.DistinctServices)
			b = float(append(b, `,"preauth_failures":`...), f.PreauthFailures)
			b = float(append(b, `,"principal_unknown":`...), f.PrincipalUnknown)
			b = float(append(b, `,"tgs_share":`...), f.TGSShare)
			b = float(append(b, `,"weak_cipher_services":`...), f.WeakCipherServices)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if a := &s.API; !a.isZero() {
		b = append(b, `,"api":{`...)
		m := len(b)
		b = str(b, m, `"status":`, a.Status)
		b = optBool(b, m, `"automated":`, a.Automated)
		b = optFloat(b, m, `"periodicity":`, a.Periodicity)
		b = optInt(b, m, `"best_lag":`, a.BestLag)
		b = optInt(b, m, `"day_count":`, a.DayCount)
		b = optFloat(b, m, `"expected":`, a.Expected)
		b = optFloat(b, m, `"volume_z":`, a.VolumeZ)
		b = optFloat(b, m, `"score_norm":`, a.ScoreNorm)
		b = str(b, m, `"severity":`, a.Severity)
		b = strings_(b, m, `"reasons":`, a.Reasons)
		b = append(b, '}')
	}
	b = strings_(b, 0, `"issues":`, s.Issues)
	return append(b, '}')
}

// renderedModel is a siemscore.model object and its JSON.
type renderedModel struct {
	info ModelInfo
	json []byte
}

// recentModels are the siemscore.model objects appendModel wrote last with a version, newest
// first: every record one bundle scores carries the same one, so it is written once per bundle,
// not once per record. Several are kept so that instances with bundles of their own (or the
// two sides of a swap) do not evict each other's on every record.
var recentModels atomic.Pointer[[]renderedModel]

// maxRecentModels bounds recentModels; older ones are simply written again.
const maxRecentModels = 4

func appendModel(b []byte, m *ModelInfo) []byte {
	var recent []renderedModel
	if p := recentModels.Load(); p != nil {
		recent = *p
	}
	for i := range recent {
		if recent[i].info == *m {
			return append(b, recent[i].json...)
		}
	}
	start := len(b)
	b = append(b, '{')
	mm := len(b)
	b = str(b, mm, `"version":`, m.Version)
	b = jsonw.String(key(b, mm, `"status":`), m.Status)
	b = optTime(b, mm, `"trained_at":`, m.TrainedAt)
	b = append(b, '}')
	if m.Version != "" { // the unversioned ones (no bundle, no model for the kind) are short
		next := make([]renderedModel, 0, maxRecentModels)
		next = append(next, renderedModel{info: *m, json: slices.Clone(b[start:])})
		next = append(next, recent[:min(len(recent), maxRecentModels-1)]...)
		recentModels.Store(&next)
	}
	return b
}

// The isZero methods say what `omitzero` says of a struct without an IsZero method: every
// field is its type's zero value (a nil slice, not an empty one).

func (e *Event) isZero() bool {
	return e.Kind == "" && e.Category == nil && e.Type == nil && e.Action == "" && e.Provider == "" && e.Outcome == "" &&
		e.ID == "" && e.Dataset == "" && e.Module == "" && e.Created == (OptTime{}) && e.Ingested == (OptTime{}) && e.Severity == (OptInt{}) &&
		e.RiskScore == (OptFloat{}) && e.RiskScoreNorm == (OptFloat{}) && e.Original == ""
}

func (s *IPScore) isZero() bool {
	return s.Status == "" && s.Entity == "" && s.Score == (OptFloat{}) && s.ScoreNorm == (OptFloat{}) && s.Severity == "" && s.Reasons == nil
}

func (s *GuardDutyScore) isZero() bool {
	return s.Status == "" && s.SeverityNorm == (OptFloat{}) && s.ScoreNorm == (OptFloat{}) && s.Severity == "" && s.Reasons == nil
}

func (s *KerberosScore) isZero() bool {
	return s.Status == "" && s.Cluster == (OptInt{}) && s.ClusterSizeFraction == (OptFloat{}) && s.Distance == (OptFloat{}) &&
		s.ScoreNorm == (OptFloat{}) && s.Severity == "" && s.Reasons == nil && s.Features == (KerberosFeatures{})
}

func (s *APIScore) isZero() bool {
	return s.Status == "" && s.Automated == (OptBool{}) && s.Periodicity == (OptFloat{}) && s.BestLag == (OptInt{}) &&
		s.DayCount == (OptInt{}) && s.Expected == (OptFloat{}) && s.VolumeZ == (OptFloat{}) && s.ScoreNorm == (OptFloat{}) &&
		s.Severity == "" && s.Reasons == nil
}
