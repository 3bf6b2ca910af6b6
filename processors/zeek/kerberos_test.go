package zeek

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/digest"
	"github.com/siemscore/siemscore/processors/ecs"
)

var fallback = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func parse(t *testing.T, js string) *ecs.Document {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return parseMap(t, m)
}

func parseMap(t *testing.T, m map[string]any) *ecs.Document {
	t.Helper()
	d, _, err := new(Parser).Parse(body.Of(m), fallback)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.MarshalJSON()
	if err != nil || !json.Valid(b) {
		t.Fatalf("encode: %v %s", err, b)
	}
	return d
}

func TestKerberosRow(t *testing.T) {
	d := parse(t, `{"ts":1588205199.832602,"uid":"CAbcDef12345678gh","id.orig_h":"10.0.1.6","id.orig_p":56880,"id.resp_h":"10.0.0.4","id.resp_p":88,
	"request_type":"TGS","client":"alice/EXAMPLE.LOCAL","service":"cifs/fs1","success":true,"error_code":0,"from":1588200000,"till":1588236000.5,
	"cipher":"aes256-cts-hmac-sha1-96","forwardable":true,"renewable":false,"client_cert_subject":"CN=x","client_cert_fuid":"F1","auth_ticket_sha256":"aa","new_ticket":"bb"}`)
	if !d.Timestamp.Equal(time.Date(2020, 4, 30, 0, 6, 39, 832602000, time.UTC)) {
		t.Errorf("@timestamp = %v", d.Timestamp)
	}
	want := ecs.Event{Kind: "event", Category: []string{"network", "authentication"}, Type: []string{"connection", "protocol", "access"},
		Action: "TGS", Outcome: "success", ID: "CAbcDef12345678gh", Dataset: "zeek.kerberos", Module: "zeek", Created: ecs.Time(fallback)}
	if !reflect.DeepEqual(d.Event, want) {
		t.Errorf("event = %+v\nwant    %+v", d.Event, want)
	}
	if d.Source.IP != netip.MustParseAddr("10.0.1.6") || d.Source.Port != 56880 || d.Source.Address != "10.0.1.6" {
		t.Errorf("source = %+v", d.Source)
	}
	if d.Destination.IP != netip.MustParseAddr("10.0.0.4") || d.Destination.Port != 88 {
		t.Errorf("destination = %+v", d.Destination)
	}
	if *d.User != (ecs.User{Name: "alice", Domain: "EXAMPLE.LOCAL"}) {
		t.Errorf("user = %+v", d.User)
	}
	if *d.Network != (ecs.Network{Transport: "tcp", Protocol: "kerberos"}) {
		t.Errorf("network = %+v", d.Network)
	}
	if !reflect.DeepEqual(d.Related.IP, []netip.Addr{netip.MustParseAddr("10.0.1.6"), netip.MustParseAddr("10.0.0.4")}) || !reflect.DeepEqual(d.Related.User, []string{"alice"}) {
		t.Errorf("related = %+v", d.Related)
	}
	k := d.Zeek.Kerberos
	if d.Zeek.SessionID != "CAbcDef12345678gh" || k.RequestType != "TGS" || k.Client != "alice/EXAMPLE.LOCAL" || k.Service != "cifs/fs1" || k.Cipher != "aes256-cts-hmac-sha1-96" {
		t.Errorf("zeek = %+v kerberos = %+v", d.Zeek, k)
	}
	if k.Success != ecs.Bool(true) || k.Forwardable != ecs.Bool(true) || k.Renewable != ecs.Bool(false) || k.Error.Code != ecs.Int(0) {
		t.Errorf("flags = %+v", k)
	}
	if k.Valid.Days != ecs.Int(0) || !k.Valid.From.Set || !k.Valid.Until.V.Equal(time.Date(2020, 4, 30, 8, 40, 0, 5e8, time.UTC)) {
		t.Errorf("valid = %+v", k.Valid)
	}
	if k.Cert.Client != (ecs.ZeekKerberosCert{Subject: "CN=x", FUID: "F1"}) || k.Ticket != (ecs.ZeekKerberosTicket{Auth: "aa", New: "bb"}) {
		t.Errorf("cert %+v ticket %+v", k.Cert, k.Ticket)
	}
}

func TestConnectionFieldSpellings(t *testing.T) {
	for name, js := range map[string]string{
		"dotted":      `{"uid":"C1","id.orig_h":"192.0.2.1","id.orig_p":1,"id.resp_h":"2001:db8::1","id.resp_p":88}`,
		"underscored": `{"uid":"C1","id_orig_h":"192.0.2.1","id_orig_p":1,"id_resp_h":"2001:db8::1","id_resp_p":88}`,
		"nested":      `{"uid":"C1","id":{"orig_h":"192.0.2.1","orig_p":1,"resp_h":"2001:db8::1","resp_p":88}}`,
		"strings":     `{"uid":"C1","id.orig_h":"192.0.2.1","id.orig_p":"1","id.resp_h":"2001:db8::1","id.resp_p":"88"}`,
	} {
		d := parse(t, js)
		if d.Source.IP != netip.MustParseAddr("192.0.2.1") || d.Source.Port != 1 || d.Destination.IP != netip.MustParseAddr("2001:db8::1") || d.Destination.Port != 88 {
			t.Errorf("%s: source %+v destination %+v", name, d.Source, d.Destination)
		}
	}
}

func TestSuccessForms(t *testing.T) {
	for _, tc := range []struct {
		v       any
		outcome string
	}{
		{true, "success"}, {false, "failure"}, {"T", "success"}, {"F", "failure"},
		{"true", "success"}, {"false", "failure"}, {"-", ""}, {nil, ""},
	} {
		row := map[string]any{"uid": "C", "id.orig_h": "10.0.0.1"}
		if tc.v != nil {
			row["success"] = tc.v
		}
		d := parseMap(t, row)
		if d.Event.Outcome != tc.outcome {
			t.Errorf("success %#v: outcome %q, want %q", tc.v, d.Event.Outcome, tc.outcome)
		}
	}
}

func TestClientPrincipal(t *testing.T) {
	for _, tc := range []struct {
		client string
		user   *ecs.User
	}{
		{"HOST1$/EXAMPLE.LOCAL", &ecs.User{Name: "HOST1$", Domain: "EXAMPLE.LOCAL"}},
		{"/EXAMPLE.LOCAL", &ecs.User{Domain: "EXAMPLE.LOCAL"}},
		{"host/server/REALM", &ecs.User{Name: "host", Domain: "server/REALM"}},
		{"nobody", nil},
		{"", nil},
	} {
		d := parseMap(t, map[string]any{"uid": "C", "client": tc.client})
		if !reflect.DeepEqual(d.User, tc.user) {
			t.Errorf("client %q: user = %+v, want %+v", tc.client, d.User, tc.user)
		}
		if tc.user != nil && tc.user.Name == "" && d.Related != nil {
			t.Errorf("client %q: an empty name must not reach related.user", tc.client)
		}
	}
}

func TestTimestampsAndProto(t *testing.T) {
	d := parse(t, `{"uid":"C","ts":"2020-04-30T00:06:39.832602Z","proto":"UDP"}`)
	if d.Timestamp.Nanosecond() != 832602000 || d.Network.Transport != "udp" {
		t.Errorf("ISO ts %v transport %q", d.Timestamp, d.Network.Transport)
	}
	d = parse(t, `{"uid":"C","ts":"XXXXXXXXXX.XXXXXX"}`)
	if !d.Timestamp.Equal(fallback) || !slices.Contains(d.SiemScore.Issues, ecs.IssueTimestampInvalid) {
		t.Errorf("masked ts: %v %v", d.Timestamp, d.SiemScore.Issues)
	}
	d = parse(t, `{"uid":"C"}`)
	if !slices.Contains(d.SiemScore.Issues, ecs.IssueTimestampMissing) || d.Zeek.Kerberos != nil {
		t.Errorf("no ts: %v, kerberos %+v", d.SiemScore.Issues, d.Zeek.Kerberos)
	}
	d = parse(t, `{"uid":"C","id.orig_h":"not-an-ip","id.orig_p":70000,"from":1,"till":864001}`)
	if d.Source.IP.IsValid() || d.Source.Port != 0 || !slices.Contains(d.SiemScore.Issues, ecs.IssueSourceNotIP) {
		t.Errorf("bad source: %+v %v", d.Source, d.SiemScore.Issues)
	}
	if d.Zeek.Kerberos.Valid.Days != ecs.Int(10) {
		t.Errorf("valid.days = %+v", d.Zeek.Kerberos.Valid.Days)
	}
}

func TestNotKerberos(t *testing.T) {
	if _, _, err := new(Parser).Parse(body.Of(map[string]any{"uid": map[string]any{}, "id.orig_h": []any{}}), fallback); err != ErrNotKerberos {
		t.Errorf("err = %v, want ErrNotKerberos", err)
	}
	d := parseMap(t, map[string]any{"id_orig_h": "10.0.0.1", "success": map[string]any{}, "till": "soon"})
	if d.Event.Outcome != "" || d.Event.ID != "" || d.Zeek.Kerberos != nil {
		t.Errorf("wrong types must be ignored: %+v", d)
	}
}

func TestKey(t *testing.T) {
	for _, row := range []map[string]any{
		{"uid": "C", "ts": 1588205199.832602, "id.orig_h": "10.0.0.1"},
		{"uid": "C", "ts": "1588205199.832602"},
	} {
		if _, k, err := new(Parser).Parse(body.Of(row), fallback); err != nil || k != (digest.Key{"C", "1588205199.832602"}) {
			t.Errorf("key of %v = %v (%v)", row, k, err)
		}
	}
	if _, k, err := new(Parser).Parse(body.Of(map[string]any{"id.orig_h": "10.0.0.1"}), fallback); err != nil || k != (digest.Key{}) {
		t.Errorf("key of a row without uid and ts = %v (%v)", k, err)
	}
}
