// Package zeek reads Zeek logs: it maps kerberos.log rows to ECS documents the way Elastic's
// Zeek integration does (packages/zeek/data_stream/kerberos), and reads Zeek's tab-separated
// log format into the same row maps the JSON writer produces.
package zeek

import (
	"errors"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/siemscore/siemscore/processors/digest"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/fields"
)

// Dataset and Module are the event.dataset and event.module of Kerberos documents.
const (
	Dataset = "zeek.kerberos"
	Module  = "zeek"
)

// ErrNotKerberos is returned for a row with neither uid nor id.orig_h.
var ErrNotKerberos = errors.New("zeek: kerberos row has neither uid nor id.orig_h")

// Shared by every document: never write to their elements.
var (
	categoryNetworkAuth = []string{"network", "authentication"}
	typeConnection      = []string{"connection", "protocol", "access"}
)

type block struct {
	doc      ecs.Document
	src, dst ecs.Endpoint
	user     ecs.User
	network  ecs.Network
	rel      ecs.Related
	zeek     ecs.Zeek
	krb      ecs.ZeekKerberos
	ips      [2]netip.Addr
	users    [1]string
}

// Key is the natural key of a row: its connection uid and ts as written.
func Key(row map[string]any) digest.Key {
	o := fields.O(row)
	return digest.Key{o.Str("uid"), o.Str("ts")}
}

// Parse maps a kerberos.log row. Zeek's JSON writer names the connection fields id.orig_h;
// shippers that cannot store dots in keys write id_orig_h, and some nest them under "id"; all
// three are read. A ts that is missing or unparseable (Zeek's test baselines mask it as
// XXXXXXXXXX.XXXXXX) gives the fallback time and an issue.
func Parse(row map[string]any, fallback time.Time) (*ecs.Document, error) {
	o := fields.O(row)
	id := o.Obj("id")
	uid, uidOK := o.StrOK("uid")
	origH, _ := fields.String(connField(&o, &id, "id.orig_h", "id_orig_h", "orig_h"))
	if !uidOK && origH == "" {
		return nil, ErrNotKerberos
	}
	b := new(block)
	d := &b.doc
	d.ECS.Version = ecs.Version

	ts, _ := o.Get("ts")
	var issue string
	d.Timestamp, issue = fields.EventTime(ts, fallback)
	fields.AddIssue(d, issue)

	k := &b.krb
	k.RequestType = o.Str("request_type")
	k.Client = o.Str("client")
	k.Service = o.Str("service")
	k.Cipher = o.Str("cipher")
	k.Error.Msg = o.Str("error_msg")
	if v, ok := o.Int("error_code"); ok {
		k.Error.Code = ecs.Int(v)
	}
	k.Success = o.OptBool("success")
	k.Forwardable = o.OptBool("forwardable")
	k.Renewable = o.OptBool("renewable")
	k.Valid.From = o.OptTime("from")
	k.Valid.Until = o.OptTime("till")
	if k.Valid.From.Set && k.Valid.Until.Set {
		k.Valid.Days = ecs.Int(int64(math.Round(k.Valid.Until.V.Sub(k.Valid.From.V).Hours() / 24)))
	}
	k.Cert.Client = ecs.ZeekKerberosCert{Subject: o.Str("client_cert_subject"), FUID: o.Str("client_cert_fuid")}
	k.Cert.Server = ecs.ZeekKerberosCert{Subject: o.Str("server_cert_subject"), FUID: o.Str("server_cert_fuid")}
	k.Ticket.Auth = firstOf(&o, "auth_ticket", "auth_ticket_sha256")
	k.Ticket.New = firstOf(&o, "new_ticket", "new_ticket_sha256")
	b.zeek.SessionID = uid
	if *k != (ecs.ZeekKerberos{}) {
		b.zeek.Kerberos = k
	}
	d.Zeek = &b.zeek

	d.Event = ecs.Event{
		Kind:     "event",
		Category: categoryNetworkAuth,
		Type:     typeConnection,
		Action:   k.RequestType,
		ID:       uid,
		Dataset:  Dataset,
		Module:   Module,
	}
	if !fallback.IsZero() {
		d.Event.Created = ecs.Time(fields.Encodable(fallback))
	}
	if k.Success.Set {
		d.Event.Outcome = "failure"
		if k.Success.V {
			d.Event.Outcome = "success"
		}
	}

	// kerberos.log does not say whether the exchange ran over UDP or TCP. Elastic's pipeline
	// writes tcp regardless; a proto field, when a shipper merged one in from conn.log, wins.
	b.network = ecs.Network{Transport: "tcp", Protocol: "kerberos"}
	if p := o.Str("proto"); p != "" {
		b.network.Transport = strings.ToLower(p)
	}
	d.Network = &b.network

	endpoint(b, &b.src, origH, connField(&o, &id, "id.orig_p", "id_orig_p", "orig_p"), true)
	respH, _ := fields.String(connField(&o, &id, "id.resp_h", "id_resp_h", "resp_h"))
	endpoint(b, &b.dst, respH, connField(&o, &id, "id.resp_p", "id_resp_p", "resp_p"), false)

	// Elastic dissects "%{user.name}/%{user.domain}" only when the client has a slash.
	if name, domain, ok := strings.Cut(k.Client, "/"); ok {
		b.user = ecs.User{Name: name, Domain: domain}
		if b.user != (ecs.User{}) {
			d.User = &b.user
		}
		if name != "" {
			b.rel.User = append(b.users[:0], name)
		}
	}
	if b.rel.IP != nil || b.rel.User != nil {
		d.Related = &b.rel
	}
	return d, nil
}

// endpoint fills source (isSource) or destination from a host and port field.
func endpoint(b *block, ep *ecs.Endpoint, host string, port any, isSource bool) {
	if host == "" {
		return
	}
	ep.Address = host
	if p, ok := fields.Int(port); ok && p > 0 && p <= 65535 {
		ep.Port = int(p)
	}
	ip, st := fields.IP(host)
	switch {
	case st == fields.IPOK:
		ep.IP = ip
		if b.rel.IP == nil {
			b.rel.IP = b.ips[:0]
		}
		b.rel.IP = fields.AppendUnique(b.rel.IP, ip)
	case isSource && st == fields.IPNotIP:
		fields.AddIssue(&b.doc, ecs.IssueSourceNotIP)
	case isSource && st == fields.IPInvalid:
		fields.AddIssue(&b.doc, ecs.IssueSourceIPInvalid)
	}
	if isSource {
		b.doc.Source = ep
	} else {
		b.doc.Destination = ep
	}
}

// connField reads a connection field written dotted, underscored or nested under "id".
func connField(o, id *fields.Obj, dotted, underscored, nested string) any {
	if v, ok := o.Get(dotted); ok {
		return v
	}
	if v, ok := o.Get(underscored); ok {
		return v
	}
	v, _ := id.Get(nested)
	return v
}

func firstOf(o *fields.Obj, keys ...string) string {
	for _, k := range keys {
		if s := o.Str(k); s != "" {
			return s
		}
	}
	return ""
}
