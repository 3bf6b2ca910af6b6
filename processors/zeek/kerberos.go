// Package zeek reads Zeek logs: it maps kerberos.log rows to ECS documents the way Elastic's
// Zeek integration does (packages/zeek/data_stream/kerberos), and reads Zeek's tab-separated
// log format into the same row maps the JSON writer produces.
package zeek

import (
	"cmp"
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

// Dataset and Module are the event.dataset and event.module of Kerberos documents.
const (
	Dataset = "zeek.kerberos"
	Module  = "zeek"
)

// KerberosOnlyFields are the kerberos.log fields no other Zeek log has (conn.log has service
// too, naming the application protocol): a row or header with one of them is Kerberos.
var KerberosOnlyFields = []string{"request_type", "client", "cipher", "till", "forwardable", "renewable", "error_msg"}

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

// Parser maps kerberos.log rows. Its documents are valid until Reset; it is not safe for
// concurrent use.
type Parser struct {
	blocks slab.Slab[block]
	// The responder is nearly always the domain controller, and a client sends its requests in
	// runs: each side's last address is kept parsed.
	src, dst fields.IPCache
}

// Reset makes the memory of every document parsed so far available again.
func (p *Parser) Reset() { p.blocks.Reset() }

// The row members Parse reads, collected in one pass (see fields.Members). The connection
// fields come dotted (Zeek's JSON writer), underscored (shippers that cannot store dots in
// keys) or nested under "id".
const (
	mTS = iota
	mUID
	mOrigH
	mOrigHUnderscored
	mOrigP
	mOrigPUnderscored
	mRespH
	mRespHUnderscored
	mRespP
	mRespPUnderscored
	mID
	mRequestType
	mClient
	mService
	mCipher
	mErrorMsg
	mErrorCode
	mSuccess
	mForwardable
	mRenewable
	mFrom
	mTill
	mClientCertSubject
	mClientCertFUID
	mServerCertSubject
	mServerCertFUID
	mAuthTicket
	mAuthTicketSHA256
	mNewTicket
	mNewTicketSHA256
	mProto
	numMembers
)

var members = fields.NewMembers(memberNames[:]...)

var memberNames = [numMembers]string{
	mTS: "ts", mUID: "uid", mOrigH: "id.orig_h", mOrigHUnderscored: "id_orig_h", mOrigP: "id.orig_p",
	mOrigPUnderscored: "id_orig_p", mRespH: "id.resp_h", mRespHUnderscored: "id_resp_h", mRespP: "id.resp_p",
	mRespPUnderscored: "id_resp_p", mID: "id", mRequestType: "request_type", mClient: "client", mService: "service",
	mCipher: "cipher", mErrorMsg: "error_msg", mErrorCode: "error_code", mSuccess: "success",
	mForwardable: "forwardable", mRenewable: "renewable", mFrom: "from", mTill: "till",
	mClientCertSubject: "client_cert_subject", mClientCertFUID: "client_cert_fuid",
	mServerCertSubject: "server_cert_subject", mServerCertFUID: "server_cert_fuid", mAuthTicket: "auth_ticket",
	mAuthTicketSHA256: "auth_ticket_sha256", mNewTicket: "new_ticket", mNewTicketSHA256: "new_ticket_sha256",
	mProto: "proto",
}

// Parse maps a kerberos.log row and returns it with the row's natural key: its connection
// uid and ts as written. A ts that is missing or unparseable (Zeek's test baselines mask it as
// XXXXXXXXXX.XXXXXX) gives the fallback time and an issue. The document's strings are those
// of row's tree.
func (p *Parser) Parse(row body.Value, fallback time.Time) (*ecs.Document, digest.Key, error) {
	var v [numMembers]body.Value
	members.Collect(row, v[:])
	str := func(i int) string {
		s, _ := fields.String(v[i])
		return s
	}
	id := fields.O(v[mID])
	conn := func(dotted, underscored int, name string) body.Value {
		switch {
		case v[dotted].Exists():
			return v[dotted]
		case v[underscored].Exists():
			return v[underscored]
		}
		x, _ := id.Get(name)
		return x
	}
	uid, uidOK := fields.String(v[mUID])
	origH, _ := fields.String(conn(mOrigH, mOrigHUnderscored, "orig_h"))
	if !uidOK && origH == "" {
		return nil, digest.Key{}, ErrNotKerberos
	}
	b := p.blocks.New()
	d := &b.doc
	d.ECS.Version = ecs.Version

	var issue string
	d.Timestamp, issue = fields.EventTime(v[mTS], fallback)
	fields.AddIssue(d, issue)

	k := &b.krb
	k.RequestType = str(mRequestType)
	k.Client = str(mClient)
	k.Service = str(mService)
	k.Cipher = str(mCipher)
	k.Error.Msg = str(mErrorMsg)
	if c, ok := fields.Int(v[mErrorCode]); ok {
		k.Error.Code = ecs.Int(c)
	}
	k.Success = fields.OptBool(v[mSuccess])
	k.Forwardable = fields.OptBool(v[mForwardable])
	k.Renewable = fields.OptBool(v[mRenewable])
	k.Valid.From = fields.OptTime(v[mFrom])
	k.Valid.Until = fields.OptTime(v[mTill])
	if k.Valid.From.Set && k.Valid.Until.Set {
		k.Valid.Days = ecs.Int(int64(math.Round(k.Valid.Until.V.Sub(k.Valid.From.V).Hours() / 24)))
	}
	k.Cert.Client = ecs.ZeekKerberosCert{Subject: str(mClientCertSubject), FUID: str(mClientCertFUID)}
	k.Cert.Server = ecs.ZeekKerberosCert{Subject: str(mServerCertSubject), FUID: str(mServerCertFUID)}
	k.Ticket.Auth = cmp.Or(str(mAuthTicket), str(mAuthTicketSHA256))
	k.Ticket.New = cmp.Or(str(mNewTicket), str(mNewTicketSHA256))
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
	if p := str(mProto); p != "" {
		b.network.Transport = strings.ToLower(p)
	}
	d.Network = &b.network

	endpoint(b, &b.src, origH, conn(mOrigP, mOrigPUnderscored, "orig_p"), &p.src, true)
	respH, _ := fields.String(conn(mRespH, mRespHUnderscored, "resp_h"))
	endpoint(b, &b.dst, respH, conn(mRespP, mRespPUnderscored, "resp_p"), &p.dst, false)

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
	return d, digest.Key{uid, str(mTS)}, nil
}

// endpoint fills source (isSource) or destination from a host and port field, parsing the
// host through ips.
func endpoint(b *block, ep *ecs.Endpoint, host string, port body.Value, ips *fields.IPCache, isSource bool) {
	if host == "" {
		return
	}
	ep.Address = host
	if p, ok := fields.Int(port); ok && p > 0 && p <= 65535 {
		ep.Port = int(p)
	}
	ip, st := ips.IP(host)
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
